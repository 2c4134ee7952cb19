// Two daemons in one list: the second is paired by code; when it stops it
// shows disconnected and its rows go; when it is back, they return.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Daemon, browser, loggedIn, screenshot } from "./harness.mjs";

const home = await Daemon.start();
const other = await Daemon.start();
const chromium = await browser();
after(async () => {
  await chromium.close();
  await home.remove();
  await other.remove();
});

test("sessions of two daemons side by side, one going away and coming back", async () => {
  home.directory();
  other.directory();
  const here = home.vpd("run", "--detach", "burst 3");
  const there = other.vpd("run", "--detach", "burst 3");
  const page = await loggedIn(chromium, home);
  await page.locator(`tr[data-session='${here}']`).waitFor();

  await page.click("a[href='#/daemons']");
  await page.fill("input[name=address]", other.url);
  await page.fill("input[name=code]", other.vpd("open", "--code"));
  await page.click("form.pair button[type=submit]");
  await page.waitForSelector("tr[data-daemon] .daemon-pill.online >> nth=1");
  await screenshot(page, "daemons");

  await page.click("a[href='#/']");
  await page.locator(`tr[data-session='${there}']`).waitFor();
  await page.locator(`tr[data-session='${here}']`).waitFor();
  await screenshot(page, "two-daemons");
  const otherId = await page.locator(`tr[data-session='${there}']`).getAttribute("data-daemon");

  await other.stop();
  await page.waitForSelector(`.daemon-pill[data-daemon='${otherId}']:has-text('disconnected')`);
  await page.locator(`tr[data-session='${there}']`).waitFor({ state: "detached" });
  assert.equal(await page.locator(`tr[data-session='${here}']`).count(), 1, "the other daemon's rows stay");
  await screenshot(page, "one-daemon-disconnected");

  await other.boot();
  await page.locator(`tr[data-session='${there}']`).waitFor({ timeout: 15_000 });
  await page.waitForSelector(`.daemon-pill[data-daemon='${otherId}']:has-text('online')`);

  // A reload keeps the pairing: the token stays in this browser.
  await page.reload();
  await page.locator(`tr[data-session='${there}']`).waitFor();
});
