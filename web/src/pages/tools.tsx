// A tool call as the transcript shows it: status, kind and title, then
// (when opened) where it works, its input and what it produced.
import type { ToolContent } from "viewport-client";
import type { ToolState } from "../transcript";

export function ToolView({ seq, tool }: { seq: number; tool: ToolState }) {
  const input = tool.rawInput && Object.keys(tool.rawInput).length > 0 ? JSON.stringify(tool.rawInput, null, 2) : "";
  return (
    <details class={`entry tool ${tool.status}`} data-seq={seq} data-tool={tool.toolCallId} open={tool.status === "failed"}>
      <summary>
        <span class={`tool-status ${tool.status}`}>{tool.status}</span> <span class="tool-kind">{tool.kind}</span> {tool.title}
      </summary>
      {tool.locations?.map((l) => <div class="muted">{l.path}{l.line ? `:${l.line}` : ""}</div>)}
      {input && <pre class="input">{input}</pre>}
      {tool.content?.map((content) => <ToolContentView content={content} />)}
    </details>
  );
}

function ToolContentView({ content }: { content: ToolContent }) {
  switch (content.type) {
    case "text":
      return <pre class="output">{content.text}</pre>;
    case "diff":
      return <Diff path={content.path} oldText={content.oldText ?? ""} newText={content.newText} />;
    case "file":
      return <pre class="output" title={`${content.name}, ${content.size} bytes`}>{content.preview}{"\n"}… ({content.size} bytes kept as {content.name})</pre>;
    case "terminal":
      return <div class="muted">terminal {content.terminalId}</div>;
    case "other":
      return <div class="muted">{content.description}</div>;
  }
}

/** Lines only in the old text, then lines only in the new one, in order. */
function Diff({ path, oldText, newText }: { path: string; oldText: string; newText: string }) {
  const before = oldText ? oldText.split("\n") : [];
  const after = newText.split("\n");
  const kept = new Set(before.filter((line) => after.includes(line)));
  return (
    <div class="diff">
      <div class="diff-path">{path}</div>
      <pre>
        {before.filter((line) => !kept.has(line)).map((line) => <div class="del">- {line}</div>)}
        {after.map((line) => <div class={kept.has(line) ? "ctx" : "add"}>{kept.has(line) ? "  " : "+ "}{line}</div>)}
      </pre>
    </div>
  );
}
