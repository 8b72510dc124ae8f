// Type-checked as an ES module consumer: resolves the "import" types of the root and /testing entries.
import { describe, it } from 'node:test';
import {
  createSessionAuth,
  MemoryRevocationStore,
  type RevocationState,
  type RevocationStore,
  type SessionAuthErrorCode,
} from 'express-revocable-jwt';
import { runStoreConformance, type ConformanceSubject, type TestFunctions } from 'express-revocable-jwt/testing';
import { z } from 'zod';

const auth = createSessionAuth({
  secret: 'x'.repeat(32),
  store: new MemoryRevocationStore(),
  claims: z.object({ role: z.enum(['user', 'admin']) }),
});
export const role = (req: Parameters<typeof auth.getAuth>[0]): 'user' | 'admin' | undefined => auth.getAuth(req)?.role;
export const code: SessionAuthErrorCode = 'session_revoked';

class ListStore implements RevocationStore {
  readonly revoked: string[] = [];
  getState(_sub: string, sessionId: string): RevocationState {
    return { lastLogoutAt: null, sessionRevoked: this.revoked.includes(sessionId) };
  }
  revokeUser(): void {
    // watermarks are not kept: enough for a type check
  }
  async revokeSession(sessionId: string): Promise<void> {
    await Promise.resolve(this.revoked.push(sessionId));
  }
}
const subject: ConformanceSubject<ListStore> = {
  name: 'ListStore',
  createStore: () => new ListStore(),
  cleanup: (store) => void store.revoked.splice(0),
};
const nodeTest: TestFunctions = { describe, it };
export const registerSuite = (): void => runStoreConformance(subject, nodeTest);
// @ts-expect-error -- createStore must return a RevocationStore
export const registerBadSuite = (): void => runStoreConformance({ name: 'x', createStore: () => ({}) }, nodeTest);
