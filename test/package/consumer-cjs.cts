// Type-checked as a CommonJS consumer: resolves the "require" types of the exports map.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS form is what this file tests
import revocable = require('express-revocable-jwt');

const auth = revocable.createSessionAuth({ secret: 'x'.repeat(32), store: new revocable.MemoryRevocationStore() });
const sub = (req: Parameters<typeof auth.getAuth>[0]): revocable.SessionInfo['sub'] | undefined =>
  auth.getAuth(req)?.sub;
export = { sub };
