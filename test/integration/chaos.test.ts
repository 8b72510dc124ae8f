// Chaos under load: keep-alive traffic on `requireAuth` of two instances sharing a FerretDB of the test's own,
// while the database is paused (SIGSTOP), resumed, then killed and restarted. No request hangs, protected
// requests get 503 revocation_unavailable while it is down, service is back within 2 s of the database
// answering, memory stays bounded, and a session logged out is never accepted again, before, during or after.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { MongoClient } from 'mongodb';
import { createSessionAuth } from '../../lib/index.js';
import { MongoRevocationStore } from '../../lib/mongodb.js';
import { startFerretDb, type FerretDbServer } from '../ferretdb/launcher.js';
import { testSecret } from '../support/apps.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { errorCodeOf, listenLocally, loadClient, sessionCookieOf } from '../support/listen.js';

setFlagsFromString('--expose-gc');
/** A full garbage collection, for heap figures that mean retained memory. */
const collectGarbage = runInNewContext('gc') as () => void;

const STORE_TIMEOUT_MS = 1500;
const WORKERS = 24;
const RECOVERY_MS = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  start: number;
  end: number;
  status: number;
  code: string | undefined;
  kind: 'live' | 'revoked';
  instance: number;
}

const { call, close: closeAgent } = loadClient();

describe('chaos under load: FerretDB paused, resumed, killed and restarted', () => {
  let db: FerretDbServer;
  const clients: MongoClient[] = [];
  const servers: Server[] = [];
  const ports: number[] = [];

  before(async () => {
    db = await startFerretDb();
    const secret = testSecret();
    for (let i = 0; i < 2; i++) {
      // A short heartbeat: the driver notices a restarted server quickly (the app's choice, not the library's).
      const client = new MongoClient(db.uri, {
        serverSelectionTimeoutMS: 1000,
        connectTimeoutMS: 1000,
        heartbeatFrequencyMS: 500,
      });
      await client.connect();
      clients.push(client);
      const store = new MongoRevocationStore({ client, dbName: 'chaos', logger: { warn: () => {} } });
      const auth = createSessionAuth({
        secret,
        store,
        cookie: { secure: false },
        storeTimeoutMs: STORE_TIMEOUT_MS,
        logger: { warn: () => {} },
      });
      await auth.ready;
      const app = express();
      app.use(auth.authenticate);
      app.post('/login', (_req, res, next) => {
        auth.login(res, { sub: `user${i}` }).then(() => res.end(), next);
      });
      app.get('/me', auth.requireAuth, (_req, res) => res.end());
      app.post('/logout', auth.logout);
      const { server, port } = await listenLocally(app);
      servers.push(server);
      ports.push(port);
    }
  });
  after(async () => {
    closeAgent();
    for (const s of servers) s.close();
    for (const c of clients) await c.close().catch(() => undefined);
    await db.stop();
    await rm(db.dataDir, { recursive: true, force: true });
  });

  test(
    'no hang, 503 while down, recovery within 2 s, bounded memory, no accepted-after-logout',
    { timeout: 120_000 },
    async () => {
      const login = async (i: number) => sessionCookieOf((await call(ports[i] as number, 'POST', '/login')).setCookie);
      const live = [await login(0), await login(1)];
      const revoked = [await login(0), await login(1)];
      for (const [i, c] of revoked.entries())
        assert.equal((await call(ports[i] as number, 'POST', '/logout', c)).status, 204);

      const samples: Sample[] = [];
      let running = true;
      const worker = async (w: number) => {
        for (let n = 0; running; n++) {
          const instance = (w + n) % 2;
          const kind = n % 4 === 3 ? 'revoked' : 'live';
          const cookie = (kind === 'live' ? live : revoked)[(w + n) % 2] as string;
          const start = performance.now();
          const res = await call(ports[instance] as number, 'GET', '/me', cookie);
          samples.push({
            start,
            end: performance.now(),
            status: res.status,
            code: errorCodeOf(res.body),
            kind,
            instance,
          });
        }
      };
      const memory: { at: number; rss: number; heap: number }[] = [];
      // Heap after a full collection: what the outage keeps alive (queued checks, pending requests), not the
      // garbage a busy process has not collected yet.
      const sampler = setInterval(() => {
        collectGarbage();
        const m = process.memoryUsage();
        memory.push({ at: performance.now(), rss: m.rss, heap: m.heapUsed });
      }, 500);
      const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
      const pingDb = async () => {
        const c = new MongoClient(db.uri, { serverSelectionTimeoutMS: 250, connectTimeoutMS: 250 });
        try {
          await c.db('admin').command({ ping: 1 });
          return true;
        } catch {
          return false;
        } finally {
          await c.close();
        }
      };
      /** ms from `since` until both instances answer a live session with 200. */
      const recovery = async (since: number) => {
        for (;;) {
          const ok = await Promise.all(
            ports.map(async (p, i) => (await call(p, 'GET', '/me', live[i])).status === 200),
          );
          if (ok.every(Boolean)) return performance.now() - since;
          if (performance.now() - since > 30_000) return Infinity;
          await sleep(20);
        }
      };

      await sleep(2000);
      const pausedAt = performance.now();
      db.process.kill('SIGSTOP');
      await sleep(4000);
      const resumedAt = performance.now();
      db.process.kill('SIGCONT');
      const afterPause = await recovery(resumedAt);
      await sleep(1000);

      const killedAt = performance.now();
      const { port, dataDir } = db;
      db.process.kill('SIGKILL');
      await db.stop({ keepData: true });
      await sleep(3000);
      const restartAt = performance.now();
      db = await startFerretDb({ port, dataDir });
      while (!(await pingDb())) await sleep(20);
      const answeringAt = performance.now();
      const afterRestart = await recovery(answeringAt);
      // A logout after the restart is seen at once by the other instance.
      const late = await login(0);
      assert.equal((await call(ports[0] as number, 'POST', '/logout', late)).status, 204);
      assert.equal((await call(ports[1] as number, 'GET', '/me', late)).status, 401);
      await sleep(1000);
      running = false;
      await Promise.all(workers);
      clearInterval(sampler);

      const slowest = Math.max(...samples.map((s) => s.end - s.start));
      const accepted = samples.filter((s) => s.kind === 'revoked' && s.status === 200).length;
      const downWindows = [
        [pausedAt + 100, resumedAt],
        [killedAt + 100, restartAt],
      ] as const;
      const whileDown = samples.filter((s) => downWindows.some(([a, b]) => s.start >= a && s.end <= b));
      const wrong = whileDown.filter((s) => s.status !== 503 || s.code !== 'revocation_unavailable');
      const others = samples.filter(
        (s) => s.status !== 200 && s.status !== 503 && !(s.kind === 'revoked' && s.status === 401),
      );
      const duringOutage = memory.filter((m) => m.at >= pausedAt && m.at <= answeringAt);
      const base = memory.filter((m) => m.at < pausedAt);
      const heapGrowth = Math.max(...duringOutage.map((m) => m.heap)) - Math.min(...base.map((m) => m.heap));
      console.log(
        `# chaos: ${samples.length} requests, slowest ${slowest.toFixed(0)} ms, ${whileDown.length} while down (all 503: ${wrong.length === 0}), ` +
          `recovery ${afterPause.toFixed(0)} ms after SIGCONT, ${afterRestart.toFixed(0)} ms after the restarted server answered, ` +
          `heap growth during the outage ${(heapGrowth / 1e6).toFixed(1)} MB, accepted after logout: ${accepted}`,
      );
      assert.equal(accepted, 0, 'a logged-out session was accepted');
      assert.ok(slowest <= STORE_TIMEOUT_MS + 500, `a request took ${slowest.toFixed(0)} ms`);
      assert.ok(whileDown.length > 20, 'traffic went on while the database was down');
      assert.deepEqual(wrong.slice(0, 3), [], 'every protected request while down is 503 revocation_unavailable');
      assert.deepEqual(others.slice(0, 3), [], 'only 200, 503 and (for the logged-out session) 401');
      assert.ok(afterPause <= RECOVERY_MS, `recovered ${afterPause.toFixed(0)} ms after SIGCONT`);
      assert.ok(afterRestart <= RECOVERY_MS, `recovered ${afterRestart.toFixed(0)} ms after the restart`);
      assert.ok(heapGrowth < 64e6, `heap grew ${(heapGrowth / 1e6).toFixed(1)} MB during the outage`);
    },
  );
});
