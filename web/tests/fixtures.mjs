// Generated session logs, for tests and benchmarks that need long
// sessions without waiting for an agent to produce them.

/** A JSONL export of about `updates` updates, ending in a known reply. */
export function exportOf(updates, directoryId, cwd) {
  const lines = [];
  let seq = 0;
  const push = (update) => lines.push(JSON.stringify({ seq: ++seq, update }));
  for (let turn = 1; seq < updates - 12; turn += 1) {
    push({ updateType: "user-message", text: `Turn ${turn}: look at module ${turn} and fix what fails.` });
    push({ updateType: "state-change", state: "active", disconnected: false });
    push({ updateType: "agent-thought-chunk", text: `The failing test in module ${turn} ` });
    push({ updateType: "agent-thought-chunk", text: "reads a stale fixture." });
    push({ updateType: "tool-call", toolCallId: `t${turn}`, title: `Read src/module_${turn}.rs`, kind: "read", status: "pending", rawInput: { path: `src/module_${turn}.rs` } });
    push({ updateType: "tool-call-update", toolCallId: `t${turn}`, status: "completed", content: [{ type: "text", text: `fn module_${turn}() -> u32 {\n    ${turn}\n}\n` }] });
    const words = `I fixed module ${turn}: the fixture now matches, and \`cargo test\` passes for it.`.split(" ");
    push({ updateType: "streaming-state", streaming: true });
    for (const word of words) push({ updateType: "agent-message-chunk", text: `${word} ` });
    push({ updateType: "agent-message", text: words.join(" ") + " " });
    push({ updateType: "streaming-state", streaming: false });
    push({ updateType: "token-usage", contextUsed: 1000 + turn, contextSize: 200000, cost: { amount: turn * 0.001, currency: "USD" } });
    push({ updateType: "step-committed", stopReason: "end-turn" });
    push({ updateType: "state-change", state: "idle", disconnected: false });
  }
  push({ updateType: "user-message", text: "One last thing." });
  push({ updateType: "agent-message", text: "THE LAST MESSAGE" });
  push({ updateType: "state-change", state: "idle", disconnected: false });
  const now = Date.now();
  const session = { sessionId: "ses_00000000000000000000000000000000", directoryId, kind: "acp", agent: "demo", cwd, title: "bench", state: "idle", disconnected: false, createdAt: now, updatedAt: now, lastSeq: seq, pendingPrompts: 0 };
  return { text: [JSON.stringify({ vpdExport: 1, session }), ...lines].join("\n") + "\n", updates: seq };
}

