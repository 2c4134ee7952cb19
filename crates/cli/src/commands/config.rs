//! `vpd config schema|validate|resolve` and `vpd session manifest`: the
//! config files, checked and resolved here, without the daemon (except to
//! learn which registered directory a path is in).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use viewport_config::resolve::{Defined, Manifest, ResolvedContext};
use viewport_config::{FILE_NAME, model};

use crate::cli::ConfigCommand;
use crate::commands::resolve_session;
use crate::connect::connect;

pub async fn run(command: ConfigCommand) -> Result<ExitCode> {
    match command {
        ConfigCommand::Schema => {
            print!("{}", model::config_schema_json());
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Validate { path, json } => validate(path, json),
        ConfigCommand::Resolve { dir, json } => resolve(&dir, json).await,
    }
}

/// The file `vpd config validate PATH` checks.
fn file_to_check(path: Option<PathBuf>) -> PathBuf {
    let path = path.unwrap_or_else(|| PathBuf::from("."));
    if path.is_dir() {
        path.join(".viewport").join(FILE_NAME)
    } else {
        path
    }
}

fn validate(path: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let file = file_to_check(path);
    if !file.exists() {
        anyhow::bail!("{} does not exist", file.display());
    }
    let problems = viewport_config::check::check_file(&file)
        .err()
        .unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string_pretty(&problems)?);
    } else if problems.is_empty() {
        println!("{}: ok", file.display());
    } else {
        for problem in &problems {
            println!("{problem}");
        }
        let count = problems.len();
        eprintln!(
            "vpd: {count} problem{} in {}",
            if count == 1 { "" } else { "s" },
            file.display()
        );
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn resolve(dir: &Path, json: bool) -> Result<ExitCode> {
    let dir =
        std::fs::canonicalize(dir).with_context(|| format!("cannot use {}", dir.display()))?;
    let home = viewport_daemon::DataHome::from_env()?;
    let root = registered_root(&dir).await?;
    let manifest = match viewport_config::manifest(home.root(), root.as_deref(), &dir) {
        Ok(manifest) => manifest,
        Err(errors) => {
            for problem in &errors.0 {
                eprintln!("{problem}");
            }
            anyhow::bail!("the config for {} has problems", dir.display());
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        print_manifest(&manifest);
    }
    Ok(ExitCode::SUCCESS)
}

/// The innermost registered directory holding `dir`, if any.
async fn registered_root(dir: &Path) -> Result<Option<PathBuf>> {
    let mut client = connect().await?;
    let directories = client.list_directories().await?;
    Ok(directories
        .into_iter()
        .map(|d| PathBuf::from(d.path))
        .filter(|path| dir.starts_with(path))
        .max_by_key(|path| path.as_os_str().len()))
}

fn place(source: &viewport_config::resolve::Source) -> String {
    format!("{}:{}", source.file.display(), source.line)
}

fn section<T>(
    title: &str,
    entries: &std::collections::BTreeMap<String, Defined<T>>,
    describe: impl Fn(&T) -> String,
) {
    if entries.is_empty() {
        return;
    }
    println!("\n{title}");
    for (name, defined) in entries {
        println!(
            "  {name:<16} {:<40} {}",
            describe(&defined.definition),
            place(&defined.source)
        );
    }
}

fn context_summary(context: &ResolvedContext) -> String {
    let definition = &context.definition;
    let source = match (&definition.file, &definition.glob, &definition.text) {
        (Some(file), _, _) => format!("file {file}"),
        (_, Some(glob), _) => format!("glob {glob}"),
        _ => "text".to_owned(),
    };
    let applies = if context.applies {
        "applies"
    } else {
        "not here"
    };
    format!("{source} ({applies})")
}

fn print_manifest(manifest: &Manifest) {
    println!("config for {}", manifest.directory.display());
    if manifest.files.is_empty() {
        println!(
            "  no config file (looked for ~/.viewport/{FILE_NAME} and .viewport/{FILE_NAME} from the registered directory down)"
        );
    }
    for (i, file) in manifest.files.iter().enumerate() {
        println!("  {}. {}", i + 1, file.display());
    }
    if !manifest.contexts.is_empty() {
        println!("\ncontexts");
        for (name, context) in &manifest.contexts {
            println!(
                "  {name:<16} {:<40} {}",
                context_summary(context),
                place(&context.source)
            );
        }
    }
    section("agent profiles", &manifest.agent_profiles, |p| {
        match &p.model {
            Some(model) => format!("{} {model}", p.agent),
            None => p.agent.clone(),
        }
    });
    section("workflows", &manifest.workflows, |w| {
        let parallel = w.steps.iter().filter(|s| s.parallel).count();
        format!("{} steps ({parallel} parallel)", w.steps.len())
    });
    section("plans", &manifest.plans, |p| {
        format!("{} steps", p.steps.len())
    });
    section("templates", &manifest.templates, |t| t.command.clone());
    if let Some(max) = manifest.jobs_max_parallel {
        println!("\njobs: at most {max} at once");
    }
    if !manifest.conflicts.is_empty() {
        println!("\nconflicts (nothing is chosen; a launch that needs one fails)");
        for conflict in &manifest.conflicts {
            println!("  {conflict}");
        }
    }
}

pub async fn session_manifest(session: &str) -> Result<ExitCode> {
    let mut client = connect().await?;
    let session_id = resolve_session(&mut client, session).await?;
    match client.session_manifest(&session_id).await? {
        Some(manifest) => {
            println!("{}", serde_json::to_string_pretty(&manifest)?);
            Ok(ExitCode::SUCCESS)
        }
        None => anyhow::bail!(
            "session {session_id} kept no manifest (only sessions vpd launches have one)"
        ),
    }
}
