// Calling the store with a deadline, judging a token against revocation state, and logging outages once.
import { SessionAuthError } from './errors.js';
import type { Awaitable, RevocationState, RevocationStore } from './store.js';
import type { Logger } from './validate-options.js';

/** Why a verified token is no longer accepted, or undefined when it still is. */
export function revocationReason(
  state: RevocationState,
  issuedAtMs: number,
): 'session_revoked' | 'logged_out_everywhere' | undefined {
  if (state.sessionRevoked) return 'session_revoked';
  // Inclusive: a token minted in the same millisecond as the logout-everywhere is rejected. logoutAll only
  // returns once the clock has moved past its watermark, so a login after it always gets a later iat_ms.
  if (state.lastLogoutAt !== null && issuedAtMs <= state.lastLogoutAt.getTime()) return 'logged_out_everywhere';
  return undefined;
}

/** Wraps a store so every call has a deadline and every failure becomes a `revocation_unavailable` error. */
export function createGuardedStore(store: RevocationStore, timeoutMs: number, logger: Logger) {
  let failing = false;

  function failed(operation: string, cause: unknown): never {
    if (!failing) {
      failing = true;
      const reason = cause instanceof Error ? cause.message : String(cause);
      logger.warn(
        `express-revocable-jwt: revocation store ${operation} failed (${reason}); protected routes answer 503 until it recovers.`,
      );
    }
    throw new SessionAuthError('revocation_unavailable', { cause });
  }

  function succeeded<T>(value: T): T {
    if (failing) {
      failing = false;
      logger.warn('express-revocable-jwt: revocation store answers again; service resumed.');
    }
    return value;
  }

  async function call<T>(operation: string, run: () => Awaitable<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = run();
      if (!(pending instanceof Promise)) return succeeded(pending);
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      return succeeded(await Promise.race([pending, deadline]));
    } catch (cause) {
      return failed(operation, cause);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  return {
    getState: (sub: string, sessionId: string, issuedAtMs: number) =>
      call('read', () => store.getState(sub, sessionId, issuedAtMs)),
    revokeUser: (sub: string, at: Date, relevantUntil: Date) =>
      call('write', () => store.revokeUser(sub, at, relevantUntil)),
    revokeSession: (sessionId: string, sub: string, expiresAt: Date) =>
      call('write', () => store.revokeSession(sessionId, sub, expiresAt)),
  };
}

/** Resolves once `Date.now()` is past `ms`, so anything stamped after this returns is strictly later. */
export async function waitForClockToPass(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setTimeout(resolve, 1));
}
