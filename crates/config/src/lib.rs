//! vpd's YAML config: the user's `~/.viewport/config.yaml` and a registered
//! directory's `.viewport/config.yaml`.
//!
//! Built so far: terminal `templates` and `jobs` settings, read fresh each
//! time they are needed (an edit counts for the next session, no restart).
//! A name two files define differently is an error naming both: nothing is
//! silently chosen. Contexts, workflows, plans and agent profiles, and the
//! merge of every config from the directory root down, come with the config
//! resolution work.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod check;
pub mod model;
pub mod yaml;

/// The file name inside a data home, and inside a directory's `.viewport/`.
pub const FILE_NAME: &str = "config.yaml";

/// Config files larger than this are refused before they are parsed.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is {bytes} bytes; config files may be at most {MAX_FILE_BYTES}")]
    TooLarge { path: PathBuf, bytes: u64 },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "template `{name}` is defined differently in {first} and {second}; rename one or make them the same"
    )]
    Conflict {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
}

/// One config file, as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFile {
    /// The config format version (1).
    #[serde(default)]
    pub version: Option<u32>,
    /// Terminal templates by name, added to the built-in ones.
    #[serde(default)]
    pub templates: BTreeMap<String, Template>,
    #[serde(default)]
    pub jobs: Option<JobsConfig>,
}

/// A terminal template: what `vpd new NAME --template T` runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Template {
    /// A shell command line (run with `sh -c`).
    pub command: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Variables set for the program.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobsConfig {
    /// How many one-off jobs run at once.
    #[serde(default)]
    pub max_parallel: Option<u16>,
}

/// The settings in force for one directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// Templates by name, with the file each came from.
    pub templates: BTreeMap<String, (Template, PathBuf)>,
    pub jobs_max_parallel: Option<u16>,
}

/// Read one file; a missing file is an empty config.
pub fn read_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let bytes = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    if bytes > MAX_FILE_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
            bytes,
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|message| ConfigError::Invalid {
        path: path.to_owned(),
        message,
    })
}

/// Parse config text; the error names the line and column.
pub fn parse(text: &str) -> Result<ConfigFile, String> {
    if text.trim().is_empty() {
        return Ok(ConfigFile::default());
    }
    let file: ConfigFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    if let Some(version) = file.version
        && version != 1
    {
        return Err(format!(
            "`version: {version}` is not one this vpd reads (it reads 1)"
        ));
    }
    if let Some(JobsConfig {
        max_parallel: Some(0),
    }) = file.jobs
    {
        return Err("`jobs.maxParallel` must be at least 1".to_owned());
    }
    Ok(file)
}

/// The settings for `directory`: the user's config in `data_home`, then the
/// directory's `.viewport/config.yaml`.
pub fn settings(data_home: &Path, directory: Option<&Path>) -> Result<Settings, ConfigError> {
    let mut files = vec![data_home.join(FILE_NAME)];
    if let Some(directory) = directory {
        files.push(directory.join(".viewport").join(FILE_NAME));
    }
    let mut settings = Settings::default();
    for path in files {
        let file = read_file(&path)?;
        for (name, template) in file.templates {
            if let Some((existing, first)) = settings.templates.get(&name)
                && existing != &template
            {
                return Err(ConfigError::Conflict {
                    name,
                    first: first.clone(),
                    second: path,
                });
            }
            settings.templates.insert(name, (template, path.clone()));
        }
        if let Some(max) = file.jobs.and_then(|j| j.max_parallel) {
            settings.jobs_max_parallel = Some(max);
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_and_jobs_parse() {
        let file = parse(
            "version: 1\ntemplates:\n  web:\n    command: npm run dev\n    env: {PORT: '3000'}\njobs:\n  maxParallel: 3\n",
        )
        .unwrap();
        assert_eq!(file.templates["web"].command, "npm run dev");
        assert_eq!(file.templates["web"].env["PORT"], "3000");
        assert_eq!(file.jobs.unwrap().max_parallel, Some(3));
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_place() {
        let err = parse("templates:\n  web:\n    comand: x\n").unwrap_err();
        assert!(err.contains("comand") && err.contains("line 3"), "{err}");
        let err = parse("jobs:\n  maxParallel: lots\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(parse("jobs:\n  maxParallel: 0\n").is_err());
    }

    #[test]
    fn a_template_defined_differently_in_two_files_is_a_conflict() {
        let home = tempfile::tempdir().unwrap();
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir(repo.path().join(".viewport")).unwrap();
        std::fs::write(
            home.path().join(FILE_NAME),
            "templates:\n  web:\n    command: a\n",
        )
        .unwrap();
        let repo_file = repo.path().join(".viewport").join(FILE_NAME);
        std::fs::write(&repo_file, "templates:\n  web:\n    command: a\n").unwrap();
        assert!(
            settings(home.path(), Some(repo.path())).is_ok(),
            "identical is no conflict"
        );
        std::fs::write(&repo_file, "templates:\n  web:\n    command: b\n").unwrap();
        let err = settings(home.path(), Some(repo.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("web") && err.contains(".viewport"), "{err}");
    }
}
