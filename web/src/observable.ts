// A value holder that tells its watchers when it changed, and the hook that
// re-renders a component when it does.
import { useEffect, useReducer } from "preact/hooks";

export class Observable {
  private watchers = new Set<() => void>();
  private scheduled = false;

  watch(watcher: () => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** Tell watchers once, after the current task, however many changes came. */
  protected changed(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      for (const watcher of [...this.watchers]) watcher();
    });
  }
}

/** Anything that says when it changed: an `Observable`, or the SDK's `Connection`. */
export interface Watchable {
  watch(watcher: () => void): () => void;
}

export function useObservable(...observables: (Watchable | undefined)[]): void {
  const [, bump] = useReducer((n: number, _: void) => n + 1, 0);
  useEffect(() => {
    const rerender = () => bump();
    const stops = observables.map((o) => o?.watch(rerender));
    return () => stops.forEach((stop) => stop?.());
  }, observables);
}
