// Compile-time tests of the public types, checked by `npm run typecheck` (a type error fails CI).
import type { Request } from 'express';
import { z } from 'zod';
import {
  createSessionAuth,
  MemoryRevocationStore,
  type AuthInfo,
  type RevocationStore,
  type SessionAuthErrorCode,
  type SessionAuthOptions,
} from '../../lib/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_value?: T): void {
  // compile-time only
}

const store = new MemoryRevocationStore();
const typed = createSessionAuth({
  secret: 'x'.repeat(32),
  store,
  claims: z.object({ role: z.enum(['user', 'admin']) }),
});
type Session = ReturnType<typeof typed.sessionOf>;

// sessionOf (and getAuth) are typed with the claims schema, and carry the session info; sessionOf is never
// undefined, so a route behind requireAuth reads it without `!` or `?.`.
expectType<Equal<Session['role'], 'user' | 'admin'>>();
expectType<Equal<NonNullable<ReturnType<typeof typed.getAuth>>['role'], 'user' | 'admin'>>();
expectType<Equal<Session['sessionId'], string>>();
expectType<Equal<Session['issuedAt'], Date>>();
export const readSub = (req: Request): string => typed.sessionOf(req).sub;
// The package does not claim a type for `req.auth` (with createRevocation it is express-jwt's own payload).
export const noGlobalAuth = (req: Request): unknown =>
  // @ts-expect-error Express's Request has no `auth` of this package's making
  req.auth;

// login takes sub plus exactly the schema's claims.
void typed.login({} as never, { sub: 'alice', role: 'admin' });
// @ts-expect-error role must be one of the enum values
void typed.login({} as never, { sub: 'alice', role: 'root' });
// @ts-expect-error sub is required
void typed.login({} as never, { role: 'user' });

// Without a claims schema, login takes sub only.
const plain = createSessionAuth({ secret: 'x'.repeat(32), store });
void plain.login({} as never, { sub: 'alice' });
expectType<Equal<NonNullable<ReturnType<typeof plain.getAuth>>['sub'], string>>();

// Options: the store is required, expiresIn takes seconds or a duration.
// @ts-expect-error store is required
export const noStore: SessionAuthOptions = { secret: 'x'.repeat(32) };
export const options: SessionAuthOptions = {
  secret: 'x'.repeat(32),
  store,
  expiresIn: '15m',
  cookie: { sameSite: 'strict' },
};
// @ts-expect-error sameSite is one of strict, lax, none
export const badSameSite: SessionAuthOptions = { secret: 'x'.repeat(32), store, cookie: { sameSite: 'sometimes' } };

// A store may be synchronous or asynchronous.
export const syncStore: RevocationStore = {
  getState: () => ({ lastLogoutAt: null, sessionRevoked: false }),
  revokeUser: () => undefined,
  revokeSession: () => Promise.resolve(),
};

expectType<
  Equal<
    SessionAuthErrorCode,
    | 'credentials_required'
    | 'invalid_token'
    | 'token_expired'
    | 'invalid_claims'
    | 'session_revoked'
    | 'logged_out_everywhere'
    | 'reauthentication_required'
    | 'claims_stale'
    | 'revocation_unavailable'
    | 'claims_unavailable'
    | 'csrf_rejected'
    | 'too_many_cookies'
  >
>();
expectType<Equal<AuthInfo<{ role: 'admin' }>['role'], 'admin'>>();
