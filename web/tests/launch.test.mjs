// Launch a demo session from the form and watch its reply stream in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loggedIn, screenshot, setUp } from "./harness.mjs";

const { daemon, chromium } = await setUp();

test("a session launched from the form streams into its page", async () => {
  daemon.directory();
  const page = await loggedIn(chromium, daemon);
  await screenshot(page, "sessions-empty");
  await page.click("a[href='#/launch']");
  await page.waitForSelector("select[name=profile] option[value='agent:demo']", { state: "attached" });
  await page.selectOption("select[name=profile]", "agent:demo");
  await page.fill("textarea[name=prompt]", "stream 30 15");
  await screenshot(page, "launch-form");
  await page.click("form.launch button[type=submit]");

  await page.waitForURL(/#\/session\//);
  const message = page.locator(".entry.agent").first();
  // Seen while it streams: the entry is there before its last chunk.
  await page.waitForSelector(".entry.agent.streaming");
  const partial = ((await message.textContent()) ?? "").trim();
  await page.waitForSelector(".entry.agent:not(.streaming)", { timeout: 20_000 });
  const whole = ((await message.textContent()) ?? "").trim();
  assert.ok(partial.length < whole.length, `it grew while streaming (${partial.length} then ${whole.length} characters)`);
  assert.equal(whole.length, 30 * 16, "30 chunks of 16 digits each");
  await page.waitForSelector(".session-head [data-state=idle]");
  await screenshot(page, "session-streamed");

  await page.click("a[href='#/']");
  const row = page.locator("table.sessions tbody tr");
  await row.first().waitFor();
  assert.equal(await row.count(), 1);
  assert.match((await row.first().textContent()) ?? "", /demo.*stream 30 15.*idle/);
  await screenshot(page, "sessions");
});
