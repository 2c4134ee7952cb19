// Pages are addressed by the part after `#`, so every link works on reload
// and the daemon serves one page for all of them.
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "sessions" }
  | { page: "session"; daemonId: string; sessionId: string; seq?: number }
  | { page: "launch" }
  | { page: "search"; query: string }
  | { page: "control"; tab: string }
  | { page: "daemons" };

export function parseRoute(hash: string): Route {
  const [path = "", queryText = ""] = hash.replace(/^#/, "").split("?");
  const query = new URLSearchParams(queryText);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case "session":
      if (parts[1] && parts[2]) {
        const seq = Number(query.get("seq"));
        return { page: "session", daemonId: parts[1], sessionId: parts[2], seq: seq > 0 ? seq : undefined };
      }
      break;
    case "launch":
      return { page: "launch" };
    case "search":
      return { page: "search", query: query.get("q") ?? "" };
    case "control":
      return { page: "control", tab: parts[1] ?? "jobs" };
    case "daemons":
      return { page: "daemons" };
  }
  return { page: "sessions" };
}

export function sessionHref(daemonId: string, sessionId: string, seq?: number): string {
  return `#/session/${encodeURIComponent(daemonId)}/${encodeURIComponent(sessionId)}${seq ? `?seq=${seq}` : ""}`;
}

export function navigate(hash: string): void {
  location.hash = hash;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
