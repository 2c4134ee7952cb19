//! The config file's types, as written in YAML. The JSON Schema under
//! `schema/config.json` is generated from them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use viewport_protocol::options::{ConfigOverrides, McpServer, PermissionPolicy, TimeoutOutcome};

/// One `.viewport/config.yaml` (or the user's `~/.viewport/config.yaml`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "vpd config")]
pub struct ConfigFile {
    /// The config format version: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Context a session sees, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub contexts: BTreeMap<String, Context>,
    /// Named sequences of session launches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub workflows: BTreeMap<String, Workflow>,
    /// Named plan templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub plans: BTreeMap<String, Plan>,
    /// Named agent settings a launch picks with `--profile`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agent_profiles: BTreeMap<String, AgentProfile>,
    /// Terminal templates by name, added to the built-in ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, Template>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<JobsConfig>,
    /// The daemon itself; read from the user's config only
    /// (`~/.viewport/config.yaml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon: Option<DaemonConfig>,
    /// What is masked before a session's updates are stored; read from the
    /// user's config only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<RedactionConfig>,
    /// A NATS server the daemon connects out to, so paired viewports reach
    /// it from anywhere; read from the user's config only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelayConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelayConfig {
    /// The NATS server (`nats://HOST:4222`, `tls://…`, `ws://…` or `wss://…`).
    pub url: String,
    /// The address viewports use for it, when it differs from `url` (put in
    /// pairing links). Browsers need the server's WebSocket listener
    /// (`ws://…` or `wss://…`); the CLI takes any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewer_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedactionConfig {
    /// Search tool output for the shapes of keys and tokens (default true;
    /// secrets from the launch's environment are masked either way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_output: Option<bool>,
    /// More regular expressions to mask in tool output, as
    /// `[redacted:custom]` (Rust `regex` syntax).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
}

/// Context given to a session: one file, the files a glob matches, or text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Context {
    /// A file, relative to the directory of the `.viewport/` it is defined in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// A glob of files, relative to the same directory (`docs/**/*.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glob: Option<String>,
    /// The context itself, written out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Path globs of working directories the context applies to, relative to
    /// the same directory (default: everywhere under it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applies_to: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Steps run in order; consecutive steps marked `parallel` run together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workflow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub steps: Vec<WorkflowStep>,
}

/// One session a workflow launches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkflowStep {
    pub name: String,
    /// The agent profile (an `agentProfiles` name, or a built-in agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub prompt: String,
    /// Run together with the steps next to it that are also `parallel`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub parallel: bool,
}

/// A plan template: the steps a plan starts with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub steps: Vec<String>,
}

/// Settings for an agent, picked by name (`vpd run --profile NAME`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentProfile {
    /// The agent that runs (`vpd agents` lists them).
    pub agent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The session mode to switch to once the session is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_servers: Vec<McpServer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_instructions: Option<String>,
    /// Stop the session when its cost passes this many US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_cap_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_policy: Option<PermissionPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_timeout_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_timeout_outcome: Option<TimeoutOutcome>,
    /// The program and arguments, for the `custom` agent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl AgentProfile {
    /// What a launch with this profile asks for; the model goes separately.
    pub fn overrides(&self) -> ConfigOverrides {
        ConfigOverrides {
            agent: Some(self.agent.clone()),
            command: self.command.clone(),
            env: self.env.clone(),
            mcp_servers: self.mcp_servers.clone(),
            additional_instructions: self.additional_instructions.clone(),
            permission_policy: self.permission_policy,
            permission_timeout_secs: self.permission_timeout_secs,
            permission_timeout_outcome: self.permission_timeout_outcome,
            mode: self.mode.clone(),
            cost_cap_usd: self.cost_cap_usd,
            ..ConfigOverrides::default()
        }
    }
}

/// A terminal template: what `vpd new NAME --template T` runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Template {
    /// A shell command line (run with `sh -c`).
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Variables set for the program.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobsConfig {
    /// How many one-off jobs run at once (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DaemonConfig {
    /// `ADDR:PORT` the daemon serves the browser UI and the WebSocket on
    /// (default `127.0.0.1:7707`; `--listen` and `VIEWPORT_LISTEN` win).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Serve TLS with this certificate (required to listen beyond
    /// loopback; `vpd daemon --tls` uses a self-signed one instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Host names the daemon answers to besides IP addresses and
    /// `localhost` (`mybox.example`): requests naming any other host are
    /// refused, against DNS rebinding. A self-signed certificate made once
    /// they are set names them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file of the certificate (its chain may follow it).
    pub cert: String,
    /// PEM file of its private key.
    pub key: String,
}

/// The JSON Schema of the config file as pretty JSON, keys sorted, ending
/// in a newline (`schema/config.json` is the checked-in copy).
pub fn config_schema_json() -> String {
    let schema = serde_json::to_value(schemars::schema_for!(ConfigFile)).unwrap_or_default();
    let sorted = viewport_protocol::schema::sorted(schema);
    serde_json::to_string_pretty(&sorted).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn checked_in_schema_matches_the_code() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/config.json");
        let generated = config_schema_json();
        if std::env::var_os("VIEWPORT_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "schema/config.json is out of date with crates/config; \
             run `VIEWPORT_UPDATE_SCHEMA=1 cargo test -p viewport-config` and commit the result"
        );
    }
}
