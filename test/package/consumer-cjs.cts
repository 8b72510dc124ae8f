// Type-checked as a CommonJS consumer: resolves the "require" types of the exports map.
import { createSessionAuth, MemoryRevocationStore, type SessionInfo } from 'express-revocable-jwt';

const auth = createSessionAuth({ secret: 'x'.repeat(32), store: new MemoryRevocationStore() });
export const sub = (req: Parameters<typeof auth.getAuth>[0]): SessionInfo['sub'] | undefined => auth.getAuth(req)?.sub;
