// Agent text is markdown: rendered with marked, then sanitized, because it
// comes from a model and from files the agent read.
import DOMPurify from "dompurify";
import { marked } from "marked";

const cache = new Map<string, string>();
const CACHE_LIMIT = 2000;

export function markdownHtml(text: string): string {
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const html = DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true, breaks: false }) as string);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, html);
  return html;
}
