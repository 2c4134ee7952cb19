//! Turning a launch request (profile, directory, session options) into what
//! the driver needs: the program, its environment and working directory,
//! and how the conversation starts. The options are kept beside the
//! session (`sessions/<id>/launch.json`, readable by the owner only, since
//! `env` may hold keys) so that `resume` starts the agent the same way.
//! They are not events: the event log is what search and export read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use viewport_agents::acp::config::ConfigRequest;
use viewport_agents::acp::{Instructions, SessionSetup};
use viewport_agents::profile::{DEFAULT_PROFILE, ProgramSearch};
use viewport_agents::spawn::SpawnSpec;
use viewport_agents::{AgentError, AgentProfile};
use viewport_protocol::options::{ConfigOverrides, PermissionPolicy, TimeoutOutcome};
use viewport_protocol::state::DirectoryInfo;
use viewport_protocol::{ErrorCode, FrameError};

use crate::redact::Redactor;

/// What a launch (or a resume) starts.
pub struct LaunchPlan {
    pub profile: AgentProfile,
    pub spec: SpawnSpec,
    pub setup: SessionSetup,
    pub rules: SessionRules,
}

/// How the session task treats the agent: who answers permission requests,
/// and what it may spend.
#[derive(Debug, Clone, Default)]
pub struct SessionRules {
    pub policy: PermissionPolicy,
    pub timeout: Option<(Duration, TimeoutOutcome)>,
    pub cost_cap_usd: Option<f64>,
    /// The model, when the launch named one (prices tokens without a cost).
    pub model: Option<String>,
    /// Said with a failure, when the launch lacks something the agent needs.
    pub failure_hint: Option<String>,
    /// What is masked before an update is stored.
    pub redactor: Redactor,
}

/// The launch options of a session as stored for `resume`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredLaunch {
    pub model: Option<String>,
    pub overrides: ConfigOverrides,
}

const LAUNCH_FILE: &str = "launch.json";

pub fn plan(
    search: &ProgramSearch,
    directory: &DirectoryInfo,
    model: Option<String>,
    overrides: &ConfigOverrides,
) -> Result<LaunchPlan, FrameError> {
    let name = overrides.agent.as_deref().unwrap_or(DEFAULT_PROFILE);
    let profile = AgentProfile::builtin(name).map_err(unavailable)?;
    let resolved = profile
        .resolve(search, &overrides.command)
        .map_err(unavailable)?;
    let cwd = session_cwd(Path::new(&directory.path), overrides.cwd.as_deref())?;
    let mut spec = SpawnSpec::new(resolved, cwd);
    spec.env = profile.passthrough(std::env::vars());
    check_env(&overrides.env)?;
    spec.env
        .extend(overrides.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    let setup = SessionSetup {
        mcp_servers: overrides.mcp_servers.clone(),
        instructions: overrides
            .additional_instructions
            .clone()
            .filter(|text| !text.trim().is_empty())
            .map(|text| Instructions {
                text,
                via: profile.instructions,
                replace: overrides.skip_os_instructions,
            }),
        resume: None,
        config: ConfigRequest {
            mode: overrides.mode.clone(),
            model: model.clone(),
            thought_level: overrides.thought_level.clone(),
        },
        client_fs: profile.client_fs,
    };
    let rules = SessionRules {
        policy: overrides
            .permission_policy
            .unwrap_or(profile.permission_policy),
        timeout: overrides.permission_timeout_secs.map(|secs| {
            (
                Duration::from_secs(secs),
                overrides.permission_timeout_outcome.unwrap_or_default(),
            )
        }),
        cost_cap_usd: overrides.cost_cap_usd,
        model,
        failure_hint: root_hint(&profile, &spec.env),
        redactor: Redactor::new(secret_values(&spec.env, overrides), true),
    };
    check_rules(&rules)?;
    Ok(LaunchPlan {
        profile,
        spec,
        setup,
        rules,
    })
}

/// What to say if the agent fails, for a daemon running as root without a
/// variable the agent needs then.
/// The values to mask: those of the agent's environment (passed through,
/// or set by the launch or its config profile) that are named like a
/// secret, and those the launch set that look like one. `NODE_ENV=production`
/// or `GREETING=hello there` are left alone, so the transcript stays readable.
fn secret_values(env: &[(String, String)], overrides: &ConfigOverrides) -> Vec<String> {
    const SECRET_WORDS: &[&str] = &["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "AUTH"];
    let named_secret = |name: &str| {
        let name = name.to_ascii_uppercase();
        SECRET_WORDS.iter().any(|word| name.contains(word))
    };
    let looks_secret = |value: &str| {
        value.len() >= 12
            && !value.contains(char::is_whitespace)
            && value.contains(|c: char| c.is_ascii_alphabetic())
            && value.contains(|c: char| c.is_ascii_digit())
    };
    let set = overrides
        .env
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    let passed = env
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    set.filter(|(name, value)| named_secret(name) || looks_secret(value))
        .chain(passed.filter(|(name, _)| named_secret(name)))
        .map(|(_, value)| value.to_owned())
        .collect()
}

fn root_hint(profile: &AgentProfile, env: &[(String, String)]) -> Option<String> {
    let (variable, hint) = profile.root_needs?;
    let running_as_root = nix::unistd::geteuid().is_root();
    let set = env.iter().any(|(name, _)| name == variable) || std::env::var_os(variable).is_some();
    (running_as_root && !set).then(|| hint.to_owned())
}

fn unavailable(error: AgentError) -> FrameError {
    FrameError::new(ErrorCode::AgentUnavailable, error.to_string())
}

fn invalid(message: String) -> FrameError {
    FrameError::new(ErrorCode::InvalidFrame, message)
}

/// The agent's working directory: `cwd` inside the registered directory.
pub(crate) fn session_cwd(directory: &Path, cwd: Option<&str>) -> Result<PathBuf, FrameError> {
    let Some(cwd) = cwd else {
        return Ok(directory.to_owned());
    };
    let joined = directory.join(cwd);
    let canonical = std::fs::canonicalize(&joined)
        .map_err(|e| invalid(format!("configOverrides.cwd `{cwd}`: {e}")))?;
    if !canonical.starts_with(directory) || !canonical.is_dir() {
        return Err(invalid(format!(
            "configOverrides.cwd `{cwd}` must be a directory inside {}",
            directory.display()
        )));
    }
    Ok(canonical)
}

fn check_env(env: &std::collections::BTreeMap<String, String>) -> Result<(), FrameError> {
    for (name, value) in env {
        let valid = !name.is_empty()
            && !name.contains('=')
            && !name.contains('\0')
            && !value.contains('\0');
        if !valid {
            return Err(invalid(format!(
                "configOverrides.env: `{name}` is not a valid variable name (or its value holds a NUL)"
            )));
        }
    }
    Ok(())
}

fn check_rules(rules: &SessionRules) -> Result<(), FrameError> {
    if let Some(cap) = rules.cost_cap_usd
        && !(cap.is_finite() && cap > 0.0)
    {
        return Err(invalid(format!(
            "configOverrides.costCapUsd must be a positive number of dollars, not {cap}"
        )));
    }
    if rules.timeout.is_some_and(|(t, _)| t.is_zero()) {
        return Err(invalid(
            "configOverrides.permissionTimeoutSecs must be at least 1".to_owned(),
        ));
    }
    Ok(())
}

/// Keep the launch options beside the session, for `resume`.
pub fn save(session_dir: &Path, launch: &StoredLaunch) -> std::io::Result<()> {
    crate::home::write_private_json(session_dir, LAUNCH_FILE, launch)
}

/// The launch options stored for a session, if any.
pub fn load(session_dir: &Path) -> Result<Option<StoredLaunch>, String> {
    crate::home::read_json(session_dir, LAUNCH_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_told_by_name_or_by_look() {
        let overrides = ConfigOverrides {
            env: [
                ("GREETING", "hello there"),
                ("NODE_ENV", "production"),
                ("DB_PASSWORD", "hunter2hunter2"),
                ("UPSTREAM", "x9Kq2LmN8vR4tW7z"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            ..ConfigOverrides::default()
        };
        let passed = vec![
            ("PATH".to_owned(), "/usr/local/bin:/usr/bin:/bin".to_owned()),
            ("ANTHROPIC_API_KEY".to_owned(), "sk-ant-example".to_owned()),
        ];
        let mut masked = secret_values(&passed, &overrides);
        masked.sort();
        assert_eq!(
            masked,
            ["hunter2hunter2", "sk-ant-example", "x9Kq2LmN8vR4tW7z"]
        );
    }

    #[test]
    fn cwd_must_stay_inside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        assert_eq!(session_cwd(&root, Some("sub")).unwrap(), root.join("sub"));
        assert_eq!(session_cwd(&root, None).unwrap(), root);
        assert!(session_cwd(&root, Some("..")).is_err());
        assert!(session_cwd(&root, Some("missing")).is_err());
    }

    #[test]
    fn launch_options_round_trip_privately() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut overrides = ConfigOverrides::default();
        overrides.env.insert("KEY".into(), "secret".into());
        let launch = StoredLaunch {
            model: Some("m".into()),
            overrides,
        };
        save(dir.path(), &launch).unwrap();
        let mode = std::fs::metadata(dir.path().join(LAUNCH_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let loaded = load(dir.path()).unwrap().unwrap();
        assert_eq!(loaded.overrides.env["KEY"], "secret");
        assert!(load(&dir.path().join("none")).unwrap().is_none());
    }

    #[test]
    fn bad_options_are_refused_with_the_field_named() {
        let rules = SessionRules {
            cost_cap_usd: Some(-1.0),
            ..SessionRules::default()
        };
        assert!(
            check_rules(&rules)
                .unwrap_err()
                .message
                .contains("costCapUsd")
        );
        let mut env = std::collections::BTreeMap::new();
        env.insert("A=B".into(), "x".into());
        assert!(check_env(&env).unwrap_err().message.contains("A=B"));
    }
}
