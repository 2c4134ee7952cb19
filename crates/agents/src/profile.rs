//! Agent profiles: how to start each agent, which variables it may see, how
//! it takes extra instructions and who answers its permission requests.
//! Built in for now; the user's config will add and override profiles.

use std::path::{Path, PathBuf};

use viewport_protocol::options::{AgentInfo, PermissionPolicy};

use crate::AgentError;

/// The profile a session gets when none is named.
pub const DEFAULT_PROFILE: &str = "demo";

/// The profile that runs whatever command the launch names.
pub const CUSTOM_PROFILE: &str = "custom";

/// The hidden `vpd` subcommand that runs the scripted demo agent.
pub const DEMO_AGENT_SUBCOMMAND: &str = "__demo-agent";

/// Which program a profile runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// The running `vpd` binary itself, with the profile's arguments.
    SelfExe,
    /// The first of these names found on the search path (or a path).
    Named(Vec<String>),
    /// The command the launch gives (the `custom` profile).
    FromLaunch,
}

/// How an agent takes `additionalInstructions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstructionsVia {
    /// `_meta.systemPrompt` in `session/new`: `{append}` or, with
    /// `skipOsInstructions`, a string that replaces the system prompt
    /// (the Claude adapter).
    SystemPromptMeta,
    /// A text block before the first prompt.
    FirstPromptBlock,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentProfile {
    pub name: &'static str,
    pub description: &'static str,
    pub program: Program,
    pub args: Vec<String>,
    /// Variables passed through from the daemon's environment besides the
    /// allowlist; a name ending in `*` passes every variable with that prefix.
    pub passthrough_env: &'static [&'static str],
    /// The npm packages that install the program.
    pub npm_packages: &'static [&'static str],
    pub instructions: InstructionsVia,
    pub permission_policy: PermissionPolicy,
    /// Offer the agent our file methods (reads and writes confined to the
    /// session's directory). Off for agents that cannot use them.
    pub client_fs: bool,
    /// A variable the agent needs when the daemon runs as root, and why.
    pub root_needs: Option<(&'static str, &'static str)>,
}

/// Every built-in profile, in the order `vpd agents` lists them.
pub const BUILTIN_NAMES: &[&str] = &[
    "claude-code",
    "codex",
    "gemini",
    "opencode",
    "pi",
    "demo",
    CUSTOM_PROFILE,
];

impl AgentProfile {
    /// The built-in profile of that name.
    pub fn builtin(name: &str) -> Result<Self, AgentError> {
        let profile = match name {
            "claude-code" => Self {
                name: "claude-code",
                description: "Claude Code through Zed's ACP adapter",
                program: named(&["claude-agent-acp", "claude-code-acp"]),
                passthrough_env: &[
                    "ANTHROPIC_*",
                    "CLAUDE_*",
                    "AWS_*",
                    "IS_SANDBOX",
                    "DISABLE_TELEMETRY",
                    "DISABLE_AUTOUPDATER",
                ],
                npm_packages: &["@zed-industries/claude-agent-acp"],
                instructions: InstructionsVia::SystemPromptMeta,
                root_needs: Some((
                    "IS_SANDBOX",
                    "Claude Code refuses to start as root unless IS_SANDBOX=1 says it runs in a sandbox: launch with `--env IS_SANDBOX=1` (or export it for the daemon) if it does",
                )),
                ..Self::base(name)
            },
            "codex" => Self {
                name: "codex",
                description: "OpenAI Codex through Zed's ACP adapter",
                program: named(&["codex-acp"]),
                passthrough_env: &["OPENAI_*", "CODEX_*", "AZURE_*"],
                npm_packages: &["@zed-industries/codex-acp"],
                ..Self::base(name)
            },
            "gemini" => Self {
                name: "gemini",
                description: "Gemini CLI in its ACP mode",
                program: named(&["gemini"]),
                args: vec!["--acp".to_owned()],
                passthrough_env: &["GEMINI_*", "GOOGLE_*"],
                npm_packages: &["@google/gemini-cli"],
                // Gemini CLI 0.61 cannot tell a missing file from a failed
                // read through ACP (it looks for ENOENT in a JSON-RPC error
                // object's string form), so it could never create a file
                // through us; it uses its own file access, inside its
                // workspace checks, instead.
                client_fs: false,
                ..Self::base(name)
            },
            "opencode" => Self {
                name: "opencode",
                description: "OpenCode's ACP server",
                program: named(&["opencode"]),
                args: vec!["acp".to_owned()],
                passthrough_env: &[
                    "OPENCODE_*",
                    "ANTHROPIC_*",
                    "OPENAI_*",
                    "GEMINI_*",
                    "OPENROUTER_*",
                ],
                npm_packages: &["opencode-ai"],
                ..Self::base(name)
            },
            "pi" => Self {
                name: "pi",
                description: "The pi coding agent through pi-acp",
                program: named(&["pi-acp"]),
                passthrough_env: &["PI_*", "ANTHROPIC_*", "OPENAI_*", "GEMINI_*"],
                npm_packages: &["pi-acp", "@mariozechner/pi-coding-agent"],
                ..Self::base(name)
            },
            "demo" => Self {
                name: "demo",
                description: "A scripted agent built into vpd (no key, no network)",
                program: Program::SelfExe,
                args: vec![DEMO_AGENT_SUBCOMMAND.to_owned()],
                ..Self::base(name)
            },
            CUSTOM_PROFILE => Self {
                name: CUSTOM_PROFILE,
                description: "Any command that speaks ACP on stdio (give it with --cmd)",
                program: Program::FromLaunch,
                ..Self::base(name)
            },
            _ => {
                return Err(AgentError::UnknownProfile {
                    name: name.to_owned(),
                    known: BUILTIN_NAMES.join(", "),
                });
            }
        };
        Ok(profile)
    }

    fn base(name: &str) -> Self {
        Self {
            name: "",
            description: "",
            program: named(&[name]),
            args: Vec::new(),
            passthrough_env: &[],
            npm_packages: &[],
            instructions: InstructionsVia::FirstPromptBlock,
            permission_policy: PermissionPolicy::Ask,
            client_fs: true,
            root_needs: None,
        }
    }

    /// The shell command that installs this agent, if vpd does not carry it.
    pub fn install_command(&self) -> Option<String> {
        (!self.npm_packages.is_empty())
            .then(|| format!("npm install -g {}", self.npm_packages.join(" ")))
    }

    /// The program to run. `command` is the launch's command, which only the
    /// `custom` profile uses.
    pub fn resolve(
        &self,
        search: &ProgramSearch,
        command: &[String],
    ) -> Result<Resolved, AgentError> {
        match &self.program {
            Program::SelfExe => Ok(Resolved {
                program: crate::spawn::self_exe()?,
                args: self.args.clone(),
            }),
            Program::Named(names) => {
                let found = names.iter().find_map(|name| search.find(name));
                let program = found.ok_or_else(|| AgentError::NotInstalled {
                    profile: self.name.to_owned(),
                    program: names.join(" or "),
                    install: self.install_command().unwrap_or_default(),
                })?;
                Ok(Resolved {
                    program,
                    args: self.args.clone(),
                })
            }
            Program::FromLaunch => {
                let (first, rest) = command.split_first().ok_or(AgentError::NoCommand)?;
                let program = search.find(first).ok_or_else(|| AgentError::NotInstalled {
                    profile: self.name.to_owned(),
                    program: first.clone(),
                    install: String::new(),
                })?;
                Ok(Resolved {
                    program,
                    args: rest.to_vec(),
                })
            }
        }
    }

    /// How `vpd agents` shows this profile.
    pub fn info(&self, search: &ProgramSearch) -> AgentInfo {
        let (installed, program) = match &self.program {
            Program::SelfExe => (true, "vpd (built in)".to_owned()),
            Program::FromLaunch => (true, "the command given with --cmd".to_owned()),
            Program::Named(names) => match names.iter().find_map(|name| search.find(name)) {
                Some(path) => (true, path.display().to_string()),
                None => (false, names.join(" or ")),
            },
        };
        AgentInfo {
            name: self.name.to_owned(),
            description: self.description.to_owned(),
            installed,
            program,
            install: self.install_command(),
            permission_policy: self.permission_policy,
        }
    }

    /// The daemon's variables this profile passes through, besides the allowlist.
    pub fn passthrough(
        &self,
        environment: impl Iterator<Item = (String, String)>,
    ) -> Vec<(String, String)> {
        environment
            .filter(|(name, _)| {
                self.passthrough_env
                    .iter()
                    .any(|pattern| match pattern.strip_suffix('*') {
                        Some(prefix) => name.starts_with(prefix),
                        None => name == pattern,
                    })
            })
            .collect()
    }
}

fn named(names: &[&str]) -> Program {
    Program::Named(names.iter().map(|n| (*n).to_owned()).collect())
}

/// A program and its arguments, found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// Every built-in profile, with whether its program is installed.
pub fn builtin_infos(search: &ProgramSearch) -> Vec<AgentInfo> {
    BUILTIN_NAMES
        .iter()
        .filter_map(|name| AgentProfile::builtin(name).ok())
        .map(|profile| profile.info(search))
        .collect()
}

/// Where agent programs are looked for: the daemon's `PATH`, then extra
/// directories (the data home's `agents/node_modules/.bin`).
#[derive(Debug, Clone, Default)]
pub struct ProgramSearch {
    dirs: Vec<PathBuf>,
}

impl ProgramSearch {
    pub fn new(
        path_var: Option<&std::ffi::OsStr>,
        extra: impl IntoIterator<Item = PathBuf>,
    ) -> Self {
        let mut dirs: Vec<PathBuf> = path_var
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default();
        dirs.extend(extra);
        Self { dirs }
    }

    /// The daemon's own `PATH` plus `extra`.
    pub fn from_env(extra: impl IntoIterator<Item = PathBuf>) -> Self {
        Self::new(std::env::var_os("PATH").as_deref(), extra)
    }

    /// The executable `name` names: itself if it holds a `/`, else the first
    /// match in the search directories.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        if name.contains('/') {
            let path = PathBuf::from(name);
            return is_executable(&path).then_some(path);
        }
        self.dirs
            .iter()
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_name_has_a_profile() {
        for name in BUILTIN_NAMES {
            assert_eq!(AgentProfile::builtin(name).unwrap().name, *name);
        }
        let err = AgentProfile::builtin("nope").unwrap_err().to_string();
        assert!(err.contains("claude-code"), "{err}");
    }

    #[test]
    fn a_missing_program_says_how_to_install_it() {
        let profile = AgentProfile::builtin("claude-code").unwrap();
        let err = profile
            .resolve(&ProgramSearch::new(None, []), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("npm install -g @zed-industries/claude-agent-acp"),
            "{err}"
        );
    }

    #[test]
    fn programs_are_found_in_the_search_directories() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("codex-acp");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let search = ProgramSearch::new(None, [dir.path().to_owned()]);
        let resolved = AgentProfile::builtin("codex")
            .unwrap()
            .resolve(&search, &[])
            .unwrap();
        assert_eq!(resolved.program, program);
        assert!(
            AgentProfile::builtin("codex")
                .unwrap()
                .info(&search)
                .installed
        );
    }

    #[test]
    fn passthrough_takes_named_variables_and_prefixes() {
        let profile = AgentProfile::builtin("claude-code").unwrap();
        let env = [
            ("ANTHROPIC_BASE_URL", "u"),
            ("IS_SANDBOX", "1"),
            ("SECRET", "s"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let passed = profile.passthrough(env.into_iter());
        let names: Vec<&str> = passed.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["ANTHROPIC_BASE_URL", "IS_SANDBOX"]);
    }

    #[test]
    fn custom_needs_a_command() {
        let profile = AgentProfile::builtin(CUSTOM_PROFILE).unwrap();
        assert!(matches!(
            profile.resolve(&ProgramSearch::default(), &[]),
            Err(AgentError::NoCommand)
        ));
    }
}
