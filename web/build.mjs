// Bundles the UI into DIR (default: dist): index.html, then hashed,
// minified scripts and styles under assets/, each with a .gz twin that the
// daemon serves to browsers that accept gzip. crates/daemon/build.rs runs
// this during `cargo build`.
import { mkdir, rm, writeFile, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

/** Stylesheets matching `filter` are imported as text (the terminal page
 * adds xterm's when it loads), not bundled into the page's stylesheet. */
function cssAsText(filter) {
  return {
    name: "css-as-text",
    setup(build) {
      build.onLoad({ filter }, async (args) => ({
        contents: await readFile(args.path, "utf8"),
        loader: "text",
      }));
    },
  };
}

const outDir = resolve(process.argv[2] ?? "dist");
await rm(outDir, { recursive: true, force: true });
await mkdir(join(outDir, "assets"), { recursive: true });

const result = await esbuild.build({
  entryPoints: ["src/main.tsx"],
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2023",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  jsx: "automatic",
  jsxImportSource: "preact",
  loader: { ".css": "css" },
  plugins: [cssAsText(/@xterm\/xterm\/css\/xterm\.css$/)],
  // The SDK from source: the UI is built with it, not with a published copy.
  alias: { "viewport-client": resolve(import.meta.dirname, "../sdk/ts/src/index.ts") },
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  outdir: join(outDir, "assets"),
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs);
const [mainScript] = outputs.find(([, out]) => out.entryPoint === "src/main.tsx");
const mainStyle = outputs.find(([path]) => path.endsWith(".css"))?.[0];
const url = (path) => "/" + relative(outDir, resolve(path));

const html = (await readFile("src/index.html", "utf8"))
  .replace("%SCRIPT%", url(mainScript))
  .replace("%STYLE%", mainStyle ? url(mainStyle) : "");
await writeFile(join(outDir, "index.html"), html);

for (const path of [...outputs.map(([path]) => path), join(outDir, "index.html")]) {
  const bytes = await readFile(path);
  if (bytes.length > 1024) await writeFile(`${path}.gz`, gzipSync(bytes, { level: 9 }));
}

const total = outputs.reduce((sum, [, out]) => sum + out.bytes, 0);
console.error(`web UI built: ${outputs.length} files, ${(total / 1024).toFixed(0)} KiB`);
