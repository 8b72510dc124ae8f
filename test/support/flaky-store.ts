// A real MemoryRevocationStore behind a switch that makes it fail or hang, for fail-closed tests.
import { MemoryRevocationStore, type RevocationState, type RevocationStore } from '../../lib/index.js';

export type StoreMode = 'ok' | 'error' | 'hang';

export class FlakyStore implements RevocationStore {
  mode: StoreMode = 'ok';
  readonly inner = new MemoryRevocationStore();
  readonly #hanging: (() => void)[] = [];

  #gate(): Promise<void> {
    if (this.mode === 'error') return Promise.reject(new Error('connection refused (simulated)'));
    if (this.mode === 'hang') return new Promise((resolve) => this.#hanging.push(resolve));
    return Promise.resolve();
  }

  async getState(sub: string, sessionId: string): Promise<RevocationState> {
    await this.#gate();
    return this.inner.getState(sub, sessionId);
  }

  async revokeUser(sub: string, at: Date, relevantUntil: Date): Promise<void> {
    await this.#gate();
    this.inner.revokeUser(sub, at, relevantUntil);
  }

  async revokeSession(sessionId: string, sub: string, expiresAt: Date): Promise<void> {
    await this.#gate();
    this.inner.revokeSession(sessionId, sub, expiresAt);
  }

  /** Lets hung calls finish (late answers must not matter any more) and returns to normal. */
  recover(): void {
    this.mode = 'ok';
    for (const release of this.#hanging.splice(0)) release();
  }

  close(): void {
    this.recover();
    this.inner.close();
  }
}
