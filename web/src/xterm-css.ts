// xterm.js's stylesheet, bundled as text with the terminal page and added
// once, so pages without a terminal never load it.
import css from "@xterm/xterm/css/xterm.css";

let installed = false;

export function install(): void {
  if (installed) return;
  installed = true;
  const style = document.createElement("style");
  style.textContent = css;
  document.head.append(style);
}
