// Type-checked as an ES module consumer: resolves the "import" types of the exports map.
import { createSessionAuth, MemoryRevocationStore, type SessionAuthErrorCode } from 'express-revocable-jwt';
import { z } from 'zod';

const auth = createSessionAuth({
  secret: 'x'.repeat(32),
  store: new MemoryRevocationStore(),
  claims: z.object({ role: z.enum(['user', 'admin']) }),
});
export const role = (req: Parameters<typeof auth.getAuth>[0]): 'user' | 'admin' | undefined => auth.getAuth(req)?.role;
export const code: SessionAuthErrorCode = 'session_revoked';
