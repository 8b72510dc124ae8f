// Waiting for a condition in integration tests: polls until it holds, or fails after a bound.

/** Resolves once `check()` is true; rejects with "not recovered" after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not recovered within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
