// Small formatting helpers shared by the pages.
import type { SessionSummary } from "viewport-client";

export function age(ms: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.round(hours / 24)}d`;
}

export function money(amount?: number | null, currency = "USD"): string {
  if (amount == null) return "";
  return currency === "USD" ? `$${amount.toFixed(amount < 1 ? 4 : 2)}` : `${amount.toFixed(4)} ${currency}`;
}

export function sessionTitle(session: SessionSummary): string {
  return session.name ?? session.title ?? session.command?.join(" ") ?? session.agent;
}

/** The directory's last two parts: enough to tell projects apart. */
export function shortPath(path: string): string {
  const parts = path.split("/").filter(Boolean);
  return parts.length <= 2 ? path : `…/${parts.slice(-2).join("/")}`;
}
