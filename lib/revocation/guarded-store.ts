// A store wrapped so that every call has a deadline, every failure is a `revocation_unavailable` error, and
// an outage is logged once.
import type { Logger } from '../config/logger.js';
import { ConfigError, MESSAGE_PREFIX } from '../errors/config-error.js';
import { SessionAuthError } from '../errors/session-auth-error.js';
import type { RevocationStore, SessionRecord } from '../stores/revocation-store.js';

export type GuardedStore = ReturnType<typeof createGuardedStore>;

/**
 * Store methods may return a value, a native Promise or any thenable (a query builder, another promise
 * library): each is bounded by `timeoutMs`, and a throw, a rejection or a timeout becomes the same error.
 */
export function createGuardedStore(store: RevocationStore, timeoutMs: number, logger: Logger) {
  let failing = false;

  function failed(operation: string, cause: unknown): never {
    // A programmer error (e.g. a store option that maps ids wrongly) is no outage: it surfaces as it is.
    if (cause instanceof ConfigError) throw cause;
    if (!failing) {
      failing = true;
      const reason = cause instanceof Error ? cause.message : String(cause);
      logger.warn(
        `${MESSAGE_PREFIX}: revocation store ${operation} failed (${reason}); protected routes answer 503 until it recovers.`,
      );
    }
    throw new SessionAuthError('revocation_unavailable', { cause });
  }

  function succeeded<T>(value: T): T {
    if (failing) {
      failing = false;
      logger.warn(`${MESSAGE_PREFIX}: revocation store answers again; service resumed.`);
    }
    return value;
  }

  async function call<T>(operation: string, run: () => T | PromiseLike<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = run();
      if (!isThenable(pending)) return succeeded(pending);
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      return succeeded(await Promise.race([Promise.resolve(pending), deadline]));
    } catch (cause) {
      return failed(operation, cause);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  return {
    getState: (sub: string, sessionId: string, signedInAtMs: number) =>
      call('read', () => store.getState(sub, sessionId, signedInAtMs)),
    revokeUser: (sub: string, at: Date, relevantUntil: Date) =>
      call('write', () => store.revokeUser(sub, at, relevantUntil)),
    revokeSession: (sessionId: string, sub: string, expiresAt: Date) =>
      call('write', () => store.revokeSession(sessionId, sub, expiresAt)),
    /** True when the store keeps a device registry. */
    hasRegistry: store.listSessions !== undefined,
    registerSession: (record: SessionRecord) => call('write', () => store.registerSession?.(record)),
    touchSession: (sessionId: string, sub: string, at: Date) =>
      call('write', () => store.touchSession?.(sessionId, sub, at)),
    listSessions: (sub: string) => call('read', async () => (await store.listSessions?.(sub)) ?? []),
  };
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
