// A long session opens on its tail; older updates page in as the reader
// scrolls up, each seq once. A search hit opens the session at its update.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loggedIn, screenshot, setUp } from "./harness.mjs";
import { exportOf } from "./fixtures.mjs";

const { daemon, chromium } = await setUp();

const directoryId = daemon.directory();
const { text } = exportOf(3000, directoryId, daemon.work);
const file = join(daemon.root, "long.jsonl");
writeFileSync(file, text);
const sessionId = daemon.vpd("import", file, "--dir", daemon.work).split(/\s+/).find((w) => w.startsWith("ses_"));
const updates = JSON.parse(daemon.vpd("ls", "--json")).find((s) => s.sessionId === sessionId).lastSeq;
const transcript = (page) =>
  page.locator(".transcript").evaluate((element) => ({
    first: Number(element.dataset.firstSeq),
    last: Number(element.dataset.lastSeq),
    applied: Number(element.dataset.applied),
  }));

test("a long session opens on its tail and pages older updates in", async () => {
  const page = await loggedIn(chromium, daemon);
  await page.locator(`tr[data-session='${sessionId}'] a`).click();
  await page.waitForSelector(".entry.agent:has-text('THE LAST MESSAGE')");
  const opened = await transcript(page);
  assert.equal(opened.last, updates);
  assert.ok(opened.first > 1, `only the tail at first (from #${opened.first})`);
  await screenshot(page, "long-session-tail");

  for (let page_ = 0; page_ < 20 && (await transcript(page)).first > 1; page_ += 1) {
    const before = (await transcript(page)).first;
    await page.locator(".transcript").evaluate((element) => element.scrollTo(0, 0));
    await page.waitForFunction((seq) => Number(document.querySelector(".transcript").dataset.firstSeq) < seq, before);
  }
  assert.deepEqual(await transcript(page), { first: 1, last: updates, applied: updates });
  await page.waitForSelector(".entry.user:has-text('Turn 1: look at module 1 ')");
});

test("a search hit opens the session at the update that matched", async () => {
  const page = await loggedIn(chromium, daemon);
  await page.click("a[href='#/search']");
  await page.fill("input[name=q]", "module 7 fixture");
  await page.click(".search button[type=submit]");
  const hit = page.locator(`.hit[href*='${sessionId}']`).first();
  await hit.waitFor();
  const seq = Number(await hit.getAttribute("data-seq"));
  await screenshot(page, "search");
  await hit.click();
  const jumped = page.locator(".entry.jumped");
  await jumped.waitFor();
  assert.ok(Number(await jumped.getAttribute("data-seq")) <= seq);
  assert.match((await jumped.textContent()) ?? "", /module 7/);
  await screenshot(page, "search-jump");
});
