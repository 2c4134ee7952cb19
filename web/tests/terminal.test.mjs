// A terminal session in xterm.js: typing reaches the program, its output
// comes back, and a second tab sees the same screen.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loggedIn, screenshot, setUp } from "./harness.mjs";

const { daemon, chromium, network } = await setUp({ relay: true });

const screenText = (page) => page.locator(".xterm-rows").innerText();

test("typing into a terminal session and reading its output", async () => {
  daemon.directory();
  const sessionId = daemon.vpd("new", "shell", "-d", "--cmd", "PS1='$ ' bash --norc --noprofile -i");
  const page = await loggedIn(chromium, daemon, { via: network });
  await page.locator(`tr[data-session='${sessionId}'] a`).click();
  await page.waitForSelector(".xterm-rows");
  await page.waitForFunction(() => document.querySelector(".xterm-rows")?.textContent?.includes("$"));
  await page.locator(".xterm-helper-textarea").focus();
  await page.keyboard.type("echo answer-$((6*7))");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector(".xterm-rows")?.textContent?.includes("answer-42"));
  await screenshot(page, "terminal");

  const second = await page.context().newPage();
  await second.goto(page.url());
  await second.waitForFunction(() => document.querySelector(".xterm-rows")?.textContent?.includes("answer-42"));
  assert.match(await screenText(second), /echo answer-\$\(\(6\*7\)\)\s+answer-42/);

  // Typing in the second tab shows in the first: one program, one screen.
  await second.locator(".xterm-helper-textarea").focus();
  await second.keyboard.type("echo from-tab-$((1+1))");
  await second.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector(".xterm-rows")?.textContent?.includes("from-tab-2"));
  await screenshot(second, "terminal-second-tab");
});

test("a terminal resumes from its byte offset after a network loss", async () => {
  const sessionId = daemon.vpd("new", "counter", "-d", "--cmd", "PS1='$ ' bash --norc --noprofile -i");
  const page = await loggedIn(chromium, daemon, { via: network });
  await page.locator(`tr[data-session='${sessionId}'] a`).click();
  await page.waitForFunction(() => document.querySelector(".xterm-rows")?.textContent?.includes("$"));
  network.cut();
  await page.waitForSelector(".reconnecting");
  // Output written while the browser is away arrives once it is back.
  daemon.vpd("send", "counter", "for i in 1 2 3; do echo line-$i-of-3; done");
  network.restore();
  await page.waitForSelector(".reconnecting", { state: "detached" });
  await page.waitForFunction(() => document.querySelector(".xterm-rows")?.textContent?.includes("line-3-of-3"));
  const text = await screenText(page);
  for (const line of ["line-1-of-3", "line-2-of-3", "line-3-of-3"]) {
    assert.equal(text.split(line).length - 1, 1, `${line} is shown once:\n${text}`);
  }
});
