// A store's one-time set-up steps (indexes, server checks, markers): run once, run again after a failure.

/** `run` on the first call, its promise shared by later calls; after a failure the next call runs it again. */
export function onceUntilFailure<T>(run: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= run().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}
