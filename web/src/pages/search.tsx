// Full-text search over every daemon's sessions; a hit opens the session
// at the update that matched.
import { useEffect, useState } from "preact/hooks";
import { daemons, type Daemon } from "../daemons";
import { age } from "../format";
import type { SearchHit, SearchResult } from "viewport-client";
import { sessionHref } from "../router";

type Found = { daemon: Daemon; hit: SearchHit };

export function SearchPage({ initial }: { initial: string }) {
  const [query, setQuery] = useState(initial);
  const [found, setFound] = useState<Found[] | undefined>();
  const [errors, setErrors] = useState<string[]>([]);

  async function search(text: string): Promise<void> {
    if (!text.trim()) return;
    const online = daemons.list.filter((d) => d.conn.state === "online");
    const results = await Promise.allSettled(
      online.map(async (daemon) => {
        const result = await daemon.conn.request<SearchResult>({ type: "search", query: text, limit: 50 });
        return result.hits.map((hit) => ({ daemon, hit }));
      }),
    );
    setFound(results.flatMap((r) => (r.status === "fulfilled" ? r.value : [])).sort((a, b) => b.hit.at - a.hit.at));
    setErrors(results.flatMap((r, i) => (r.status === "rejected" ? [`${online[i]?.name}: ${(r.reason as Error).message}`] : [])));
  }

  useEffect(() => void search(initial), [initial]);

  return (
    <section class="search">
      <form class="filters" onSubmit={(e) => { e.preventDefault(); location.hash = `#/search?q=${encodeURIComponent(query)}`; void search(query); }}>
        <input type="search" name="q" placeholder="Words in messages, tool calls, plans…" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      {errors.map((e) => <p class="error">{e}</p>)}
      {found?.length === 0 && <p class="muted">Nothing matches.</p>}
      <ol class="hits">
        {found?.map(({ daemon, hit }) => (
          <li>
            <a href={sessionHref(daemon.id, hit.sessionId, hit.seq)} class="hit" data-seq={hit.seq}>
              <span class="muted">{daemon.name} · {hit.sessionId} · #{hit.seq} · {hit.kind} · {age(hit.at)} ago</span>
              <span class="snippet">{highlight(hit.snippet)}</span>
            </a>
          </li>
        ))}
      </ol>
    </section>
  );
}

/** The daemon marks matches with « and »; show them bold, safely. */
function highlight(snippet: string) {
  return snippet.split(/(«[^»]*»)/).map((part) => (part.startsWith("«") ? <mark>{part.slice(1, -1)}</mark> : part));
}
