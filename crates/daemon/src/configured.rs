//! What a directory's config says for a launch: the manifest resolved for
//! the session's working directory (kept beside the session as
//! `manifest.json`, unchanged by later edits of the config), the agent
//! profile the launch names, and the contexts its first prompt carries.

use std::path::Path;

use viewport_config::{Manifest, Section};
use viewport_protocol::options::{ConfigOverrides, ContextItem};
use viewport_protocol::state::DirectoryInfo;
use viewport_protocol::{ErrorCode, FrameError};

use crate::launch;

/// A launch with the config applied.
pub struct Configured {
    pub model: Option<String>,
    /// The launch's own settings on top of its profile's; no profile name
    /// left, so a resume starts the same agent whatever the config says then.
    pub overrides: ConfigOverrides,
    pub manifest: Manifest,
    /// What the first prompt carries.
    pub context: Vec<ContextItem>,
    /// Contexts that could not be read, in words.
    pub problems: Vec<String>,
}

const MANIFEST_FILE: &str = "manifest.json";

fn invalid(message: String) -> FrameError {
    FrameError::new(ErrorCode::InvalidFrame, message)
}

/// Resolve the config for a launch in `directory` and apply it.
pub fn configure(
    data_home: &Path,
    directory: &DirectoryInfo,
    model: Option<String>,
    mut overrides: ConfigOverrides,
) -> Result<Configured, FrameError> {
    let root = Path::new(&directory.path);
    let cwd = launch::session_cwd(root, overrides.cwd.as_deref())?;
    let manifest = viewport_config::manifest(data_home, Some(root), &cwd).map_err(|errors| {
        invalid(format!(
            "the config for {} has problems (`vpd config validate` shows them):\n{errors}",
            cwd.display()
        ))
    })?;
    let mut model = model;
    if let Some(name) = overrides.profile.take() {
        let profile = profile(&manifest, &name, &cwd)?;
        model = model.or_else(|| profile.model.clone());
        overrides = overrides.over(profile.overrides());
    }
    let (context, problems) = viewport_config::contexts::applicable_items(&manifest);
    Ok(Configured {
        model,
        overrides,
        manifest,
        context,
        problems,
    })
}

fn profile<'m>(
    manifest: &'m Manifest,
    name: &str,
    cwd: &Path,
) -> Result<&'m viewport_config::model::AgentProfile, FrameError> {
    if let Some(conflict) = manifest.conflict(Section::AgentProfiles, name) {
        return Err(invalid(format!("cannot use profile `{name}`: {conflict}")));
    }
    match manifest.agent_profiles.get(name) {
        Some(defined) => Ok(&defined.definition),
        None => {
            let known: Vec<&str> = manifest.agent_profiles.keys().map(String::as_str).collect();
            let known = if known.is_empty() {
                "none is defined".to_owned()
            } else {
                format!("defined: {}", known.join(", "))
            };
            Err(invalid(format!(
                "no agent profile `{name}` in the config for {} ({known}); `--agent` names an agent directly",
                cwd.display()
            )))
        }
    }
}

/// Keep the manifest a session started with (owner only: profiles may
/// carry keys in `env`).
pub fn save(session_dir: &Path, manifest: &Manifest) -> std::io::Result<()> {
    crate::home::write_private_json(session_dir, MANIFEST_FILE, manifest)
}

/// The manifest a session started with, if one was kept.
pub fn load(session_dir: &Path) -> Result<Option<serde_json::Value>, String> {
    crate::home::read_json(session_dir, MANIFEST_FILE)
}
