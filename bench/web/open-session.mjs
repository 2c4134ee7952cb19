// Time from navigation to the last message of a session being visible in
// headless Chromium: a 100,000-update session against a 100-update one,
// measured in the same run. Both are made with `vpd import` from a
// generated log of realistic turns (a prompt, thoughts, a tool call and
// its result, a streamed reply, usage).
//
// Run: cargo build --release --bin vpd && VPD_BIN=target/release/vpd node bench/web/open-session.mjs [RUNS]
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Daemon, browser } from "../../web/tests/harness.mjs";
import { exportOf } from "../../web/tests/fixtures.mjs";

const RUNS = Number(process.argv[2] ?? 5);
const SIZES = [100, 100_000];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const daemon = await Daemon.start();
const chromium = await browser();
try {
  const directoryId = daemon.directory();
  const sessions = [];
  for (const size of SIZES) {
    const { text, updates } = exportOf(size, directoryId, daemon.work);
    const file = join(daemon.root, `bench-${size}.jsonl`);
    writeFileSync(file, text);
    const sessionId = daemon.vpd("import", file, "--dir", daemon.work).split(/\s+/).find((w) => w.startsWith("ses_"));
    sessions.push({ size, updates, sessionId });
  }
  const context = await chromium.newContext({ viewport: { width: 1280, height: 800 } });
  const login = await context.newPage();
  await login.goto(daemon.loginUrl());
  const daemonId = await login.evaluate(async () => (await (await fetch("/api/info")).json()).daemonId);
  await login.close();

  const results = {};
  for (const { size, updates, sessionId } of sessions) {
    const times = [];
    for (let run = 0; run < RUNS + 1; run += 1) {
      const page = await context.newPage();
      await page.goto(`${daemon.url}/#/session/${daemonId}/${sessionId}`, { waitUntil: "commit" });
      // Milliseconds since navigation began, when the last reply is on screen.
      const shownAt = await page.waitForFunction(() => {
        const entries = document.querySelectorAll(".transcript .entry.agent");
        const last = entries[entries.length - 1];
        const box = last?.getBoundingClientRect();
        const visible = box && box.bottom <= innerHeight && box.top >= 0;
        return last?.textContent?.includes("THE LAST MESSAGE") && visible ? performance.now() : 0;
      }, undefined, { polling: "raf", timeout: 60_000 });
      const ms = await shownAt.jsonValue();
      if (run > 0) times.push(ms); // the first run warms the daemon's caches
      await page.close();
    }
    results[size] = { updates, median: median(times), min: Math.min(...times), max: Math.max(...times) };
  }
  console.log(`open a session, navigation to last message visible (headless Chromium, median of ${RUNS}):`);
  for (const size of SIZES) {
    const r = results[size];
    console.log(`  ${String(r.updates).padStart(7)} updates: ${r.median.toFixed(0).padStart(5)} ms  (min ${r.min.toFixed(0)}, max ${r.max.toFixed(0)})`);
  }
  const ratio = results[SIZES[1]].median / results[SIZES[0]].median;
  console.log(`  ratio ${SIZES[1]} / ${SIZES[0]}: ${ratio.toFixed(2)}x`);
} finally {
  await chromium.close();
  await daemon.remove();
}
