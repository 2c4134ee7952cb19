// What the browser tests share: a real vpd daemon in a temp home on a free
// loopback port (the SDK's test daemon), a login link from `vpd open
// --print`, and headless Debian Chromium driven by playwright-core.
// Everything is removed after.
import { spawn } from "node:child_process";
import { createServer, connect } from "node:net";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after } from "node:test";
import { chromium } from "playwright-core";
import { Daemon, relay, START_TIMEOUT_MS } from "../../sdk/ts/tests/daemon.mjs";

export { Daemon, VPD, relay } from "../../sdk/ts/tests/daemon.mjs";

const ROOT = resolve(import.meta.dirname, "../..");
export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
export const OUTPUT = process.env.WEB_TEST_OUTPUT ?? join(ROOT, "target/web-tests");

/** Headless Chromium with the flags this machine needs (playwright gives
 * it a fresh, temporary profile of its own). */
export async function browser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A logged-in page of `daemon`'s UI, in a context of its own (or
 * `options.context`), reached directly or through `options.via` (a relay). */
export async function loggedIn(browserInstance, daemon, options = {}) {
  const ctx = options.context ?? (await browserInstance.newContext({ viewport: { width: 1280, height: 800 } }));
  const page = await ctx.newPage();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  const link = daemon.loginUrl();
  await page.goto(options.via ? link.replace(daemon.url, options.via.url) : link);
  await page.waitForSelector("header.top");
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: false });
}

/** Debian's nats-server on free loopback ports, with its WebSocket listener
 * (what browsers reach) and tracing on: `log()` holds every message it
 * carried, payloads included. */
export async function natsServer() {
  // A port found free can be taken by another process before nats-server
  // binds it: try fresh ones a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNats();
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}

async function startNats() {
  const dir = mkdtempSync(join(tmpdir(), "vpd-nats-"));
  const [port, wsPort] = await freePorts(2);
  const config = join(dir, "nats.conf");
  writeFileSync(config, `websocket {\n  listen: "127.0.0.1:${wsPort}"\n  no_tls: true\n}\n`);
  const program = existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";
  const child = spawn(program, ["-c", config, "-a", "127.0.0.1", "-p", String(port), "-V", "-l", join(dir, "nats.log")], {
    stdio: "ignore",
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (const each of [port, wsPort]) {
    while (!(await listening(each))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        rmSync(dir, { recursive: true, force: true });
        throw new Error("nats-server did not start (is it installed?)");
      }
      await sleep(20);
    }
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    log: () => readFileSync(join(dir, "nats.log"), "utf8"),
    async remove() {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `count` distinct free ports (all held while they are read). */
async function freePorts(count) {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise((done, fail) => {
      const server = createServer();
      server.on("error", fail);
      server.listen(0, "127.0.0.1", () => done(server));
    })),
  );
  const ports = servers.map((server) => server.address().port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

function listening(port) {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.on("error", () => done(false));
  });
}

/** What most test files start with: a daemon, a browser and (with
 * `relay: true`) a relay to cut; all of it removed after the file's tests. */
export async function setUp(options = {}) {
  const daemon = await Daemon.start();
  const chromium = await browser();
  const network = options.relay ? await relay(daemon) : undefined;
  after(async () => {
    await chromium.close();
    await network?.close();
    await daemon.remove();
  });
  return { daemon, chromium, network };
}
