// A real vpd daemon for tests: its own temp home, a free loopback port,
// the scripted demo agent; and a TCP proxy to it whose connections a test
// can cut, as a network would. The web UI's browser tests use these too.
import { spawn, execFileSync } from "node:child_process";
import { createServer, connect } from "node:net";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const ROOT = resolve(import.meta.dirname, "../../..");
export const VPD = process.env.VPD_BIN ? resolve(process.env.VPD_BIN) : join(ROOT, "target/debug/vpd");
export const START_TIMEOUT_MS = 15_000;

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

  /** The owner's token (the data home's `token` file). */
  get token() {
    return readFileSync(join(this.home, "token"), "utf8").trim();
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

