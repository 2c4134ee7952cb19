//! Checking one config file: every problem in it, each with the file, line
//! and column, what was expected and what was found. A file with problems
//! gives all of them, not only the first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::Glob;
use serde::de::DeserializeOwned;

use crate::model::{
    AgentProfile, ConfigFile, Context, DaemonConfig, JobsConfig, Plan, RedactionConfig,
    RelayConfig, Template, Workflow,
};
use crate::yaml::{self, Key, Location, Node, PathStep, Value};

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// Where in the file; none for the file as a whole.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub at: Option<Location>,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Some(at) => write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                at.line,
                at.column,
                self.message
            ),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// The named sections, as they are spelled in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Section {
    Contexts,
    Workflows,
    Plans,
    AgentProfiles,
    Templates,
}

impl Section {
    pub const ALL: [Section; 5] = [
        Self::Contexts,
        Self::Workflows,
        Self::Plans,
        Self::AgentProfiles,
        Self::Templates,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::Contexts => "contexts",
            Self::Workflows => "workflows",
            Self::Plans => "plans",
            Self::AgentProfiles => "agentProfiles",
            Self::Templates => "templates",
        }
    }

    /// A section's entry, in words (`agent profile`).
    pub fn noun(self) -> &'static str {
        match self {
            Self::Contexts => "context",
            Self::Workflows => "workflow",
            Self::Plans => "plan",
            Self::AgentProfiles => "agent profile",
            Self::Templates => "template",
        }
    }
}

/// A config file that passed every check, with where each entry is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckedFile {
    pub file: PathBuf,
    pub config: ConfigFile,
    /// Where each named entry starts.
    pub places: BTreeMap<(Section, String), Location>,
}

const TOP_LEVEL: &str =
    "version, contexts, workflows, plans, agentProfiles, templates, jobs, daemon, redaction, relay";

/// Read and check one file; a missing file is an empty config.
pub fn check_file(file: &Path) -> Result<CheckedFile, Vec<Diagnostic>> {
    let problem = |message: String| {
        vec![Diagnostic {
            file: file.to_owned(),
            at: None,
            message,
        }]
    };
    match std::fs::metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(CheckedFile {
                file: file.to_owned(),
                ..CheckedFile::default()
            });
        }
        Err(e) => return Err(problem(format!("cannot read it: {e}"))),
        Ok(meta) if meta.len() > yaml::MAX_FILE_BYTES as u64 => {
            return Err(problem(format!(
                "the file is {} bytes; config files may be at most {}",
                meta.len(),
                yaml::MAX_FILE_BYTES
            )));
        }
        Ok(_) => {}
    }
    let text =
        std::fs::read_to_string(file).map_err(|e| problem(format!("cannot read it: {e}")))?;
    check_text(file, &text)
}

/// Check config text as if it were `file`.
pub fn check_text(file: &Path, text: &str) -> Result<CheckedFile, Vec<Diagnostic>> {
    let mut checker = Checker {
        file: file.to_owned(),
        problems: Vec::new(),
        checked: CheckedFile {
            file: file.to_owned(),
            ..CheckedFile::default()
        },
    };
    match yaml::parse(text) {
        Ok(tree) => checker.root(&tree),
        Err(error) => checker.report(error.at, error.message),
    }
    if checker.problems.is_empty() {
        Ok(checker.checked)
    } else {
        checker.problems.sort_by_key(|p| p.at);
        Err(checker.problems)
    }
}

struct Checker {
    file: PathBuf,
    problems: Vec<Diagnostic>,
    checked: CheckedFile,
}

impl Checker {
    fn report(&mut self, at: Option<Location>, message: String) {
        self.problems.push(Diagnostic {
            file: self.file.clone(),
            at,
            message,
        });
    }

    fn root(&mut self, tree: &Node) {
        self.duplicates(tree, "");
        let Value::Map(entries) = &tree.value else {
            return self.report(
                Some(tree.at),
                format!(
                    "expected a mapping of sections ({TOP_LEVEL}), found {}",
                    tree.value.kind()
                ),
            );
        };
        for (key, node) in entries {
            match key.name.as_str() {
                "version" => self.version(node),
                "jobs" => self.jobs(node),
                "daemon" => self.daemon(node),
                "redaction" => self.redaction(node),
                "relay" => self.relay(node),
                name => match Section::ALL.into_iter().find(|s| s.key() == name) {
                    Some(section) => self.section(section, node),
                    None => self.report(
                        Some(key.at),
                        format!("unknown section `{name}`; expected one of {TOP_LEVEL}"),
                    ),
                },
            }
        }
    }

    /// Every mapping key defined twice in one mapping, anywhere.
    fn duplicates(&mut self, node: &Node, path: &str) {
        match &node.value {
            Value::Map(entries) => {
                let mut seen: BTreeMap<&str, &Key> = BTreeMap::new();
                for (key, value) in entries {
                    if let Some(first) = seen.insert(&key.name, key) {
                        let place = if path.is_empty() {
                            "the file".to_owned()
                        } else {
                            format!("`{path}`")
                        };
                        self.report(
                            Some(key.at),
                            format!(
                                "`{}` is defined twice in {place} (first at line {}); names must be unique",
                                key.name, first.at.line
                            ),
                        );
                    }
                    let inner = if path.is_empty() {
                        key.name.clone()
                    } else {
                        format!("{path}.{}", key.name)
                    };
                    self.duplicates(value, &inner);
                }
            }
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.duplicates(item, &format!("{path}[{i}]"));
                }
            }
            _ => {}
        }
    }

    fn version(&mut self, node: &Node) {
        match node.value {
            Value::Int(1) | Value::UInt(1) => self.checked.config.version = Some(1),
            ref other => self.report(
                Some(node.at),
                format!(
                    "expected `version: 1` (the only version this vpd reads), found {}",
                    describe(other)
                ),
            ),
        }
    }

    fn daemon(&mut self, node: &Node) {
        let Some(daemon) = self.typed::<DaemonConfig>(node, "daemon") else {
            return;
        };
        if let Some(listen) = &daemon.listen
            && listen.parse::<std::net::SocketAddr>().is_err()
        {
            let at = node
                .find(&[PathStep::Key("listen".into())])
                .map(|(n, _)| n.at);
            self.report(
                at,
                format!(
                    "`daemon.listen` must be ADDRESS:PORT, such as 127.0.0.1:7707; found {listen:?}"
                ),
            );
            return;
        }
        for (index, host) in daemon.hosts.iter().enumerate() {
            let valid = !host.is_empty()
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !valid {
                let at = node
                    .find(&[PathStep::Key("hosts".into()), PathStep::Index(index)])
                    .map(|(n, _)| n.at);
                self.report(
                    at,
                    format!("`daemon.hosts` holds {host:?}, which is not a host name (such as mybox.example, without a port)"),
                );
                return;
            }
        }
        self.checked.config.daemon = Some(daemon);
    }

    fn redaction(&mut self, node: &Node) {
        let Some(redaction) = self.typed::<RedactionConfig>(node, "redaction") else {
            return;
        };
        let mut valid = true;
        for (index, pattern) in redaction.patterns.iter().enumerate() {
            if let Err(error) = regex::Regex::new(pattern) {
                let at = node
                    .find(&[PathStep::Key("patterns".into()), PathStep::Index(index)])
                    .map(|(n, _)| n.at);
                let reason = error
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .to_owned();
                self.report(
                    at,
                    format!("`redaction.patterns` holds an invalid regular expression {pattern:?}: {reason}"),
                );
                valid = false;
            }
        }
        if valid {
            self.checked.config.redaction = Some(redaction);
        }
    }

    fn relay(&mut self, node: &Node) {
        let Some(relay) = self.typed::<RelayConfig>(node, "relay") else {
            return;
        };
        const SCHEMES: [&str; 4] = ["nats://", "tls://", "ws://", "wss://"];
        for (key, url) in [
            ("url", Some(&relay.url)),
            ("viewerUrl", relay.viewer_url.as_ref()),
        ] {
            let Some(url) = url else { continue };
            if !SCHEMES.iter().any(|scheme| url.starts_with(scheme)) {
                let at = node.find(&[PathStep::Key(key.into())]).map(|(n, _)| n.at);
                self.report(
                    at,
                    format!("`relay.{key}` must be a NATS URL (nats://, tls://, ws:// or wss://), such as nats://relay.example:4222; found {url:?}"),
                );
                return;
            }
        }
        self.checked.config.relay = Some(relay);
    }

    fn jobs(&mut self, node: &Node) {
        let Some(jobs) = self.typed::<JobsConfig>(node, "jobs") else {
            return;
        };
        if jobs.max_parallel == Some(0) {
            let at = node
                .find(&[PathStep::Key("maxParallel".into())])
                .map(|(n, _)| n.at);
            self.report(
                at,
                "`jobs.maxParallel` must be at least 1, found 0".to_owned(),
            );
            return;
        }
        self.checked.config.jobs = Some(jobs);
    }

    fn section(&mut self, section: Section, node: &Node) {
        let entries = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => return,
            other => {
                return self.report(
                    Some(node.at),
                    format!(
                        "expected `{}` to map names to {}s, found {}",
                        section.key(),
                        section.noun(),
                        other.kind()
                    ),
                );
            }
        };
        for (key, entry) in entries {
            let what = format!("{}.{}", section.key(), key.name);
            let added = match section {
                Section::Contexts => self.context(entry, &what).map(|c| {
                    self.checked.config.contexts.insert(key.name.clone(), c);
                }),
                Section::Workflows => self.workflow(entry, &what).map(|w| {
                    self.checked.config.workflows.insert(key.name.clone(), w);
                }),
                Section::Plans => self.typed::<Plan>(entry, &what).map(|p| {
                    self.checked.config.plans.insert(key.name.clone(), p);
                }),
                Section::AgentProfiles => self.typed::<AgentProfile>(entry, &what).map(|p| {
                    self.checked
                        .config
                        .agent_profiles
                        .insert(key.name.clone(), p);
                }),
                Section::Templates => self.typed::<Template>(entry, &what).map(|t| {
                    self.checked.config.templates.insert(key.name.clone(), t);
                }),
            };
            if added.is_some() {
                self.checked
                    .places
                    .insert((section, key.name.clone()), key.at);
            }
        }
    }

    fn context(&mut self, node: &Node, what: &str) -> Option<Context> {
        let context = self.typed::<Context>(node, what)?;
        let sources = [&context.file, &context.glob, &context.text]
            .iter()
            .filter(|s| s.is_some())
            .count();
        if sources != 1 {
            self.report(
                Some(node.at),
                format!("`{what}` needs exactly one of `file`, `glob` or `text`, found {sources}"),
            );
            return None;
        }
        let mut globs_ok = true;
        if let Some(glob) = &context.glob {
            globs_ok &= self.glob(node, &[PathStep::Key("glob".into())], glob);
        }
        for (i, pattern) in context.applies_to.iter().enumerate() {
            let path = [PathStep::Key("appliesTo".into()), PathStep::Index(i)];
            globs_ok &= self.glob(node, &path, pattern);
        }
        globs_ok.then_some(context)
    }

    fn glob(&mut self, node: &Node, path: &[PathStep], pattern: &str) -> bool {
        match Glob::new(pattern) {
            Ok(_) => true,
            Err(e) => {
                let at = node.find(path).map(|(n, _)| n.at);
                self.report(at, format!("`{pattern}` is not a valid glob: {}", e.kind()));
                false
            }
        }
    }

    fn workflow(&mut self, node: &Node, what: &str) -> Option<Workflow> {
        let workflow = self.typed::<Workflow>(node, what)?;
        if workflow.steps.is_empty() {
            self.report(
                Some(node.at),
                format!("`{what}` has no steps; add at least one"),
            );
            return None;
        }
        let mut names = BTreeMap::new();
        let mut ok = true;
        for (i, step) in workflow.steps.iter().enumerate() {
            if let Some(first) = names.insert(step.name.as_str(), i) {
                let at = node
                    .find(&[PathStep::Key("steps".into()), PathStep::Index(i)])
                    .map(|(n, _)| n.at);
                self.report(
                    at,
                    format!(
                        "step `{}` of `{what}` is named twice (steps {} and {}); step names must be unique",
                        step.name,
                        first + 1,
                        i + 1
                    ),
                );
                ok = false;
            }
        }
        ok.then_some(workflow)
    }

    /// The node as `T`, or a problem reported at the place that broke it.
    fn typed<T: DeserializeOwned>(&mut self, node: &Node, what: &str) -> Option<T> {
        let json = node.to_json();
        match serde_path_to_error::deserialize::<_, T>(json) {
            Ok(value) => Some(value),
            Err(error) => {
                let path: Vec<PathStep> = error
                    .path()
                    .iter()
                    .filter_map(|segment| match segment {
                        serde_path_to_error::Segment::Map { key } => {
                            Some(PathStep::Key(key.clone()))
                        }
                        serde_path_to_error::Segment::Seq { index } => {
                            Some(PathStep::Index(*index))
                        }
                        _ => None,
                    })
                    .collect();
                let message = error.inner().to_string();
                let at = place_of(node, &path, &message);
                let inside = render_path(what, &path);
                self.report(Some(at), format!("in `{inside}`: {message}"));
                None
            }
        }
    }
}

/// Where an error about `path` points: the unknown key itself, else the
/// node the path leads to, else as near as the path gets.
fn place_of(node: &Node, path: &[PathStep], message: &str) -> Location {
    if let Some(field) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        let mut with_field = path.to_vec();
        if path.last() != Some(&PathStep::Key(field.to_owned())) {
            with_field.push(PathStep::Key(field.to_owned()));
        }
        if let Some((_, Some(key_at))) = node.find(&with_field) {
            return key_at;
        }
    }
    (0..=path.len())
        .rev()
        .find_map(|len| node.find(&path[..len]).map(|(n, _)| n.at))
        .unwrap_or(node.at)
}

fn render_path(start: &str, path: &[PathStep]) -> String {
    let mut out = start.to_owned();
    for step in path {
        match step {
            PathStep::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            PathStep::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn describe(value: &Value) -> String {
    match value {
        Value::Int(i) => format!("`{i}`"),
        Value::UInt(u) => format!("`{u}`"),
        Value::Str(s) => format!("\"{s}\""),
        other => other.kind().to_owned(),
    }
}
