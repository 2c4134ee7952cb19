// The browser viewport: the app shell, login and the page router.
import "./style.css";
import { render } from "preact";
import { useState } from "preact/hooks";
import { daemons } from "./daemons";
import { useObservable } from "./observable";
import { useRoute } from "./router";
import { attention } from "./attention";
import { SessionsPage } from "./pages/sessions";
import { SessionPage } from "./pages/session";
import { LaunchPage } from "./pages/launch";
import { SearchPage } from "./pages/search";
import { ControlPage } from "./pages/control";
import { DaemonsPage } from "./pages/daemons";

function App() {
  useObservable(daemons, attention);
  const route = useRoute();
  if (daemons.login.state === "checking") return <p class="center muted">Connecting…</p>;
  if (daemons.login.state === "logged-out") return <LoginPage error={daemons.login.error} />;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">viewport</a>
        <nav>
          <a href="#/" class={route.page === "sessions" ? "on" : ""}>Sessions</a>
          <a href="#/launch" class={route.page === "launch" ? "on" : ""}>Launch</a>
          <a href="#/search" class={route.page === "search" ? "on" : ""}>Search</a>
          <a href="#/control" class={route.page === "control" ? "on" : ""}>Control</a>
          <a href="#/daemons" class={route.page === "daemons" ? "on" : ""}>Daemons</a>
        </nav>
        <span class="spacer" />
        {attention.count > 0 && (
          <span class="badge attention" title="sessions waiting for you">{attention.count} waiting</span>
        )}
        {attention.canAsk && (
          <button class="small" onClick={() => attention.askPermission()}>Notify me</button>
        )}
      </header>
      <main>
        {route.page === "sessions" && <SessionsPage />}
        {route.page === "session" && <SessionPage key={`${route.daemonId}/${route.sessionId}`} route={route} />}
        {route.page === "launch" && <LaunchPage />}
        {route.page === "search" && <SearchPage initial={route.query} />}
        {route.page === "control" && <ControlPage tab={route.tab} />}
        {route.page === "daemons" && <DaemonsPage />}
      </main>
    </>
  );
}

function LoginPage({ error }: { error?: string }) {
  const [code, setCode] = useState("");
  return (
    <form
      class="login card"
      onSubmit={(event) => {
        event.preventDefault();
        void daemons.logIn(code);
      }}
    >
      <h1>viewport</h1>
      <p>
        Run <code>vpd open</code> on this machine: it opens a login link. On a machine without a browser,{" "}
        <code>vpd open --code</code> prints a code to type here.
      </p>
      <label>
        Login code
        <input name="code" value={code} onInput={(e) => setCode(e.currentTarget.value)} autoComplete="one-time-code" placeholder="ABCD-EFGH" />
      </label>
      <button type="submit" disabled={!code.trim()}>Log in</button>
      {error && <p class="error">{error}</p>}
    </form>
  );
}

void daemons.start();
attention.start();
render(<App />, document.getElementById("app")!);
