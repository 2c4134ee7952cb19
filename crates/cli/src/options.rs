//! Session options on the command line (`vpd run` flags), turned into the
//! `configOverrides` of a launch.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use viewport_protocol::options::{ConfigOverrides, McpServer, PermissionPolicy, TimeoutOutcome};

#[derive(Debug, Clone, Default, Args)]
pub struct SessionOptions {
    /// An agent profile from the directory's config (`agentProfiles`); the
    /// other flags override its settings. `vpd config resolve` lists them.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The model to select once the session is up.
    #[arg(long)]
    pub model: Option<String>,
    /// The session mode to switch to once the session is up (e.g. `plan`).
    #[arg(long)]
    pub mode: Option<String>,
    /// The thought (reasoning) level to select.
    #[arg(long)]
    pub thought_level: Option<String>,
    /// The agent's command line, for `--agent custom` (any ACP agent).
    #[arg(long = "cmd", value_name = "COMMAND")]
    pub command: Option<String>,
    /// Set a variable for the agent (repeatable); the agent sees nothing
    /// else of your environment but the allowlist and its profile's variables.
    #[arg(long = "env", short = 'e', value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Run the agent in this directory, inside --dir.
    #[arg(long)]
    pub cwd: Option<String>,
    /// An MCP server for the agent (repeatable): `NAME=COMMAND ARGS…` (stdio),
    /// `NAME=http://…` (HTTP) or `NAME=sse+http://…` (SSE).
    #[arg(long = "mcp", value_name = "NAME=SPEC")]
    pub mcp: Vec<String>,
    /// Text added to the agent's system prompt (or sent before the first prompt).
    #[arg(long, value_name = "TEXT")]
    pub instructions: Option<String>,
    /// Replace the agent's system prompt with --instructions instead of adding to it.
    #[arg(long, requires = "instructions")]
    pub skip_os_instructions: bool,
    /// Who answers permission requests.
    #[arg(long, value_enum)]
    pub permissions: Option<PolicyArg>,
    /// Answer a permission request nobody answered within SECONDS.
    #[arg(long, value_name = "SECONDS")]
    pub permission_timeout: Option<u64>,
    /// The answer a timed-out permission request gets.
    #[arg(long, value_enum, requires = "permission_timeout")]
    pub timeout_answer: Option<TimeoutArg>,
    /// End the session when its cost passes this many US dollars.
    #[arg(long, value_name = "USD")]
    pub cost_cap: Option<f64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyArg {
    Ask,
    AllowReadOnly,
    AllowAll,
    DenyAll,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TimeoutArg {
    Allow,
    Deny,
    Cancel,
}

impl SessionOptions {
    pub fn overrides(&self, agent: Option<&str>) -> Result<ConfigOverrides> {
        let command = match &self.command {
            Some(line) => shlex::split(line)
                .filter(|words| !words.is_empty())
                .with_context(|| format!("--cmd `{line}` is not a command line"))?,
            None => Vec::new(),
        };
        if !command.is_empty() && agent != Some("custom") && self.profile.is_none() {
            bail!("--cmd runs a custom agent: give --agent custom with it");
        }
        Ok(ConfigOverrides {
            profile: self.profile.clone(),
            agent: agent.map(str::to_owned),
            command,
            env: self
                .env
                .iter()
                .map(|pair| parse_env(pair))
                .collect::<Result<_>>()?,
            cwd: self.cwd.clone(),
            mcp_servers: self
                .mcp
                .iter()
                .map(|spec| parse_mcp(spec))
                .collect::<Result<_>>()?,
            additional_instructions: self.instructions.clone(),
            skip_os_instructions: self.skip_os_instructions,
            permission_policy: self.permissions.map(|p| match p {
                PolicyArg::Ask => PermissionPolicy::Ask,
                PolicyArg::AllowReadOnly => PermissionPolicy::AllowReadOnly,
                PolicyArg::AllowAll => PermissionPolicy::AllowAll,
                PolicyArg::DenyAll => PermissionPolicy::DenyAll,
            }),
            permission_timeout_secs: self.permission_timeout,
            permission_timeout_outcome: self.timeout_answer.map(|t| match t {
                TimeoutArg::Allow => TimeoutOutcome::Allow,
                TimeoutArg::Deny => TimeoutOutcome::Deny,
                TimeoutArg::Cancel => TimeoutOutcome::Cancel,
            }),
            mode: self.mode.clone(),
            thought_level: self.thought_level.clone(),
            cost_cap_usd: self.cost_cap,
        })
    }
}

fn parse_env(pair: &str) -> Result<(String, String)> {
    match pair.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => bail!("--env `{pair}` must be NAME=VALUE"),
    }
}

fn parse_mcp(spec: &str) -> Result<McpServer> {
    let Some((name, target)) = spec
        .split_once('=')
        .filter(|(n, t)| !n.is_empty() && !t.is_empty())
    else {
        bail!("--mcp `{spec}` must be NAME=COMMAND, NAME=http://… or NAME=sse+http://…");
    };
    let name = name.to_owned();
    if let Some(url) = target.strip_prefix("sse+") {
        return Ok(McpServer::Sse {
            name,
            url: url.to_owned(),
            headers: Default::default(),
        });
    }
    if target.starts_with("http://") || target.starts_with("https://") {
        return Ok(McpServer::Http {
            name,
            url: target.to_owned(),
            headers: Default::default(),
        });
    }
    let words = shlex::split(target)
        .filter(|w| !w.is_empty())
        .with_context(|| format!("--mcp `{spec}`: `{target}` is not a command line"))?;
    let (command, args) = words.split_first().context("--mcp needs a command")?;
    Ok(McpServer::Stdio {
        name,
        command: command.clone(),
        args: args.to_vec(),
        env: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_specs_choose_their_transport() {
        assert!(matches!(parse_mcp("fs=npx -y server /tmp").unwrap(),
            McpServer::Stdio { command, args, .. } if command == "npx" && args.len() == 3));
        assert!(matches!(
            parse_mcp("web=https://x/mcp").unwrap(),
            McpServer::Http { .. }
        ));
        assert!(
            matches!(parse_mcp("ev=sse+http://x/sse").unwrap(), McpServer::Sse { url, .. } if url == "http://x/sse")
        );
        assert!(parse_mcp("nothing").is_err());
    }

    #[test]
    fn env_pairs_need_a_name() {
        assert_eq!(parse_env("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("novalue").is_err());
    }

    #[test]
    fn cmd_is_only_for_custom() {
        let options = SessionOptions {
            command: Some("my-agent --acp".into()),
            ..SessionOptions::default()
        };
        assert!(options.overrides(Some("demo")).is_err());
        assert_eq!(
            options.overrides(Some("custom")).unwrap().command,
            ["my-agent", "--acp"]
        );
    }
}
