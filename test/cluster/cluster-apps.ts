// Two app instances on one Redis Cluster, one on node-redis `createCluster` and one on ioredis `Cluster`, as two
// processes of an app would be, listening on local ports: the failover and resharding tests' traffic targets.
import express from 'express';
import { createSessionAuth, isSessionAuthError, sendErrorJson } from '../../lib/index.js';
import { RedisRevocationStore, type RedisRevocationStoreOptions } from '../../lib/redis.js';
import { testSecret } from '../support/apps.js';
import { listenLocally } from '../support/listen.js';
import type { ClusterNode } from '../support/redis-cluster.js';
import { connectClusterDriver, DRIVERS, type TestRedisClient } from '../support/redis-clients.js';

/**
 * Routes: `POST /login?sub=` (signs in), `GET /me` (requireAuth), `POST /logout`, `POST /logout-all`. A failed
 * sign-in answers the library's JSON error, as its other routes do.
 */
export async function startClusterApps(
  nodes: ClusterNode[],
  storeOptions: Omit<RedisRevocationStoreOptions, 'client'>,
  storeTimeoutMs: number,
): Promise<{ ports: [number, number]; close: () => Promise<void> }> {
  const secret = testSecret();
  const clients: TestRedisClient[] = [];
  const closers: (() => Promise<void>)[] = [];
  const ports: number[] = [];
  for (const driver of DRIVERS) {
    const client = await connectClusterDriver(driver, nodes);
    clients.push(client);
    const store = new RedisRevocationStore({ client: client.client, logger: { warn: () => {} }, ...storeOptions });
    const auth = createSessionAuth({
      secret,
      store,
      cookie: { secure: false },
      storeTimeoutMs,
      logger: { warn: () => {} },
    });
    await auth.ready;
    const app = express();
    app.use(auth.authenticate);
    app.post('/login', (req, res, next) => {
      const sub = typeof req.query.sub === 'string' ? req.query.sub : 'nobody';
      auth.login(res, { sub }).then(() => res.end(), next);
    });
    app.get('/me', auth.requireAuth, (_req, res) => res.end());
    app.post('/logout', auth.logout);
    app.post('/logout-all', auth.logoutAll);
    app.use((error: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) =>
      isSessionAuthError(error) ? sendErrorJson(res, error) : next(error),
    );
    const { server, port } = await listenLocally(app);
    ports.push(port);
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  }
  return {
    ports: ports as [number, number],
    async close() {
      await Promise.all(closers.map((close) => close()));
      for (const client of clients) await client.close();
    },
  };
}
