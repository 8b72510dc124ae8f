// MemoryRevocationStore: revocation state in this process only; bounded, expired entries dropped.
import { z } from 'zod';
import { validateOptions } from '../config/validate-options.js';
import type { RevocationState, RevocationStore } from './revocation-store.js';

const memoryStoreOptionsSchema = z
  .object({
    /** Most entries (users plus sessions) kept at once; a revocation past it fails (fail closed). Defaults to 1,000,000. */
    maxEntries: z.number().int().positive().default(1_000_000),
    /** How often expired entries are swept out, in ms. Defaults to 60,000. */
    sweepIntervalMs: z.number().int().positive().default(60_000),
  })
  .strict();

export type MemoryRevocationStoreOptions = z.input<typeof memoryStoreOptionsSchema>;

/**
 * For a single process (development, tests, one-instance apps). State is lost on restart and is not shared
 * between instances: use MongoRevocationStore as soon as more than one process serves the app.
 */
export class MemoryRevocationStore implements RevocationStore {
  readonly #users = new Map<string, { at: number; until: number }>();
  readonly #sessions = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #timer: NodeJS.Timeout;

  constructor(options?: MemoryRevocationStoreOptions) {
    const config = validateOptions(memoryStoreOptionsSchema, options, 'MemoryRevocationStore');
    this.#maxEntries = config.maxEntries;
    this.#timer = setInterval(() => this.sweep(), config.sweepIntervalMs);
    this.#timer.unref();
  }

  getState(sub: string, sessionId: string): RevocationState {
    const now = Date.now();
    const user = this.#users.get(sub);
    const sessionExpiry = this.#sessions.get(sessionId);
    return {
      lastLogoutAt: user === undefined ? null : new Date(user.at),
      sessionRevoked: sessionExpiry !== undefined && sessionExpiry > now,
    };
  }

  revokeUser(sub: string, at: Date, relevantUntil: Date): void {
    const existing = this.#users.get(sub);
    if (existing === undefined) this.#reserve();
    this.#users.set(sub, {
      at: Math.max(existing?.at ?? 0, at.getTime()),
      until: Math.max(existing?.until ?? 0, relevantUntil.getTime()),
    });
  }

  revokeSession(sessionId: string, _sub: string, expiresAt: Date): void {
    const existing = this.#sessions.get(sessionId);
    if (existing === undefined) this.#reserve();
    this.#sessions.set(sessionId, Math.max(existing ?? 0, expiresAt.getTime()));
  }

  /** Number of entries held (users with a watermark plus revoked sessions). */
  get size(): number {
    return this.#users.size + this.#sessions.size;
  }

  /** Drops entries that no longer matter. Runs on a timer; callable directly. */
  sweep(now = Date.now()): void {
    for (const [sub, entry] of this.#users) if (entry.until <= now) this.#users.delete(sub);
    for (const [sid, expiresAt] of this.#sessions) if (expiresAt <= now) this.#sessions.delete(sid);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #reserve(): void {
    if (this.size < this.#maxEntries) return;
    this.sweep();
    if (this.size >= this.#maxEntries) {
      throw new Error(
        `MemoryRevocationStore is full (${this.#maxEntries} entries); raise \`maxEntries\` or use MongoRevocationStore.`,
      );
    }
  }
}
