// Starting a batch reader worker (tun-reader.worker.ts, udp-reader.worker.ts): both answer a start message with
// "ready", then report full ring buffers, errors and their stop; the owner says what each message means.

/**
 * Whether this process is the `bun build --compile` executable: its main module is then under the
 * bundle root ("/$bunfs/root/..." here, "B:/~BUN/root/..." on Windows).
 */
export function isCompiledExecutable(main: string): boolean {
  return main.startsWith("/$bunfs/") || main.includes("/~BUN/");
}

const prestarted = new Map<string, { worker: Worker; error: string | null }>();

/**
 * Starts the worker at `specifier` now, for the next startReaderWorker of it to take. A Worker's start (a
 * new JavaScript VM that loads its module, ~10 ms here) then overlaps with what the process does meanwhile
 * (the --background tunnel process: waiting for its request; the IKE exchanges). Until taken, it waits
 * for its start message and does not keep the process alive.
 */
export function prestartReaderWorker(specifier: string): void {
  if (prestarted.has(specifier)) return;
  let worker: Worker;
  try {
    worker = new Worker(specifier);
  } catch {
    return; // startReaderWorker tries again and reports it
  }
  const entry = { worker, error: null as string | null };
  worker.onerror = (ev: ErrorEvent) => {
    entry.error = ev.message;
  };
  worker.unref();
  prestarted.set(specifier, entry);
}

/**
 * A worker whose loop has stopped ("stopped": it no longer touches its fds, and it has let go of its
 * buffers), kept for the next startReaderWorker of `specifier` instead of a new one: its VM is up and its
 * loop compiled. In the roam service every tunnel used to start two new workers (~10 ms of CPU each, and
 * the JIT compiling their loops again during the next connect). Terminated when one is already waiting.
 */
export function recycleReaderWorker(specifier: string, worker: Worker): void {
  if (prestarted.has(specifier)) {
    worker.terminate();
    return;
  }
  worker.onmessage = null;
  const entry = { worker, error: null as string | null };
  worker.onerror = (ev: ErrorEvent) => {
    entry.error = ev.message;
  };
  worker.unref();
  prestarted.set(specifier, entry);
}

/**
 * The shared ring (batch buffers and their state words) of a reader that answered "stopped", kept for
 * the next reader of the same shape. In the roam service each tunnel allocated ~12 MiB of rings anew
 * (the UDP reader's 4 x 2 MiB, the TUN reader's 8 x 0.5 MiB); the garbage collection those allocations
 * set off landed in a later connect, 2-11 ms at a time (2026-11-23). Nothing touches a kept ring: its
 * reader has stopped and its owner has let go of it.
 */
export class SpareRing<R extends { readonly buffers: SharedArrayBuffer[]; readonly state: SharedArrayBuffer }> {
  private ring: R | null = null;

  keep(ring: R): void {
    this.ring = ring;
  }

  /** The kept ring if it has `count` buffers of `bytes` octets, every buffer FREE (0) again; else null. */
  take(count: number, bytes: number): R | null {
    const ring = this.ring;
    this.ring = null;
    if (ring === null || ring.buffers.length !== count || ring.buffers.some((b) => b.byteLength !== bytes)) return null;
    new Int32Array(ring.state).fill(0);
    return ring;
  }
}

/** A prestarted (or recycled) worker for `specifier` that has not failed, or a new one. */
function takeWorker(specifier: string): Worker {
  const pre = prestarted.get(specifier);
  prestarted.delete(specifier);
  if (pre !== undefined && pre.error === null) {
    pre.worker.ref();
    return pre.worker;
  }
  pre?.worker.terminate();
  return new Worker(specifier);
}

/** Spawns the reader worker at `specifier`, hands every message to `onMessage`, and posts `start`. `ready`
 *  resolves after the "ready" message has been handled; if the worker itself fails, `ready` rejects with
 *  `failure(message)`, which is then also given to `report`. */
export function startReaderWorker<M extends { type: string }>(
  specifier: string,
  start: unknown,
  onMessage: (msg: M) => void,
  failure: (message: string) => Error,
  report: (err: Error) => void,
): { worker: Worker | null; ready: Promise<void> } {
  let worker: Worker | null = null;
  // Inside the executor, as each owner had it: a Worker that cannot be made rejects `ready` (worker stays null).
  const ready = new Promise<void>((resolve, reject) => {
    const w = takeWorker(specifier);
    worker = w;
    w.onmessage = (ev: MessageEvent<M>) => {
      onMessage(ev.data);
      if (ev.data.type === "ready") resolve();
    };
    w.onerror = (ev: ErrorEvent) => {
      const err = failure(ev.message);
      reject(err);
      report(err);
    };
    w.postMessage(start);
  });
  return { worker, ready };
}
