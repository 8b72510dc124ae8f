// Gathers concurrent lookups into batches, each sent only after all of its lookups arrived.
import { withDeadline } from '../core/deadline.js';

export interface BatcherOptions {
  /** Most lookups in one batch. */
  maxBatch: number;
  /** Most batches under way at once; later lookups wait for the next free slot. */
  maxInFlight: number;
  /** Most lookups waiting; past it a lookup fails at once (the caller fails closed) instead of piling up. */
  maxQueued: number;
  /**
   * A batch that has not answered by then fails and frees its slot (a late answer is ignored), and a lookup
   * that waited that long in the queue fails without being sent: a hung database never jams the batcher.
   */
  timeoutMs: number;
}

interface Pending<K, V> {
  key: K;
  queuedAt: number;
  resolve: (value: V) => void;
  reject: (error: unknown) => void;
}

/**
 * Returns `lookup(key)`. Lookups made in the same turn of the event loop (in the same I/O callback when no
 * batch is under way and the last one was a lone lookup), or while every batch slot is busy, are answered together by one `run(keys)` call (which
 * returns the values in the order of `keys`). A lookup never joins a batch that was already sent, so every
 * answer comes from a read issued after the lookup was made: batching saves round trips without ever serving
 * state older than the request.
 */
export function createLookupBatcher<K, V>(
  run: (keys: K[]) => Promise<V[]>,
  options: BatcherOptions,
): (key: K) => Promise<V> {
  const queue: Pending<K, V>[] = [];
  let inFlight = 0;
  let scheduled = false;
  /** Size of the last batch sent: 1 means requests come one at a time. */
  let lastBatchSize = 1;

  function schedule(): void {
    if (scheduled || inFlight >= options.maxInFlight || queue.length === 0) return;
    scheduled = true;
    // Nothing under way and the last batch was a lone lookup (one request at a time: low load): the batch goes
    // out at the end of this turn, with every lookup made in it, instead of a whole event-loop turn later.
    // Otherwise wait for the turn's other I/O callbacks, whose lookups then share the batch.
    if (inFlight === 0 && lastBatchSize <= 1) queueMicrotask(flush);
    else setImmediate(flush);
  }

  function flush(): void {
    scheduled = false;
    const stale = Date.now() - options.timeoutMs;
    while (queue.length > 0 && (queue[0] as Pending<K, V>).queuedAt <= stale) {
      queue.shift()?.reject(new Error(`no database slot within ${options.timeoutMs} ms`));
    }
    while (inFlight < options.maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch);
      if (inFlight === 0) lastBatchSize = batch.length;
      inFlight++;
      void send(batch);
    }
  }

  async function send(batch: Pending<K, V>[]): Promise<void> {
    const ms = options.timeoutMs;
    try {
      const noAnswer = () => new Error(`no answer from the database within ${ms} ms`);
      const values = await withDeadline(run(batch.map((p) => p.key)), ms, noAnswer);
      if (values.length !== batch.length)
        throw new Error(`batch lookup returned ${values.length} answers for ${batch.length} keys`);
      batch.forEach((p, i) => p.resolve(values[i] as V));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      inFlight--;
      schedule();
    }
  }

  return (key) =>
    new Promise<V>((resolve, reject) => {
      if (queue.length >= options.maxQueued) {
        reject(new Error(`${queue.length} lookups are already waiting for the database`));
        return;
      }
      queue.push({ key, queuedAt: Date.now(), resolve, reject });
      schedule();
    });
}
