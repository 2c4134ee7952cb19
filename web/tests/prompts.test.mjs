// A permission prompt answered in one tab is resolved in every other tab;
// and the same works on a phone-sized screen, with a follow-up message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loggedIn, screenshot, setUp } from "./harness.mjs";

const { daemon, chromium } = await setUp();

function launchDetached(prompt) {
  daemon.directory();
  return daemon.vpd("run", "--detach", prompt);
}

test("answering in tab A resolves the prompt in tab B", async () => {
  const sessionId = launchDetached("ask");
  const tabA = await loggedIn(chromium, daemon);
  const tabB = await tabA.context().newPage();
  const address = `${daemon.url}/#/session/${await daemonId(tabA)}/${sessionId}`;
  await tabA.goto(address);
  await tabB.goto(address);
  for (const tab of [tabA, tabB]) await tab.waitForSelector(".prompt button:has-text('Allow')");
  await tabB.waitForFunction(() => document.title === "(1) viewport");
  await tabB.waitForSelector("header .badge.attention:has-text('1 waiting')");
  await screenshot(tabB, "prompt-waiting");

  await tabA.click(".prompt button:has-text('Allow')");
  for (const tab of [tabA, tabB]) {
    await tab.waitForSelector(".prompt", { state: "detached" });
    await tab.waitForSelector(".permission-line:has-text('→ Allow')");
    await tab.waitForFunction(() => document.title === "viewport");
  }
  await screenshot(tabB, "prompt-resolved-elsewhere");
});

test("on a phone: the list, the transcript, a prompt and a message", async () => {
  const sessionId = launchDetached("ask");
  const context = await chromium.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const phone = await loggedIn(chromium, daemon, { context });
  const row = phone.locator(`table.sessions tr[data-session='${sessionId}']`);
  await row.waitFor();
  assert.ok((await row.boundingBox()).width <= 390, "rows fit the screen");
  await screenshot(phone, "phone-sessions");
  await row.locator("a").click();
  await phone.waitForSelector(".prompt button:has-text('Reject')");
  await screenshot(phone, "phone-prompt");
  await phone.click(".prompt button:has-text('Reject')");
  await phone.waitForSelector(".permission-line:has-text('→ Reject')");
  await phone.waitForSelector(".session-head [data-state=idle]");
  await phone.fill(".prompt-box textarea", "hello from the phone");
  await phone.click(".prompt-box button[type=submit]");
  await phone.waitForSelector(".entry.user:has-text('hello from the phone')");
  await phone.waitForSelector(".entry.agent >> nth=-1");
  await screenshot(phone, "phone-session");
  const box = await phone.locator(".prompt-box").boundingBox();
  assert.ok(box.y + box.height <= 844, "the prompt box is on screen");
});

async function daemonId(page) {
  return page.evaluate(async () => (await (await fetch("/api/info")).json()).daemonId);
}

test("a browser notification when a session needs you, once allowed", async () => {
  const context = await chromium.newContext();
  await context.grantPermissions(["notifications"]);
  // Record notifications instead of showing them, and look away from the tab.
  await context.addInitScript(() => {
    window.shown = [];
    window.Notification = class {
      static permission = "granted";
      static requestPermission = async () => "granted";
      constructor(title, options) {
        window.shown.push({ title, body: options?.body });
      }
    };
    document.hasFocus = () => false;
  });
  const page = await loggedIn(chromium, daemon, { context });
  await page.waitForSelector("table.sessions");
  daemon.directory();
  daemon.vpd("run", "--detach", "ask");
  await page.waitForFunction(() => window.shown.some((n) => n.body === "needs your permission"));
  const shown = await page.evaluate(() => window.shown);
  assert.equal(shown.length, 1, JSON.stringify(shown));
  assert.match(shown[0].title, /work$/, "it says where the session runs");
});
