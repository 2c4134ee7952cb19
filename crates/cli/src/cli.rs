//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::options::SessionOptions;

/// Run AI coding agents in a daemon that owns them; watch and steer them from anywhere.
///
/// Commands other than `daemon` start the daemon in the background when it is
/// not running. Exit codes: 0 success, 1 error, 2 bad usage, 3 the session
/// ended in failure.
#[derive(Debug, Parser)]
#[command(name = "vpd", version, propagate_version = true)]
pub struct Cli {
    /// Talk to a daemon on another machine, through its relay (a name
    /// from `vpd remote ls`), instead of this machine's.
    #[arg(long, global = true, env = "VIEWPORT_REMOTE", value_name = "NAME")]
    pub remote: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground (`vpd daemon stop` stops a running one).
    Daemon(DaemonArgs),
    /// Start a session with a prompt and follow it until its turn is done.
    Run(Box<RunArgs>),
    /// List sessions, newest first (filters combine).
    Ls(LsArgs),
    /// Give a session a title (shown by `ls`, found by `search`, matched by `ls --name`).
    Name { session: String, title: String },
    /// Replay a session from the start (or --after SEQ), then follow it live.
    Watch(WatchArgs),
    /// Send a follow-up prompt to a session.
    Send(SendArgs),
    /// Stop the current turn of a session; the session stays.
    Cancel { session: String },
    /// Allow a pending permission prompt (the only one, or PROMPT).
    Approve(AnswerArgs),
    /// Refuse a pending permission prompt (the only one, or PROMPT).
    Deny(AnswerArgs),
    /// End a session and stop its agent.
    Kill { session: String },
    /// End a session gracefully: cancel its turn and let the agent exit.
    Close { session: String },
    /// Delete a session and everything stored of it: events, search rows,
    /// files, checkpoints (a running one only with --force). Asks first on a
    /// terminal.
    #[command(alias = "destroy")]
    Rm {
        session: String,
        /// Stop the session first if it runs.
        #[arg(long, short = 'f')]
        force: bool,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Start a terminal session (bash, a TUI agent, a script) under a name, and attach.
    New(NewArgs),
    /// Attach to a terminal session: its screen, then live; Ctrl-b d detaches.
    Attach { session: String },
    /// A terminal session's output (plain text; --raw keeps escape sequences).
    Logs(LogsArgs),
    /// A session's details: command, template, status, exit code, paths.
    Show(ShowArgs),
    /// The files a session put in its artifacts directory ($VIEWPORT_ARTIFACTS).
    Artifacts(ShowArgs),
    /// Queue a one-off command; it runs as a terminal session when a slot is free.
    Job(JobArgs),
    /// The job queue: queued, running and finished jobs.
    Jobs(ListArgs),
    /// Start an ended session's agent again and continue its conversation.
    Resume(ResumeArgs),
    /// Switch a running session's mode, model or thought level.
    ConfigSession(ConfigSessionArgs),
    /// The agents vpd can run, whether each is installed, and how to install it.
    Agents(ListArgs),
    /// The `.viewport/config.yaml` files: check them, see what they resolve to.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a session's whole log: JSONL (one update per line, for
    /// `vpd import`) or a readable Markdown transcript.
    Export(ExportArgs),
    /// A tool output a session kept as a file because it was large.
    Output { session: String, name: String },
    /// The checkpoints of a session's working tree (one after each step),
    /// with the files each changed.
    Checkpoints {
        session: String,
        #[arg(long)]
        json: bool,
    },
    /// Bring the working tree back to the checkpoint taken at update --to,
    /// after showing what changes and asking; the tree as it is is saved
    /// first, so a rewind can be undone.
    Rewind {
        session: String,
        /// The update the checkpoint was taken at (`vpd checkpoints` lists them).
        #[arg(long)]
        to: u64,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// A new session whose history is this one's up to --at (default: all of
    /// it); it records its parent.
    Fork {
        session: String,
        /// The last update the fork shares (`vpd show` numbers them).
        #[arg(long)]
        at: Option<u64>,
    },
    /// Load a JSONL export into a new session (all of it, or nothing).
    Import {
        /// The file `vpd export` wrote.
        file: PathBuf,
        /// The registered directory the session belongs to (default: the current one).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Open the browser UI: a login link with a one-time code (valid 10
    /// minutes, once), opened in the browser when there is one.
    Open(OpenArgs),
    /// Pair a viewport: a one-time code (and, on a terminal, a QR code of
    /// the login link); `ls` and `revoke` manage what was paired.
    Pair(PairArgs),
    /// Daemons on other machines, reached through their NATS relay:
    /// `vpd remote add NAME LINK` pairs with one, `vpd --remote NAME …` uses it.
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Find words in every session's messages, tool calls and plans.
    Search(SearchArgs),
    /// The latest plan of each session whose agent made one (also kept as
    /// `sessions/<id>/plan.md`).
    Plans(ListArgs),
    /// Config workflows: run one (its steps as sessions), list the runs.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// What is kept of a session besides its log.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Rebuild every projection from the event log.
    Reindex,
    /// Registered directories.
    #[command(subcommand)]
    Dir(DirCommand),
    /// Claude Code and Codex hooks that make `claude` and `codex` sessions
    /// started in a terminal (under a registered directory) show up in vpd.
    Hooks(HooksArgs),
    /// The hook command Claude Code and Codex run (reads the event on stdin).
    #[command(hide = true)]
    Hook { agent: String },
    /// Shell completions for vpd: `vpd completions bash > ~/.local/share/bash-completion/completions/vpd`
    /// (zsh: a file named `_vpd` on your fpath; fish: ~/.config/fish/completions/vpd.fish).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Check this machine for vpd: the data home's permissions, the event
    /// log, the daemon's health and version, agents, Node.js and hooks; each
    /// problem with the command that fixes it. Exit code 1 when vpd cannot work.
    Doctor(ListArgs),
    /// The manual page, as roff: `vpd man | man -l -`, or save it as `vpd.1`
    /// in a `man1` directory on your MANPATH.
    Man,
    /// Run the scripted demo agent on stdio (used by the `demo` profile).
    #[command(name = "__demo-agent", hide = true)]
    DemoAgent,
    /// Supervise one session's program (started by the daemon, which sends
    /// the launch on stdin); it outlives the daemon.
    #[command(hide = true)]
    Supervise { dir: PathBuf },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DurabilityArg {
    /// Each committed batch survives power loss (fsync per batch).
    Full,
    /// Each committed batch survives a crash of vpd, not of the machine.
    Normal,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DaemonArgs {
    #[command(subcommand)]
    pub action: Option<DaemonAction>,
    /// Address for the browser UI and the WebSocket server (port 0 picks a
    /// free port) [default: `daemon.listen` in ~/.viewport/config.yaml, else
    /// 127.0.0.1:7707].
    #[arg(long, env = "VIEWPORT_LISTEN")]
    pub listen: Option<String>,
    /// Serve TLS (required beyond loopback), with `daemon.tls` from
    /// ~/.viewport/config.yaml or else a self-signed certificate made on
    /// first use (`vpd pair` prints its fingerprint).
    #[arg(long)]
    pub tls: bool,
    /// How hard each commit presses data to disk.
    #[arg(long, value_enum, default_value = "full")]
    pub durability: DurabilityArg,
    /// How many one-off jobs run at once [default: `jobs.maxParallel` in
    /// ~/.viewport/config.yaml, else 2].
    #[arg(long, env = "VIEWPORT_JOBS_MAX_PARALLEL", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs_max_parallel: Option<u16>,
    /// How long a tool call of a terminal `claude` waits for an answer from a
    /// viewport following it before Claude Code asks in its terminal.
    #[arg(long, env = "VIEWPORT_HOOK_ANSWER_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub hook_answer_secs: u64,
    /// Tool output text larger than this many bytes is kept as a file beside
    /// the session, the update holding a reference (`vpd output` reads it).
    #[arg(long, env = "VIEWPORT_LARGE_OUTPUT_BYTES", default_value_t = 64 * 1024,
          value_parser = clap::value_parser!(u64).range(1024..))]
    pub large_output_bytes: u64,
}

#[derive(Debug, Subcommand)]
pub enum DaemonAction {
    /// Stop the running daemon; its sessions end as daemon-lost.
    Stop,
    /// Restart the daemon (say, after replacing vpd) keeping its sessions
    /// running: the new daemon takes them over where the log ends.
    Restart,
    /// Whether the daemon runs, and its pid, uptime, memory, addresses,
    /// sessions and data home size (exit code 1 when it does not run).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Run the daemon as a service of your user that starts at login and
    /// restarts on failure: a systemd user unit (a launchd agent on macOS),
    /// written and enabled.
    Install {
        /// Only write the unit; do not enable or start it.
        #[arg(long)]
        no_enable: bool,
    },
    /// Stop and remove the service `install` made.
    Uninstall,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The prompt for the first turn.
    pub prompt: String,
    /// The agent (`vpd agents` lists them; default: the --profile's agent,
    /// or `demo`).
    #[arg(long)]
    pub agent: Option<String>,
    /// Working directory of the session (registered if it is not yet).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Print the session id and return at once.
    #[arg(long, conflicts_with = "follow")]
    pub detach: bool,
    /// Keep following after the first turn, until the session ends.
    #[arg(long)]
    pub follow: bool,
    /// Allow every permission prompt without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print frames as JSON lines.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub options: SessionOptions,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// A unique name: letters, digits, `.`, `_`, `-`.
    pub name: String,
    /// What to run: bash (default), claude, codex, or script (with --cmd).
    #[arg(long, short = 't')]
    pub template: Option<String>,
    /// A shell command line to run instead of the template's program.
    #[arg(long = "cmd", value_name = "COMMAND")]
    pub command: Option<String>,
    /// Working directory (registered if it is not yet).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Print the session id instead of attaching.
    #[arg(long, short = 'd')]
    pub detach: bool,
}

#[derive(Debug, Args)]
pub struct JobArgs {
    /// The shell command line to run.
    pub command: String,
    /// The name of its session (default: from the job id).
    #[arg(long)]
    pub name: Option<String>,
    /// Working directory (registered if it is not yet).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    pub session: String,
    /// Only the last N lines.
    #[arg(long, short = 'n', value_name = "N")]
    pub lines: Option<usize>,
    /// Keep printing output as it comes, until the session ends.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Keep escape sequences (colors, cursor moves) as the program wrote them.
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub session: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    pub session: String,
    pub text: String,
    /// Terminal sessions: type the text without pressing Enter.
    #[arg(long)]
    pub no_enter: bool,
    /// Send a file's content along with the text (repeatable).
    #[arg(long = "file", short = 'f', value_name = "PATH")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    pub session: String,
    /// Send this prompt once the session is back, and follow its turn.
    pub prompt: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConfigSessionArgs {
    pub session: String,
    #[arg(long)]
    pub mode: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long)]
    pub thought_level: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    pub session: String,
    /// Start after this seq instead of from the beginning.
    #[arg(long, default_value_t = 0)]
    pub after: u64,
    /// Print frames as JSON lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AnswerArgs {
    pub session: String,
    /// The prompt id (`prm_…`); needed only when several prompts are pending.
    pub prompt: Option<String>,
}

#[derive(Debug, Args)]
pub struct HooksArgs {
    #[command(subcommand)]
    pub command: HooksCommand,
    /// Claude Code's settings. With neither --claude nor --codex: Claude
    /// Code, and Codex too where its directory (`~/.codex`, `.codex`) exists.
    #[arg(long, global = true)]
    pub claude: bool,
    /// Codex's hooks (`hooks.json`).
    #[arg(long, global = true)]
    pub codex: bool,
    /// The project's `.claude/settings.json` / `.codex/hooks.json` in --dir
    /// instead of the user's.
    #[arg(long, global = true, conflicts_with = "user")]
    pub project: bool,
    /// The user's `~/.claude/settings.json` / `~/.codex/hooks.json` (the default).
    #[arg(long, global = true)]
    pub user: bool,
    /// The project directory, with --project.
    #[arg(long, global = true, default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// Add vpd's hook to every event that matters, keeping the hooks already there.
    Install,
    /// Remove exactly vpd's hooks.
    Uninstall,
    /// Which events have vpd's hook, and where.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum DirCommand {
    /// Register a directory and print its id.
    Add {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// List registered directories.
    Ls {
        #[arg(long)]
        json: bool,
    },
    /// Unregister a directory (by `dir_` id or path); its sessions stay.
    Rm { directory: String },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the JSON Schema of config.yaml.
    Schema,
    /// Check a config file and print every problem with its line and column
    /// (exit 1 when there is one).
    Validate {
        /// The file, or a directory whose `.viewport/config.yaml` to check
        /// (default: the current directory's).
        path: Option<PathBuf>,
        /// Print the problems as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The manifest a session started in a directory would see: every
    /// context, workflow, plan, agent profile and template, where each
    /// comes from, and the conflicts.
    Resolve {
        /// The working directory (default: the current one).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PairArgs {
    #[command(subcommand)]
    pub action: Option<PairAction>,
    /// Print the code as JSON: `{"url","code","expiresAt"}`, with
    /// `tlsFingerprint` and `relayLink` when the daemon has them.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Pair with a daemon through its relay, with the link its `vpd pair` printed.
    Add {
        /// What to call it here (`vpd --remote NAME ls`).
        name: String,
        /// `nats://HOST:PORT#DAEMON.KEY.CODE`, from `vpd pair` on that machine.
        link: String,
        /// What the daemon's `vpd pair ls` calls this viewport (default: vpd on HOSTNAME).
        #[arg(long = "as", value_name = "NAME")]
        viewer_name: Option<String>,
    },
    /// The daemons paired through a relay.
    Ls(ListArgs),
    /// Forget a remote here (its daemon lists it until `vpd pair revoke` there).
    Rm { name: String },
}

#[derive(Debug, Subcommand)]
pub enum PairAction {
    /// Browser logins and paired viewports, with when each was last seen.
    Ls(ListArgs),
    /// Revoke one (by its `vwr_` id): its token stops working and its open
    /// connections close at once.
    Revoke { viewer: String },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// The config manifest a session started with (JSON).
    Manifest {
        #[arg(long)]
        session: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Run a workflow of the directory's config and follow it until it is done
    /// (exit 3 when a step fails).
    Run {
        /// The workflow's name (`vpd config resolve` lists them).
        name: String,
        /// Working directory (registered if it is not yet).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Print the run id and return at once.
        #[arg(long)]
        detach: bool,
        /// Print the finished run as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Workflow runs, newest first, with each step's status and session.
    Ls(ListArgs),
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// Only print the link (for scripts, and machines without a browser).
    #[arg(long)]
    pub print: bool,
    /// Print the code alone, to pair a viewport served elsewhere (another
    /// daemon's page: "Add a daemon").
    #[arg(long, conflicts_with = "print")]
    pub code: bool,
    /// Print as JSON: `{"url","code","expiresAt"}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to find, all of them (`word*` matches a prefix).
    pub query: String,
    /// Only in this session.
    #[arg(long)]
    pub session: Option<String>,
    /// Only in sessions of the registered directory holding this path.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// At most this many hits.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only sessions in this state (active, idle, awaiting, ended).
    #[arg(long)]
    pub state: Option<String>,
    /// Only sessions of this agent (`claude-code`, `codex`, `demo`, `bash` …).
    #[arg(long)]
    pub agent: Option<String>,
    /// Only sessions whose working directory is this directory or below it.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Only sessions started within this long (`30m`, `2h`, `7d`).
    #[arg(long)]
    pub since: Option<String>,
    /// Only sessions whose name or title contains this (any case).
    #[arg(long)]
    pub name: Option<String>,
    /// Only sessions in a git repository whose root or remote URL contains this.
    #[arg(long)]
    pub repo: Option<String>,
    /// Only sessions on this git branch.
    #[arg(long)]
    pub branch: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line: the session, then each update with its seq.
    Jsonl,
    /// A readable transcript.
    Markdown,
    /// The conversation as ACP `session/update` notifications, one per line
    /// (messages, thoughts, tool calls and their updates, plans).
    Acp,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub session: String,
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Write here instead of to standard output.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}
