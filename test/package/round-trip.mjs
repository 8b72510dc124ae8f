// Shared by both consumers: login, protected request, logout, replay of the old cookie, over real HTTP.
import { randomBytes } from 'node:crypto';

export async function runRoundTrip({ express, createSessionAuth, MemoryRevocationStore, SessionAuthError }) {
  const store = new MemoryRevocationStore();
  const auth = createSessionAuth({ secret: randomBytes(32), store, cookie: { secure: false }, logger: { warn() {} } });
  const app = express();
  app.use(auth.authenticate);
  app.post('/login', async (_req, res) => {
    await auth.login(res, { sub: 'alice' });
    res.end();
  });
  app.get('/me', auth.requireAuth, (req, res) => res.json({ sub: req.auth.sub }));
  app.post('/logout', auth.logout);
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const login = await fetch(`${base}/login`, { method: 'POST' });
    const cookie = login.headers.get('set-cookie').split(';')[0];
    const me = await (await fetch(`${base}/me`, { headers: { cookie } })).json();
    const logout = await fetch(`${base}/logout`, { method: 'POST', headers: { cookie } });
    const replay = await fetch(`${base}/me`, { headers: { cookie } });
    return {
      me,
      logoutStatus: logout.status,
      replayStatus: replay.status,
      replayCode: (await replay.json()).error.code,
      errorClass: typeof SessionAuthError === 'function' && new SessionAuthError('invalid_token').status === 401,
    };
  } finally {
    server.close();
    store.close();
  }
}
