// Generated from schema/protocol.json by `npm run types`. Do not edit.

/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "AttentionReason".
 */
export type AttentionReason =
  | "permission-pending"
  | "agent-failed"
  | "agent-notification"
  | "turn-failed"
  | "turn-finished"
  | "cost-cap-near"
  | "login-required";
/**
 * How a checkpoint is kept.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "CheckpointKind".
 */
export type CheckpointKind = "git" | "copy";
/**
 * A frame a viewport sends to the daemon.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ClientFrame".
 */
export type ClientFrame =
  | {
      /**
       * Updates with seq greater than this are sent (default 0: all).
       */
      afterSeq?: number | null;
      requestId?: RequestId | null;
      sessionId?: SessionId | null;
      type: "subscribe";
    }
  | {
      requestId?: RequestId | null;
      sessionId?: SessionId | null;
      type: "unsubscribe";
    }
  | {
      configOverrides?: ConfigOverrides | null;
      directoryId: DirectoryId;
      model?: string | null;
      prompt: string;
      requestId: RequestId;
      type: "launch";
    }
  | {
      /**
       * Files or other resources sent along with the text.
       */
      context?: ContextItem[];
      requestId?: RequestId | null;
      sessionId: SessionId;
      text: string;
      type: "prompt";
    }
  | {
      requestId?: RequestId | null;
      sessionId: SessionId;
      type: "cancel";
    }
  | {
      cancelled?: boolean | null;
      optionId?: string | null;
      promptId: PromptId;
      requestId?: RequestId | null;
      sessionId: SessionId;
      type: "respondToPrompt";
    }
  | {
      requestId?: RequestId | null;
      sessionId: SessionId;
      type: "kill";
    }
  | {
      after?: SessionId | null;
      limit?: number | null;
      requestId: RequestId;
      type: "listSessions";
    }
  | {
      path: string;
      requestId: RequestId;
      type: "addDirectory";
    }
  | {
      requestId: RequestId;
      type: "listDirectories";
    }
  | {
      directoryId: DirectoryId;
      requestId: RequestId;
      type: "removeDirectory";
    }
  | {
      requestId: RequestId;
      type: "reindex";
    }
  | {
      mode?: string | null;
      model?: string | null;
      requestId?: RequestId | null;
      sessionId: SessionId;
      thoughtLevel?: string | null;
      type: "setConfig";
    }
  | {
      requestId?: RequestId | null;
      sessionId: SessionId;
      type: "close";
    }
  | {
      force?: boolean;
      requestId?: RequestId | null;
      sessionId: SessionId;
      type: "destroy";
    }
  | {
      requestId?: RequestId | null;
      sessionId: SessionId;
      type: "resume";
    }
  | {
      requestId: RequestId;
      type: "listAgents";
    }
  | {
      cols?: number | null;
      /**
       * A shell command line to run instead of the template's program.
       */
      command?: string | null;
      directoryId: DirectoryId;
      /**
       * Variables set for the program, on top of the allowlist.
       */
      env?: {
        [k: string]: string | undefined;
      };
      /**
       * Seconds without output after which the session counts as idle.
       */
      idleAfterSecs?: number | null;
      name: string;
      requestId: RequestId;
      rows?: number | null;
      /**
       * `bash` (the default), `claude`, `codex`, or `script` (runs `command`).
       */
      template?: string | null;
      type: "newTerminal";
    }
  | {
      /**
       * This viewport's size; the terminal takes the size of the viewport
       * that attached or resized last.
       */
      cols?: number | null;
      offset?: number | null;
      requestId: RequestId;
      rows?: number | null;
      sessionId: SessionId;
      type: "attach";
    }
  | {
      requestId?: RequestId | null;
      sessionId: SessionId;
      type: "detach";
    }
  | {
      data: string;
      requestId?: RequestId | null;
      sessionId: SessionId;
      type: "terminalInput";
    }
  | {
      command: string;
      directoryId: DirectoryId;
      /**
       * The name of its session (default: from the job id).
       */
      name?: string | null;
      requestId: RequestId;
      type: "enqueueJob";
    }
  | {
      requestId: RequestId;
      type: "listJobs";
    }
  | {
      /**
       * Where its sessions run, inside the directory (default: the directory).
       */
      cwd?: string | null;
      directoryId: DirectoryId;
      requestId: RequestId;
      type: "runWorkflow";
      /**
       * The workflow's name in the config.
       */
      workflow: string;
    }
  | {
      requestId: RequestId;
      type: "listWorkflowRuns";
    }
  | {
      requestId: RequestId;
      type: "listPlans";
    }
  | {
      requestId: RequestId;
      sessionId: SessionId;
      title: string;
      type: "setTitle";
    }
  | {
      name: string;
      requestId: RequestId;
      sessionId: SessionId;
      type: "readOutput";
    }
  | {
      afterSeq?: number | null;
      beforeSeq?: number | null;
      /**
       * At most this many (default 500, at most 5000).
       */
      limit?: number | null;
      requestId: RequestId;
      sessionId: SessionId;
      type: "readUpdates";
    }
  | {
      requestId: RequestId;
      type: "createLoginCode";
    }
  | {
      requestId: RequestId;
      type: "listViewers";
    }
  | {
      requestId: RequestId;
      type: "revokeViewer";
      viewerId: string;
    }
  | {
      requestId: RequestId;
      sessionId: SessionId;
      type: "listCheckpoints";
    }
  | {
      dryRun?: boolean;
      requestId: RequestId;
      sessionId: SessionId;
      toSeq: number;
      type: "rewind";
    }
  | {
      atSeq?: number | null;
      requestId: RequestId;
      sessionId: SessionId;
      type: "fork";
    }
  | {
      directoryId: DirectoryId;
      /**
       * The export's absolute path.
       */
      path: string;
      requestId: RequestId;
      type: "importSession";
    }
  | {
      /**
       * Only in sessions of this directory.
       */
      directoryId?: DirectoryId | null;
      /**
       * At most this many hits (default 20, at most 500).
       */
      limit?: number | null;
      /**
       * Words to find (all of them); `word*` matches a prefix. Quotes and
       * FTS operators are taken as plain words.
       */
      query: string;
      requestId: RequestId;
      /**
       * Only in this session.
       */
      sessionId?: SessionId | null;
      type: "search";
    }
  | {
      directoryId: DirectoryId;
      requestId: RequestId;
      type: "resolveConfig";
    }
  | {
      requestId: RequestId;
      sessionId: SessionId;
      type: "sessionManifest";
    }
  | {
      /**
       * `claude`.
       */
      agent: string;
      /**
       * The agent's process, so the daemon notices when it is gone
       * without saying goodbye.
       */
      agentPid?: number | null;
      /**
       * The hook's JSON as the agent gave it.
       */
      event: {
        [k: string]: unknown | undefined;
      };
      requestId: RequestId;
      type: "hookEvent";
    }
  | {
      cols: number;
      requestId?: RequestId | null;
      rows: number;
      sessionId: SessionId;
      type: "resize";
    };
/**
 * A client-chosen request id, echoed in the `response` or `error` frame.
 *
 * Clients may use any non-empty string of at most
 * [`MAX_REQUEST_ID_LEN`](crate::limits::MAX_REQUEST_ID_LEN) characters; the
 * clients of this project generate `req_…` ids.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "RequestId".
 */
export type RequestId = string;
/**
 * A session id (`ses_…`).
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "SessionId".
 */
export type SessionId = string;
/**
 * An MCP server the agent should connect to.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "McpServer".
 */
export type McpServer =
  | {
      args?: string[];
      command: string;
      env?: {
        [k: string]: string | undefined;
      };
      name: string;
      type: "stdio";
    }
  | {
      headers?: {
        [k: string]: string | undefined;
      };
      name: string;
      type: "http";
      url: string;
    }
  | {
      headers?: {
        [k: string]: string | undefined;
      };
      name: string;
      type: "sse";
      url: string;
    };
/**
 * Who answers the agent's permission requests.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "PermissionPolicy".
 */
export type PermissionPolicy = "ask" | "allow-read-only" | "allow-all" | "deny-all";
/**
 * The answer a permission prompt gets when its timeout passes.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "TimeoutOutcome".
 */
export type TimeoutOutcome = "allow" | "deny" | "cancel";
/**
 * A directory id (`dir_…`).
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "DirectoryId".
 */
export type DirectoryId = string;
/**
 * A prompt id (`prm_…`).
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "PromptId".
 */
export type PromptId = string;
/**
 * Why a session ended.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "EndReason".
 */
export type EndReason = "completed" | "failed" | "killed" | "cancelled" | "cost-cap" | "daemon-lost";
/**
 * Why a frame or request failed.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ErrorCode".
 */
export type ErrorCode =
  | ("unknown-session" | "unknown-directory" | "unknown-prompt")
  | "bad-json"
  | "unknown-frame-type"
  | "invalid-frame"
  | "frame-too-large"
  | "prompt-resolved"
  | "session-ended"
  | "agent-unavailable"
  | "limit-reached"
  | "forbidden"
  | "unauthorized"
  | "internal";
/**
 * A job id (`job_…`).
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "JobId".
 */
export type JobId = string;
/**
 * Where a job is.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "JobStatus".
 */
export type JobStatus = "running" | "queued" | "completed" | "failed" | "stopped";
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "PlanEntryPriority".
 */
export type PlanEntryPriority = "high" | "medium" | "low";
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "PlanEntryStatus".
 */
export type PlanEntryStatus = "pending" | "in-progress" | "completed";
/**
 * What a session is running.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "SessionKind".
 */
export type SessionKind = "acp" | "terminal" | "observed";
/**
 * Where a session is in its life.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "SessionState".
 */
export type SessionState = "active" | "awaiting" | "idle" | "ended";
/**
 * A workflow run id (`wfr_…`).
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "WorkflowRunId".
 */
export type WorkflowRunId = string;
/**
 * Where a workflow run, or one of its steps, is.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "RunStatus".
 */
export type RunStatus = "running" | "pending" | "completed" | "failed" | "skipped";
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "PermissionOptionKind".
 */
export type PermissionOptionKind = "allow-once" | "allow-always" | "reject-once" | "reject-always";
/**
 * How a permission prompt was answered.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "PermissionResolved".
 */
export type PermissionResolved = {
  promptId: PromptId;
  /**
   * Why the prompt was resolved without an answer (turn cancelled, agent exited).
   */
  reason?: string | null;
} & PermissionResolved1;
export type PermissionResolved1 =
  | {
      optionId: string;
      outcome: "selected";
    }
  | {
      outcome: "cancelled";
    };
/**
 * One update, tagged by `updateType`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "SessionUpdate".
 */
export type SessionUpdate =
  | (MessageText & {
      updateType: "agent-message";
    })
  | (TextChunk & {
      updateType: "agent-message-chunk";
    })
  | (TextChunk & {
      updateType: "agent-thought-chunk";
    })
  | (MessageText & {
      updateType: "user-message";
    })
  | (ToolCall & {
      updateType: "tool-call";
    })
  | (ToolCallUpdate & {
      updateType: "tool-call-update";
    })
  | (PermissionRequest & {
      updateType: "permission-request";
    })
  | (PermissionResolved & {
      updateType: "permission-resolved";
    })
  | (StateChange & {
      updateType: "state-change";
    })
  | (StepCommitted & {
      updateType: "step-committed";
    })
  | (TokenUsage & {
      updateType: "token-usage";
    })
  | (SystemStatus & {
      updateType: "system-status";
    })
  | (Attention & {
      updateType: "attention";
    })
  | (StreamingState & {
      updateType: "streaming-state";
    });
/**
 * Output of a tool call.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ToolContent".
 */
export type ToolContent =
  | {
      text: string;
      type: "text";
    }
  | {
      newText: string;
      oldText?: string | null;
      path: string;
      type: "diff";
    }
  | {
      terminalId: string;
      type: "terminal";
    }
  | {
      /**
       * The file's name, which `readOutput` takes.
       */
      name: string;
      /**
       * Its first few kilobytes.
       */
      preview: string;
      /**
       * Its SHA-256, hex.
       */
      sha256: string;
      /**
       * Its size in bytes.
       */
      size: number;
      type: "file";
    }
  | {
      description: string;
      type: "other";
    };
/**
 * What kind of work a tool call does, as ACP names it.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ToolKind".
 */
export type ToolKind =
  "read" | "edit" | "delete" | "move" | "search" | "execute" | "think" | "fetch" | "switch-mode" | "other";
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ToolStatus".
 */
export type ToolStatus = "pending" | "in-progress" | "completed" | "failed";
/**
 * Why an agent stopped a turn, as ACP names it.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "StopReason".
 */
export type StopReason = "end-turn" | "max-tokens" | "max-turn-requests" | "refusal" | "cancelled";
/**
 * Status the agent reports, tagged by `status`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "SystemStatus".
 */
export type SystemStatus =
  | {
      entries: PlanEntry[];
      status: "plan";
    }
  | {
      modeId: string;
      status: "mode";
    }
  | {
      commands: AvailableCommand[];
      status: "commands";
    }
  | {
      status: "title";
      title: string;
    }
  | {
      message: string;
      status: "notice";
    }
  | {
      /**
       * The agent's session id (what `session/load` takes to resume).
       */
      agentSessionId: string;
      /**
       * Whether the agent can load this conversation again (`vpd resume`).
       */
      canResume: boolean;
      name?: string | null;
      status: "agent";
      version?: string | null;
    }
  | {
      repos: GitContext[];
      status: "git";
    }
  | {
      options: ConfigOption[];
      status: "config";
    }
  | {
      data: unknown;
      kind: string;
      status: "other";
    };
/**
 * A frame the daemon sends to a viewport.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ServerFrame".
 */
export type ServerFrame =
  | {
      agent: string;
      cwd: string;
      directoryId: DirectoryId;
      /**
       * The git repositories it starts in.
       */
      git?: GitContext[];
      kind: SessionKind;
      sessionId: SessionId;
      type: "session-started";
    }
  | {
      seq: number;
      sessionId: SessionId;
      type: "session-update";
      update: SessionUpdate;
    }
  | {
      detail?: string | null;
      reason: EndReason;
      sessionId: SessionId;
      type: "session-ended";
    }
  | {
      requestId: RequestId;
      result: unknown;
      type: "response";
    }
  | {
      /**
       * The bytes, base64 (standard alphabet, padded).
       */
      data: string;
      offset: number;
      sessionId: SessionId;
      type: "terminal-output";
    }
  | {
      code: ErrorCode;
      message: string;
      requestId?: RequestId | null;
      type: "error";
    };

/**
 * Frames exchanged between the vpd daemon and its viewports. ClientFrame goes to the daemon, ServerFrame comes from it; *Result types are the `result` of a `response` frame.
 */
export interface ViewportProtocol {
  [k: string]: unknown | undefined;
}
/**
 * One agent profile a daemon offers.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "AgentInfo".
 */
export interface AgentInfo {
  description: string;
  /**
   * The command that installs it, when it is not part of vpd.
   */
  install?: string | null;
  /**
   * Whether the agent's program was found.
   */
  installed: boolean;
  name: string;
  /**
   * How its permission requests are answered unless a launch says otherwise.
   */
  permissionPolicy: "ask" | "allow-read-only" | "allow-all" | "deny-all";
  /**
   * The program that runs, where it was found (or its name when not).
   */
  program: string;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "Attention".
 */
export interface Attention {
  message: string;
  reason: AttentionReason;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "AvailableCommand".
 */
export interface AvailableCommand {
  description: string;
  name: string;
}
/**
 * The working tree as it was at one point of a session.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "Checkpoint".
 */
export interface Checkpoint {
  /**
   * Unix milliseconds.
   */
  createdAt: number;
  /**
   * What changed since the checkpoint before: `M path`, `A path`, `D path`.
   */
  files: string[];
  kind: CheckpointKind;
  /**
   * Why it was taken, when not after a step.
   */
  note?: string | null;
  /**
   * 1, 2, 3… within the session.
   */
  number: number;
  /**
   * The commit, or the snapshot's directory.
   */
  reference: string;
  /**
   * The directory snapshotted (the repository's root for git).
   */
  root: string;
  /**
   * The session's update it was taken after (a `step-committed`, or the
   * last update before a rewind).
   */
  seq: number;
}
/**
 * Per-session settings a `launch` may override. Every field is optional;
 * what is left out comes from the agent's profile.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ConfigOverrides".
 */
export interface ConfigOverrides {
  /**
   * Text appended to the agent's system prompt where the adapter supports
   * it, otherwise sent as a context block before the first prompt.
   */
  additionalInstructions?: string | null;
  /**
   * The agent (default `demo`); `vpd agents` lists them.
   */
  agent?: string | null;
  /**
   * The program and arguments of the `custom` profile (any ACP agent).
   */
  command?: string[];
  /**
   * Stop the session when its cost passes this many US dollars.
   */
  costCapUsd?: number | null;
  /**
   * Where the agent runs: a path inside the registered directory, relative
   * to it or absolute (default: the directory itself).
   */
  cwd?: string | null;
  /**
   * Variables set for the agent, on top of the daemon's allowlist and the
   * variables the profile passes through.
   */
  env?: {
    [k: string]: string | undefined;
  };
  /**
   * MCP servers handed to the agent in `session/new`.
   */
  mcpServers?: McpServer[];
  /**
   * The session mode to switch to once the session is up.
   */
  mode?: string | null;
  /**
   * How permission requests are answered (default: the profile's, `ask`).
   */
  permissionPolicy?: PermissionPolicy | null;
  /**
   * The answer a timed-out prompt gets (default `deny`).
   */
  permissionTimeoutOutcome?: TimeoutOutcome | null;
  /**
   * Answer a prompt nobody answered within this many seconds.
   */
  permissionTimeoutSecs?: number | null;
  /**
   * An agent profile from the directory's config (`agentProfiles`): its
   * settings apply, and the other fields here override them.
   */
  profile?: string | null;
  /**
   * Replace the agent's own system prompt with `additionalInstructions`
   * instead of appending to it (only where the adapter allows it).
   */
  skipOsInstructions?: boolean;
  /**
   * The thought (reasoning) level to select once the session is up.
   */
  thoughtLevel?: string | null;
}
/**
 * Context sent with a prompt, besides its text.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ContextItem".
 */
export interface ContextItem {
  mimeType?: string | null;
  /**
   * The content itself; without it the agent gets a link to `uri`.
   */
  text?: string | null;
  /**
   * Where the content comes from (`file:///…` for a file).
   */
  uri: string;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ConfigChoice".
 */
export interface ConfigChoice {
  name: string;
  value: string;
}
/**
 * One switchable setting of a session (a mode, a model, a thought level…).
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ConfigOption".
 */
export interface ConfigOption {
  /**
   * `mode`, `model`, `thought_level` or the agent's own category.
   */
  category?: string | null;
  choices: ConfigChoice[];
  current: string;
  id: string;
  name: string;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "Cost".
 */
export interface Cost {
  amount: number;
  /**
   * ISO 4217 code, such as `USD`.
   */
  currency: string;
}
/**
 * A registered directory.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "DirectoryInfo".
 */
export interface DirectoryInfo {
  /**
   * Unix milliseconds.
   */
  createdAt: number;
  directoryId: DirectoryId;
  /**
   * The canonical path.
   */
  path: string;
}
/**
 * A session and one of its updates: where a fork branches off.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ForkPoint".
 */
export interface ForkPoint {
  /**
   * The last update the fork shares with it.
   */
  seq: number;
  sessionId: SessionId;
}
/**
 * A git repository a session works in, at one point.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "GitContext".
 */
export interface GitContext {
  /**
   * The branch checked out (none when HEAD is detached).
   */
  branch?: string | null;
  /**
   * Whether the working tree has changes (tracked or untracked).
   */
  dirty: boolean;
  /**
   * The commit HEAD points at (none before the first commit).
   */
  head?: string | null;
  /**
   * The URL of its `origin` remote (or its first).
   */
  remote?: string | null;
  /**
   * The repository's root directory.
   */
  root: string;
  /**
   * The branch's upstream, such as `origin/main`.
   */
  upstream?: string | null;
}
/**
 * One job.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "JobInfo".
 */
export interface JobInfo {
  /**
   * The shell command line it runs.
   */
  command: string;
  /**
   * Unix milliseconds.
   */
  createdAt: number;
  /**
   * Why it failed or stopped, in words.
   */
  detail?: string | null;
  directoryId: DirectoryId;
  endedAt?: number | null;
  exitCode?: number | null;
  jobId: JobId;
  /**
   * The name its terminal session gets.
   */
  name: string;
  /**
   * Its terminal session, once it started.
   */
  sessionId?: SessionId | null;
  startedAt?: number | null;
  status: JobStatus;
}
/**
 * Result of `launch`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "LaunchResult".
 */
export interface LaunchResult {
  sessionId: SessionId;
}
/**
 * Result of `listAgents`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ListAgentsResult".
 */
export interface ListAgentsResult {
  agents: AgentInfo[];
}
/**
 * Result of `listCheckpoints`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ListCheckpointsResult".
 */
export interface ListCheckpointsResult {
  /**
   * Oldest first.
   */
  checkpoints: Checkpoint[];
}
/**
 * Result of `listDirectories`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ListDirectoriesResult".
 */
export interface ListDirectoriesResult {
  directories: DirectoryInfo[];
}
/**
 * Result of `listJobs`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ListJobsResult".
 */
export interface ListJobsResult {
  jobs: JobInfo[];
}
/**
 * Result of `listPlans`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ListPlansResult".
 */
export interface ListPlansResult {
  /**
   * One per session that has a plan, latest first.
   */
  plans: SessionPlan[];
}
/**
 * The latest plan a session's agent reported.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "SessionPlan".
 */
export interface SessionPlan {
  entries: PlanEntry[];
  /**
   * The update that reported it.
   */
  seq: number;
  sessionId: SessionId;
  /**
   * Unix milliseconds.
   */
  updatedAt: number;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "PlanEntry".
 */
export interface PlanEntry {
  content: string;
  priority: PlanEntryPriority;
  status: PlanEntryStatus;
}
/**
 * Result of `listSessions`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ListSessionsResult".
 */
export interface ListSessionsResult {
  /**
   * When more sessions follow this page: the `after` that asks for them.
   */
  next?: SessionId | null;
  sessions: SessionSummary[];
}
/**
 * One row of the session list.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "SessionSummary".
 */
export interface SessionSummary {
  /**
   * The agent profile that runs the session (`demo`, `claude-code`, ...).
   */
  agent: string;
  /**
   * What a terminal session runs.
   */
  command?: string[];
  /**
   * What the session cost so far, in US dollars, as its agent last
   * reported (none when it reported no cost in USD).
   */
  costUsd?: number | null;
  /**
   * Unix milliseconds.
   */
  createdAt: number;
  /**
   * The working directory of the session.
   */
  cwd: string;
  directoryId: DirectoryId;
  /**
   * The daemon cannot reach the session's process; `state` is the last known.
   */
  disconnected?: boolean;
  endReason?: EndReason | null;
  /**
   * The exit status of its program, once it exited on its own.
   */
  exitCode?: number | null;
  /**
   * The agent's own session id, for sessions observed through hooks.
   */
  externalId?: string | null;
  /**
   * Where a fork's history comes from.
   */
  forkedFrom?: ForkPoint | null;
  /**
   * The git repositories it works in, as last recorded (at its start and
   * after each step).
   */
  git?: GitContext[];
  kind: SessionKind;
  /**
   * The seq of the last stored update (0 when there is none yet).
   */
  lastSeq: number;
  /**
   * The session's unique name (terminal sessions).
   */
  name?: string | null;
  /**
   * Permission prompts waiting for an answer.
   */
  pendingPrompts: number;
  sessionId: SessionId;
  state: SessionState;
  /**
   * The terminal template it came from.
   */
  template?: string | null;
  /**
   * The first prompt, as a title until the session is named.
   */
  title?: string | null;
  /**
   * Unix milliseconds of the last stored update.
   */
  updatedAt: number;
}
/**
 * Result of `subscribe` without a `sessionId`: the list as it stands; the
 * feed then carries every change after it.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ListSubscribeResult".
 */
export interface ListSubscribeResult {
  sessions: SessionSummary[];
}
/**
 * Result of `listViewers`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ListViewersResult".
 */
export interface ListViewersResult {
  viewers: ViewerInfo[];
}
/**
 * A browser login or a paired viewport, as `listViewers` shows it (never
 * its token, which the daemon keeps only hashed).
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ViewerInfo".
 */
export interface ViewerInfo {
  /**
   * Unix milliseconds.
   */
  createdAt: number;
  /**
   * When its token was last presented (to the minute), if ever.
   */
  lastSeenAt?: number | null;
  /**
   * What it called itself when it paired (a browser: its user agent).
   */
  name: string;
  /**
   * The web origin it paired from; a browser may use the token only there.
   */
  origin?: string | null;
  /**
   * Paired through the relay: it proves itself with a key, not a token.
   */
  relay?: boolean;
  /**
   * `vwr_…`: what `revokeViewer` takes.
   */
  viewerId: string;
}
/**
 * Result of `listWorkflowRuns`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ListWorkflowRunsResult".
 */
export interface ListWorkflowRunsResult {
  /**
   * Newest first.
   */
  runs: WorkflowRun[];
}
/**
 * One run of a workflow.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "WorkflowRun".
 */
export interface WorkflowRun {
  /**
   * Unix milliseconds.
   */
  createdAt: number;
  /**
   * The working directory its sessions run in.
   */
  cwd: string;
  directoryId: DirectoryId;
  endedAt?: number | null;
  runId: WorkflowRunId;
  status: RunStatus;
  steps: StepRun[];
  /**
   * The workflow's name in the config.
   */
  workflow: string;
}
/**
 * One step of a run.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "StepRun".
 */
export interface StepRun {
  /**
   * Why it failed or was skipped, in words.
   */
  detail?: string | null;
  name: string;
  /**
   * Its session, once it started.
   */
  sessionId?: SessionId | null;
  status: RunStatus;
}
/**
 * Result of `createLoginCode`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "LoginCodeResult".
 */
export interface LoginCodeResult {
  /**
   * `ABCD-EFGH`; case, spaces and dashes do not matter when it is typed.
   */
  code: string;
  /**
   * Unix milliseconds; it works once, until then.
   */
  expiresAt: number;
  /**
   * The code as a pairing link for viewports that reach the daemon
   * through its relay (`relay.url` in its config): the relay's URL, the
   * daemon's id and public key, and the code.
   */
  relayLink?: string | null;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "MessageText".
 */
export interface MessageText {
  text: string;
}
/**
 * A permission prompt still waiting for an answer.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "PendingPrompt".
 */
export interface PendingPrompt {
  request: PermissionRequest;
  /**
   * The seq of the `permission-request` update that opened it.
   */
  seq: number;
  sessionId: SessionId;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "PermissionRequest".
 */
export interface PermissionRequest {
  options: PermissionOption[];
  promptId: PromptId;
  /**
   * What the agent wants to do, in words.
   */
  title: string;
  /**
   * The tool call the permission is for, when the agent named one.
   */
  toolCallId?: string | null;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "PermissionOption".
 */
export interface PermissionOption {
  kind: PermissionOptionKind;
  name: string;
  optionId: string;
}
/**
 * Result of `readOutput`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ReadOutputResult".
 */
export interface ReadOutputResult {
  name: string;
  /**
   * The output (invalid UTF-8 replaced).
   */
  text: string;
}
/**
 * Result of `readUpdates`: in seq order, ending just before `beforeSeq`
 * or starting just after `afterSeq`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ReadUpdatesResult".
 */
export interface ReadUpdatesResult {
  updates: UpdateAt[];
}
/**
 * One stored update and its seq.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "UpdateAt".
 */
export interface UpdateAt {
  seq: number;
  update: SessionUpdate;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "TextChunk".
 */
export interface TextChunk {
  text: string;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ToolCall".
 */
export interface ToolCall {
  content?: ToolContent[];
  kind: ToolKind;
  locations?: ToolLocation[];
  /**
   * The tool's input exactly as the agent sent it.
   */
  rawInput?: {
    [k: string]: unknown | undefined;
  };
  status: ToolStatus;
  title: string;
  toolCallId: string;
}
/**
 * A file a tool call touches.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ToolLocation".
 */
export interface ToolLocation {
  line?: number | null;
  path: string;
}
/**
 * Changes to a tool call; absent fields are unchanged.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ToolCallUpdate".
 */
export interface ToolCallUpdate {
  content?: ToolContent[] | null;
  kind?: ToolKind | null;
  rawInput?: unknown;
  rawOutput?: unknown;
  status?: ToolStatus | null;
  title?: string | null;
  toolCallId: string;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "StateChange".
 */
export interface StateChange {
  /**
   * Details of the end, such as an exit status or an error message.
   */
  detail?: string | null;
  /**
   * The process is unreachable; `state` is the last known.
   */
  disconnected?: boolean;
  /**
   * The program's exit status, when it ended by exiting.
   */
  exitCode?: number | null;
  /**
   * Set when `state` is `ended`.
   */
  reason?: EndReason | null;
  state: SessionState;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "StepCommitted".
 */
export interface StepCommitted {
  stopReason: StopReason;
}
/**
 * Token counts; agents report different subsets, absent means not reported.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "TokenUsage".
 */
export interface TokenUsage {
  /**
   * Size of the context window.
   */
  contextSize?: number | null;
  /**
   * Tokens in the context window now.
   */
  contextUsed?: number | null;
  /**
   * Cumulative cost of the session.
   */
  cost?: Cost | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
}
/**
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "StreamingState".
 */
export interface StreamingState {
  streaming: boolean;
}
/**
 * Result of `reindex`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "ReindexResult".
 */
export interface ReindexResult {
  events: number;
  sessions: number;
}
/**
 * Result of `rewind`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "RewindResult".
 */
export interface RewindResult {
  /**
   * What the rewind changes (or would, with `dryRun`): `M path`
   * (restored), `A path` (brought back), `D path` (removed).
   */
  changes: string[];
  /**
   * The checkpoint of the tree as it was just before, so the rewind can
   * itself be undone (none with `dryRun`).
   */
  saved?: Checkpoint | null;
}
/**
 * Result of `runWorkflow`: the run as it starts.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "RunWorkflowResult".
 */
export interface RunWorkflowResult {
  run: WorkflowRun;
}
/**
 * One place a search found, best first.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "SearchHit".
 */
export interface SearchHit {
  /**
   * When the update was stored (Unix milliseconds).
   */
  at: number;
  /**
   * Its `updateType`.
   */
  kind: string;
  /**
   * The update that matched.
   */
  seq: number;
  sessionId: SessionId;
  /**
   * The matching text around the hit, each match between `«` and `»`.
   */
  snippet: string;
}
/**
 * Result of `search`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "SearchResult".
 */
export interface SearchResult {
  hits: SearchHit[];
}
/**
 * Result of `sessionManifest`.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "SessionManifestResult".
 */
export interface SessionManifestResult {
  /**
   * The manifest as resolved when the session started: its contexts,
   * workflows, plans, agent profiles and templates, each with the file
   * and line it came from, and its conflicts. Absent for sessions that
   * were not launched by vpd (terminal and observed sessions).
   */
  manifest?: {
    [k: string]: unknown | undefined;
  };
}
/**
 * Result of `subscribe` with a `sessionId`. Sent before the replay.
 *
 * This interface was referenced by `ViewportProtocol`'s JSON-Schema
 * via the `definition` "SessionSubscribeResult".
 */
export interface SessionSubscribeResult {
  /**
   * Prompts still open, whatever `afterSeq` was.
   */
  pendingPrompts: PendingPrompt[];
  session: SessionSummary;
}
