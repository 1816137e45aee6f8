import * as React from "react";

export interface Polled<T> {
  /** The last successful answer (kept while a later request fails). */
  data: T | undefined;
  /** The last request's error, cleared by the next success. */
  error: unknown;
  /** Asks again now (after an action), without waiting for the next tick. */
  refresh(): void;
}

/**
 * Calls `load` now and then every `intervalMs` after the previous answer, while the tab is visible
 * (a hidden tab stops asking; showing it asks at once). A new `key` (search, page) restarts at once
 * and drops answers to older keys, so a slow answer never overwrites a newer one.
 */
export function usePolling<T>(
  load: (signal: AbortSignal) => Promise<T>,
  key: string,
  intervalMs: number,
): Polled<T> {
  const [data, setData] = React.useState<T>();
  const [error, setError] = React.useState<unknown>();
  const [tick, setTick] = React.useState(0);
  const loadRef = React.useRef(load);
  loadRef.current = load;

  React.useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    const poll = async () => {
      timer = undefined;
      if (document.visibilityState === "hidden") return; // resumed by the visibilitychange listener
      running = true;
      try {
        const next = await loadRef.current(controller.signal);
        if (controller.signal.aborted) return;
        setData(next);
        setError(undefined);
      } catch (caught) {
        if (controller.signal.aborted) return;
        setError(caught);
      } finally {
        running = false;
      }
      timer = setTimeout(poll, intervalMs);
    };
    const onVisibility = () => {
      if (document.visibilityState !== "visible" || running) return;
      clearTimeout(timer);
      void poll();
    };
    document.addEventListener("visibilitychange", onVisibility);
    void poll();
    return () => {
      controller.abort();
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [key, intervalMs, tick]);

  const refresh = React.useCallback(() => setTick((n) => n + 1), []);
  return { data, error, refresh };
}
