// TypeScript types for the wire protocol, generated from schema/protocol.json
// (which crates/protocol generates): the SDK's and so the web UI's. `--check` fails when the checked-in file
// is stale instead of rewriting it.
import { readFile, writeFile } from "node:fs/promises";
import { compile } from "json-schema-to-typescript";

const schemaPath = new URL("../../../schema/protocol.json", import.meta.url);
const outPath = new URL("../src/protocol.gen.ts", import.meta.url);

// schemars puts a tag beside a `$ref` (`{"$ref": "#/$defs/ToolCall",
// "properties": {"updateType": …}}`); json-schema-to-typescript would drop
// the tag, so such a pair becomes an explicit intersection.
function splitRefSiblings(node) {
  if (Array.isArray(node)) return node.map(splitRefSiblings);
  if (node === null || typeof node !== "object") return node;
  const out = Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, splitRefSiblings(value)]),
  );
  if (out.$ref && out.properties) {
    const { $ref, description, ...rest } = out;
    return { description, allOf: [{ $ref }, rest] };
  }
  return out;
}

const schema = splitRefSiblings(
  JSON.parse(await readFile(schemaPath, "utf8")),
);
const generated = await compile(schema, "Protocol", {
  bannerComment:
    "// Generated from schema/protocol.json by `npm run types`. Do not edit.",
  unreachableDefinitions: true,
  additionalProperties: false,
  strictIndexSignatures: true,
  format: true,
});

if (process.argv.includes("--check")) {
  const current = await readFile(outPath, "utf8").catch(() => "");
  if (current !== generated) {
    console.error(
      "sdk/ts/src/protocol.gen.ts is stale: run `npm --prefix sdk/ts run types`",
    );
    process.exit(1);
  }
} else {
  await writeFile(outPath, generated);
}
