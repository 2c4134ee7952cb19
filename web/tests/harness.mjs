// What the browser tests share: a real vpd daemon in a temp home on a free
// loopback port, a login link from `vpd open --print`, and headless
// Debian Chromium driven by playwright-core. Everything is removed after.
import { spawn, execFileSync } from "node:child_process";
import { createServer, connect } from "node:net";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after } from "node:test";
import { chromium } from "playwright-core";

const ROOT = resolve(import.meta.dirname, "../..");
export const VPD = process.env.VPD_BIN ? resolve(process.env.VPD_BIN) : join(ROOT, "target/debug/vpd");
export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
export const OUTPUT = process.env.WEB_TEST_OUTPUT ?? join(ROOT, "target/web-tests");
const START_TIMEOUT_MS = 15_000;

/** A daemon of its own, in a temp home, listening on a free port. */
export class Daemon {
  constructor(root) {
    this.root = root ?? mkdtempSync(join(tmpdir(), "vpd-web-"));
    this.home = join(this.root, "home");
    this.work = join(this.root, "work");
    mkdirSync(this.work, { recursive: true });
    this.env = { ...process.env, VIEWPORT_HOME: this.home, NO_COLOR: "1" };
  }

  /** `config`: the text of its `~/.viewport/config.yaml`, if any. */
  static async start(config) {
    const daemon = new Daemon();
    if (config) {
      mkdirSync(daemon.home, { recursive: true, mode: 0o700 });
      writeFileSync(join(daemon.home, "config.yaml"), config);
    }
    await daemon.boot();
    return daemon;
  }

  /** Start (or start again, on the same port once it had one). */
  async boot() {
    const listen = this.address ?? "127.0.0.1:0";
    rmSync(join(this.home, "daemon.json"), { force: true });
    this.process = spawn(VPD, ["daemon", "--listen", listen, "--durability", "normal"], {
      env: this.env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.log = "";
    this.process.stderr.on("data", (chunk) => (this.log += chunk));
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!existsSync(join(this.home, "daemon.json"))) {
      if (this.process.exitCode !== null) throw new Error(`vpd daemon exited: ${this.log}`);
      if (Date.now() > deadline) throw new Error(`vpd daemon did not start: ${this.log}`);
      await sleep(20);
    }
    const info = JSON.parse(readFileSync(join(this.home, "daemon.json"), "utf8"));
    this.address = info.listen;
    this.url = `http://${info.listen}`;
  }

  /** `vpd ARGS…` against this daemon; its stdout. */
  vpd(...args) {
    return execFileSync(VPD, args, { env: this.env, cwd: this.work, encoding: "utf8" }).trim();
  }

  loginUrl() {
    return this.vpd("open", "--print");
  }

  directory() {
    return this.vpd("dir", "add", this.work);
  }

  async stop() {
    if (!this.process || this.process.exitCode !== null) return;
    const exited = new Promise((done) => this.process.once("exit", done));
    this.process.kill("SIGTERM");
    await Promise.race([exited, sleep(5000)]);
    this.process.kill("SIGKILL");
  }

  async remove() {
    await this.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}

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

/** A TCP relay to `daemon` on a free loopback port, whose connections the
 * test can cut (a network loss, as the browser sees it) and refuse. */
export async function relay(daemon) {
  const [host, port] = daemon.address.split(":");
  const sockets = new Set();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = connect(Number(port), host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    /** Cut every connection and refuse new ones until `restore`. */
    cut() {
      refusing = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      refusing = false;
    },
    close: () => new Promise((done) => { for (const s of sockets) s.destroy(); server.close(done); }),
  };
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
