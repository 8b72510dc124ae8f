// Waiting for a condition in integration tests: polls until it holds, or fails after a bound.
import type request from 'supertest';

/** Resolves once `check()` is true; rejects with "not recovered" after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not recovered within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The error code of a JSON error response. */
export const errorCodeOf = (res: request.Response) => (res.body as { error?: { code?: string } }).error?.code;
