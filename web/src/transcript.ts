// A session's updates folded into what a person reads: messages (chunks
// joined), thoughts, tool calls with their latest state, permission prompts
// and their outcome, plus the session's state, plan, usage and settings.
// Seqs are dense, so each update is applied only when it is the next one:
// a replay that overlaps what is shown is skipped, and the list feed's
// copies of state changes (same connection, same frames) never jump ahead.
import { Observable } from "./observable";
import type {
  ConfigOption,
  EndReason,
  PermissionRequest,
  PlanEntry,
  SessionState,
  SessionSummary,
  SessionUpdate,
  TokenUsage,
  ToolCall,
  UpdateAt,
} from "viewport-client";

export interface ToolState extends ToolCall {
  rawOutput?: unknown;
}

export type Entry =
  | { kind: "user"; seq: number; text: string }
  | { kind: "agent"; seq: number; text: string; done: boolean }
  | { kind: "thought"; seq: number; text: string }
  | { kind: "tool"; seq: number; tool: ToolState }
  | { kind: "permission"; seq: number; request: PermissionRequest; outcome?: string }
  | { kind: "note"; seq: number; text: string };

export class Transcript extends Observable {
  entries: Entry[] = [];
  /** The first and last seq applied (0 when none). */
  firstSeq = 0;
  lastSeq = 0;
  /** Every seq applied, in order; a replay that overlaps is not applied twice. */
  readonly seqs: number[] = [];
  summary?: SessionSummary;
  state: SessionState = "active";
  disconnected = false;
  endReason?: EndReason;
  usage?: TokenUsage;
  plan: PlanEntry[] = [];
  mode?: string;
  config: ConfigOption[] = [];
  pending = new Map<string, PermissionRequest>();
  private tools = new Map<string, ToolState>();
  private streaming?: Extract<Entry, { kind: "agent" }>;
  private thinking?: Extract<Entry, { kind: "thought" }>;
  private permissions = new Map<string, Extract<Entry, { kind: "permission" }>>();

  private started = false;

  get isStarted(): boolean {
    return this.started;
  }

  /** Begin with the session's tail (possibly empty): later updates must follow it. */
  start(tail: UpdateAt[]): void {
    this.started = true;
    const first = tail[0];
    if (first) this.lastSeq = first.seq - 1;
    for (const { seq, update } of tail) this.apply(seq, update);
    this.changed();
  }

  /** Apply the next update; false (and nothing changes) for any other seq. */
  apply(seq: number, update: SessionUpdate): boolean {
    if (!this.started || seq !== this.lastSeq + 1) return false;
    if (this.firstSeq === 0) this.firstSeq = seq;
    this.lastSeq = seq;
    this.seqs.push(seq);
    this.fold(seq, update);
    this.changed();
    return true;
  }

  /** Put an older page (ending just before `firstSeq`) in front. */
  prepend(page: UpdateAt[]): void {
    if (page.length === 0) return;
    const older = new Transcript();
    older.start(page.filter(({ seq }) => seq < this.firstSeq));
    this.entries = [...older.entries, ...this.entries];
    this.seqs.unshift(...older.seqs);
    this.firstSeq = older.firstSeq || this.firstSeq;
    for (const [id, tool] of older.tools) if (!this.tools.has(id)) this.tools.set(id, tool);
    if (this.plan.length === 0) this.plan = older.plan;
    this.usage ??= older.usage;
    this.changed();
  }

  /** The state and open prompts a subscription's result reports. */
  setSummary(summary: SessionSummary, pending: PermissionRequest[]): void {
    this.summary = summary;
    this.state = summary.state;
    this.disconnected = summary.disconnected ?? false;
    this.endReason = summary.endReason ?? undefined;
    for (const request of pending) this.pending.set(request.promptId, request);
    this.changed();
  }

  private fold(seq: number, update: SessionUpdate): void {
    if (update.updateType !== "agent-thought-chunk") this.thinking = undefined;
    switch (update.updateType) {
      case "user-message":
        this.streaming = undefined;
        this.entries.push({ kind: "user", seq, text: update.text });
        break;
      case "agent-message-chunk":
        if (!this.streaming) {
          this.streaming = { kind: "agent", seq, text: "", done: false };
          this.entries.push(this.streaming);
        }
        this.streaming.text += update.text;
        break;
      case "agent-message":
        if (this.streaming) {
          this.streaming.text = update.text;
          this.streaming.done = true;
          this.streaming = undefined;
        } else {
          this.entries.push({ kind: "agent", seq, text: update.text, done: true });
        }
        break;
      case "agent-thought-chunk":
        if (!this.thinking) {
          this.thinking = { kind: "thought", seq, text: "" };
          this.entries.push(this.thinking);
        }
        this.thinking.text += update.text;
        break;
      case "streaming-state":
        if (!update.streaming && this.streaming) {
          this.streaming.done = true;
          this.streaming = undefined;
        }
        break;
      case "tool-call": {
        const tool: ToolState = { ...update };
        this.tools.set(update.toolCallId, tool);
        this.entries.push({ kind: "tool", seq, tool });
        break;
      }
      case "tool-call-update": {
        const tool = this.tools.get(update.toolCallId);
        if (!tool) {
          this.entries.push({ kind: "note", seq, text: `update of an unknown tool call ${update.toolCallId}` });
          break;
        }
        if (update.title != null) tool.title = update.title;
        if (update.kind != null) tool.kind = update.kind;
        if (update.status != null) tool.status = update.status;
        if (update.content != null) tool.content = update.content;
        if (update.rawInput != null) tool.rawInput = update.rawInput as ToolState["rawInput"];
        if (update.rawOutput != null) tool.rawOutput = update.rawOutput;
        // A changed object makes the entry render again.
        this.replaceTool(tool);
        break;
      }
      case "permission-request": {
        const { updateType: _, ...request } = update;
        const entry = { kind: "permission" as const, seq, request };
        this.permissions.set(request.promptId, entry);
        this.pending.set(request.promptId, request);
        this.entries.push(entry);
        break;
      }
      case "permission-resolved": {
        this.pending.delete(update.promptId);
        const entry = this.permissions.get(update.promptId);
        const outcome = update.outcome === "selected" ? optionName(entry?.request, update.optionId) : "cancelled";
        if (entry) entry.outcome = outcome;
        break;
      }
      case "state-change":
        this.state = update.state;
        this.disconnected = update.disconnected ?? false;
        if (update.reason) {
          this.endReason = update.reason;
          this.entries.push({ kind: "note", seq, text: `session ended: ${update.reason}` });
        }
        break;
      case "step-committed":
        this.streaming = undefined;
        if (update.stopReason !== "end-turn") {
          this.entries.push({ kind: "note", seq, text: `turn stopped: ${update.stopReason}` });
        }
        break;
      case "token-usage":
        this.usage = { ...this.usage, ...definedOnly(update) };
        break;
      case "system-status":
        this.foldStatus(seq, update);
        break;
      case "attention":
        if (update.reason !== "permission-pending") {
          this.entries.push({ kind: "note", seq, text: update.message });
        }
        break;
    }
  }

  private foldStatus(seq: number, update: Extract<SessionUpdate, { updateType: "system-status" }>): void {
    switch (update.status) {
      case "plan":
        this.plan = update.entries;
        break;
      case "mode":
        this.mode = update.modeId;
        break;
      case "config":
        this.config = update.options;
        break;
      case "notice":
        this.entries.push({ kind: "note", seq, text: update.message });
        break;
      default:
        break;
    }
  }

  private replaceTool(tool: ToolState): void {
    const fresh = { ...tool };
    this.tools.set(tool.toolCallId, fresh);
    const index = this.entries.findLastIndex((e) => e.kind === "tool" && e.tool.toolCallId === tool.toolCallId);
    const entry = this.entries[index];
    if (entry?.kind === "tool") this.entries[index] = { ...entry, tool: fresh };
  }
}

function optionName(request: PermissionRequest | undefined, optionId: string): string {
  return request?.options.find((o) => o.optionId === optionId)?.name ?? optionId;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v != null)) as Partial<T>;
}
