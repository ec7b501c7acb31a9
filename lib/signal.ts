/** A wake-up call between async loops: `wait` resolves on the next `notify` or after a timeout. */
export class Notifier {
  #wake: (() => void) | null = null;
  #pending = false;

  /** Wakes the waiter, or makes its next `wait` return at once. */
  notify(): void {
    if (this.#wake) {
      const wake = this.#wake;
      this.#wake = null;
      wake();
    } else {
      this.#pending = true;
    }
  }

  /** Waits for `notify`, at most `timeoutMs` (null: no timeout). */
  wait(timeoutMs: number | null): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
      if (timeoutMs !== null) {
        timer = setTimeout(() => {
          this.#wake = null;
          resolve();
        }, Math.max(0, timeoutMs));
      }
    });
  }
}

/** Sleeps `ms`, or less if `signal` aborts first (then resolves, never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
