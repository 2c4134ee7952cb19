//! Session options: what a `launch` may set for one session (the agent, its
//! environment, MCP servers, instructions, permission policy, cost cap), the
//! context a prompt may carry, and the agent profiles a daemon offers.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Per-session settings a `launch` may override. Every field is optional;
/// what is left out comes from the agent's profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigOverrides {
    /// An agent profile from the directory's config (`agentProfiles`): its
    /// settings apply, and the other fields here override them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The agent (default `demo`); `vpd agents` lists them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The program and arguments of the `custom` profile (any ACP agent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Variables set for the agent, on top of the daemon's allowlist and the
    /// variables the profile passes through.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Where the agent runs: a path inside the registered directory, relative
    /// to it or absolute (default: the directory itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// MCP servers handed to the agent in `session/new`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_servers: Vec<McpServer>,
    /// Text appended to the agent's system prompt where the adapter supports
    /// it, otherwise sent as a context block before the first prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_instructions: Option<String>,
    /// Replace the agent's own system prompt with `additionalInstructions`
    /// instead of appending to it (only where the adapter allows it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_os_instructions: bool,
    /// How permission requests are answered (default: the profile's, `ask`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_policy: Option<PermissionPolicy>,
    /// Answer a prompt nobody answered within this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_timeout_secs: Option<u64>,
    /// The answer a timed-out prompt gets (default `deny`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_timeout_outcome: Option<TimeoutOutcome>,
    /// The session mode to switch to once the session is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The thought (reasoning) level to select once the session is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_level: Option<String>,
    /// Stop the session when its cost passes this many US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_cap_usd: Option<f64>,
}

impl ConfigOverrides {
    /// These overrides on top of `base`: what is set here wins, variables
    /// and MCP servers are added to the base's.
    pub fn over(self, base: ConfigOverrides) -> ConfigOverrides {
        let mut env = base.env;
        env.extend(self.env);
        let mut mcp_servers = base.mcp_servers;
        mcp_servers.retain(|s| self.mcp_servers.iter().all(|o| o.name() != s.name()));
        mcp_servers.extend(self.mcp_servers);
        ConfigOverrides {
            profile: self.profile.or(base.profile),
            agent: self.agent.or(base.agent),
            command: if self.command.is_empty() {
                base.command
            } else {
                self.command
            },
            env,
            cwd: self.cwd.or(base.cwd),
            mcp_servers,
            additional_instructions: self
                .additional_instructions
                .or(base.additional_instructions),
            skip_os_instructions: self.skip_os_instructions || base.skip_os_instructions,
            permission_policy: self.permission_policy.or(base.permission_policy),
            permission_timeout_secs: self
                .permission_timeout_secs
                .or(base.permission_timeout_secs),
            permission_timeout_outcome: self
                .permission_timeout_outcome
                .or(base.permission_timeout_outcome),
            mode: self.mode.or(base.mode),
            thought_level: self.thought_level.or(base.thought_level),
            cost_cap_usd: self.cost_cap_usd.or(base.cost_cap_usd),
        }
    }
}

/// An MCP server the agent should connect to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum McpServer {
    /// A program the agent starts and talks to over stdio.
    Stdio {
        name: String,
        command: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        args: Vec<String>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        env: BTreeMap<String, String>,
    },
    /// A server over streamable HTTP.
    Http {
        name: String,
        url: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
    /// A server over server-sent events.
    Sse {
        name: String,
        url: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
    },
}

impl McpServer {
    pub fn name(&self) -> &str {
        match self {
            Self::Stdio { name, .. } | Self::Http { name, .. } | Self::Sse { name, .. } => name,
        }
    }
}

/// Who answers the agent's permission requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionPolicy {
    /// Every request waits for a person.
    #[default]
    Ask,
    /// Tools that only read (read, search, think) are allowed; the rest wait.
    AllowReadOnly,
    /// Every request is allowed at once.
    AllowAll,
    /// Every request is refused at once.
    DenyAll,
}

impl PermissionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ask => "ask",
            Self::AllowReadOnly => "allow-read-only",
            Self::AllowAll => "allow-all",
            Self::DenyAll => "deny-all",
        }
    }
}

/// The answer a permission prompt gets when its timeout passes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TimeoutOutcome {
    Allow,
    #[default]
    Deny,
    Cancel,
}

/// Context sent with a prompt, besides its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContextItem {
    /// Where the content comes from (`file:///…` for a file).
    pub uri: String,
    /// The content itself; without it the agent gets a link to `uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// One agent profile a daemon offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentInfo {
    pub name: String,
    pub description: String,
    /// Whether the agent's program was found.
    pub installed: bool,
    /// The program that runs, where it was found (or its name when not).
    pub program: String,
    /// The command that installs it, when it is not part of vpd.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<String>,
    /// How its permission requests are answered unless a launch says otherwise.
    pub permission_policy: PermissionPolicy,
}

/// Result of `listAgents`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListAgentsResult {
    pub agents: Vec<AgentInfo>,
}
