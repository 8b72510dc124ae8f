// A deadline on a call whose answer may never come (a store, a feed read, a setup step): the one implementation.

/**
 * Settles like `pending`, or rejects with `onTimeout()` once `timeoutMs` passed without an answer; a late
 * answer is ignored (and a late rejection handled). `pending` may be any thenable (a query builder, another
 * promise library); a throw from its `then` is a rejection.
 */
export function withDeadline<T>(pending: PromiseLike<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
  });
  const answer = Promise.resolve().then(() => pending);
  answer.catch(() => undefined);
  return Promise.race([answer, deadline]).finally(() => clearTimeout(timer));
}

/** True for a value with a callable `then`: what `await` would wait for. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
