//! Agent profiles: how to start each agent. Built in for now; the user's
//! config and `.viewport/config.yaml` will add and override profiles.

use crate::AgentError;

/// The profile a session gets when none is named.
pub const DEFAULT_PROFILE: &str = "demo";

/// The hidden `vpd` subcommand that runs the scripted demo agent.
pub const DEMO_AGENT_SUBCOMMAND: &str = "__demo-agent";

/// Which program a profile runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// The running `vpd` binary itself, with these arguments.
    SelfExe,
    /// A program looked up on `PATH` (or an absolute path).
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentProfile {
    pub name: &'static str,
    pub program: Program,
    pub args: Vec<String>,
}

impl AgentProfile {
    /// The built-in profile of that name.
    pub fn builtin(name: &str) -> Result<Self, AgentError> {
        match name {
            "demo" => Ok(Self {
                name: "demo",
                program: Program::SelfExe,
                args: vec![DEMO_AGENT_SUBCOMMAND.to_owned()],
            }),
            _ => Err(AgentError::UnknownProfile {
                name: name.to_owned(),
                known: "demo".to_owned(),
            }),
        }
    }
}
