// The control center: jobs with their exit codes, a terminal's log and its
// download, artifacts, and the config a directory resolves to with its
// conflicts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loggedIn, screenshot, setUp } from "./harness.mjs";

const { daemon, chromium } = await setUp();
daemon.directory();

async function until(check, what) {
  for (let i = 0; i < 200; i += 1) {
    if (check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("jobs show their status and exit code", async () => {
  daemon.vpd("job", "exit 3", "--name", "fails");
  daemon.vpd("job", "echo fine", "--name", "passes");
  await until(() => !/queued|running/.test(daemon.vpd("jobs")), "the jobs to finish");
  const page = await loggedIn(chromium, daemon);
  await page.click("a[href='#/control']");
  const failed = page.locator("table.jobs tr:has-text('fails')");
  await failed.locator("text=failed").waitFor();
  assert.equal((await failed.locator("td").nth(3).textContent())?.trim(), "3");
  await page.locator("table.jobs tr:has-text('passes') >> text=completed").waitFor();
  await screenshot(page, "control-jobs");
});

test("a terminal's log follows, and downloads as console.log", async () => {
  daemon.vpd("new", "printer", "-d", "--cmd", "for i in $(seq 1 5); do echo printed-$i; done; sleep 30");
  const page = await loggedIn(chromium, daemon);
  await page.goto(`${daemon.url}/#/control/logs`);
  await page.locator("pre.log:has-text('printed-5')").waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("button:has-text('Download console.log')")]);
  const saved = readFileSync(await download.path(), "utf8");
  assert.match(saved, /printed-1[\s\S]*printed-5/);
  await screenshot(page, "control-logs");
});

test("artifacts are listed and download", async () => {
  const sessionId = daemon.vpd("new", "maker", "-d", "--cmd", 'echo "the report" > "$VIEWPORT_ARTIFACTS/report.txt"; sleep 30');
  await until(() => daemon.vpd("artifacts", "maker").includes("report.txt"), "the artifact");
  const page = await loggedIn(chromium, daemon);
  await page.goto(`${daemon.url}/#/control/artifacts`);
  await page.selectOption("select[aria-label='terminal session']", sessionId);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("tr:has-text('report.txt') button")]);
  assert.equal(readFileSync(await download.path(), "utf8"), "the report\n");
  await screenshot(page, "control-artifacts");
});

test("the config viewer shows where each profile comes from, and conflicts", async () => {
  mkdirSync(join(daemon.work, ".viewport"), { recursive: true });
  writeFileSync(join(daemon.work, ".viewport/config.yaml"), "agentProfiles:\n  fast:\n    agent: demo\n    model: quick\n");
  writeFileSync(join(daemon.home, "config.yaml"), "agentProfiles:\n  fast:\n    agent: demo\n    model: slow\n  careful:\n    agent: demo\n");
  const page = await loggedIn(chromium, daemon);
  await page.goto(`${daemon.url}/#/control/config`);
  const conflict = page.locator(".conflict");
  await conflict.waitFor();
  assert.match((await conflict.textContent()) ?? "", /agentProfiles fast is defined differently in .*config\.yaml:2 and .*config\.yaml:2/);
  await page.locator("td:has-text('careful')").waitFor();
  await screenshot(page, "control-config");

  // The launch form offers the profile that is not in conflict, and not the one that is.
  await page.goto(`${daemon.url}/#/launch`);
  await page.waitForSelector("option[value='profile:careful']", { state: "attached" });
  assert.equal(await page.locator("option[value='profile:fast']").isDisabled(), true);
});
