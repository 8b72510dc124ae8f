// `npm start`: configuration from the environment, a database (given, bundled, or in memory), the HTTP
// server, and a graceful shutdown on SIGINT / SIGTERM.
//
//   PORT             port to listen on (default 3000)
//   HOST             address to listen on (default 127.0.0.1; use 0.0.0.0 in a container)
//   MONGODB_URI      MongoDB to use; when unset the bundled FerretDB test server runs in a temp folder
//   REDIS_URL        Redis for the revocation state (RedisRevocationStore); users stay in MongoDB
//   EXAMPLE_DB_NAME  database name (default example_app)
//   SESSION_SECRET   HS256 secret, at least 32 bytes (default: random, so sessions end on restart)
//   COOKIE_SECURE    "true" in production behind https; default "false" so http://localhost works
//   TRUST_PROXY      Express "trust proxy" setting behind a TLS-terminating proxy (e.g. 1 or loopback),
//                    so the CSRF check sees the https origin the browser used; unset by default
//   DEMO_PASSWORD    password of the demo users alice and bob when first created
//   SESSION_EXPIRES_IN   token lifetime, i.e. the idle timeout, e.g. "15m" (default 1h)
//   SESSION_RENEW_AFTER  renew a token older than this on its next request, or "off" (default: half of the above)
//   SESSION_MAX_AGE      absolute session lifetime from sign-in, renewals included (default 7d)
//   FRESH_AUTH_MAX_AGE   how recent the last password entry must be to change the password (default 5m)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MongoClient } from 'mongodb';
import { createClient } from 'redis';
import { ensureFerretDbBinary, startFerretDb, type FerretDbServer } from '../test/ferretdb/launcher.js';
import { createExampleApp, type ExampleApp, type Storage } from './app.js';

const DEFAULT_DEMO_PASSWORD = 'correct horse battery staple';

const log = (line: string) => console.log(line);

function fail(problem: string): never {
  console.error(`Cannot start the example app: ${problem}`);
  process.exit(1);
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds of a duration variable such as "30s", "15m", "1h", "7d" or "90" (seconds); undefined when unset. */
function readDuration(name: string): number | undefined {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  const match = /^(\d{1,9})\s*([smhd]?)$/i.exec(raw);
  const seconds = match === null ? 0 : Number(match[1]) * (DURATION_UNITS[match[2]!.toLowerCase() || 's'] ?? 0);
  if (!(seconds > 0))
    fail(`${name} must be a positive duration such as "30s", "15m", "1h" or "7d", got ${JSON.stringify(raw)}.`);
  return seconds;
}

/** The session lifetimes, checked against each other here so the error names the variables. */
function readLifetimes() {
  const expiresIn = readDuration('SESSION_EXPIRES_IN') ?? 3600;
  const renewRaw = process.env.SESSION_RENEW_AFTER?.trim().toLowerCase();
  const renewAfter: number | false | undefined =
    renewRaw === 'off' || renewRaw === 'false' ? false : readDuration('SESSION_RENEW_AFTER');
  if (renewAfter !== false && renewAfter !== undefined && renewAfter >= expiresIn)
    fail(
      `SESSION_RENEW_AFTER (${renewAfter} s) must be shorter than SESSION_EXPIRES_IN (${expiresIn} s), or "off" to never renew.`,
    );
  const maxAge = readDuration('SESSION_MAX_AGE');
  if (maxAge !== undefined && maxAge < expiresIn)
    fail(`SESSION_MAX_AGE (${maxAge} s) must be at least SESSION_EXPIRES_IN (${expiresIn} s).`);
  const freshAuthMaxAge = readDuration('FRESH_AUTH_MAX_AGE') ?? 300;
  return { expiresIn, renewAfter, maxAge, freshAuthMaxAge };
}

function readConfig() {
  const env = process.env;
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`PORT must be a port number, got ${JSON.stringify(env.PORT)}.`);
  const secure = (env.COOKIE_SECURE ?? 'false').trim().toLowerCase();
  if (!['true', '1', 'false', '0', ''].includes(secure))
    fail(`COOKIE_SECURE must be "true" or "false", got ${JSON.stringify(env.COOKIE_SECURE)}.`);
  const dbName = env.EXAMPLE_DB_NAME || 'example_app';
  if (!/^[a-zA-Z0-9_-]{1,63}$/.test(dbName))
    fail(`EXAMPLE_DB_NAME must be 1-63 letters, digits, "_" or "-", got ${JSON.stringify(dbName)}.`);
  const secret = env.SESSION_SECRET || undefined;
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    fail(
      "SESSION_SECRET must be at least 32 bytes; generate one with `node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\"`.",
    );
  }
  const trustProxy = env.TRUST_PROXY?.trim() || undefined;
  return {
    port,
    host: env.HOST || '127.0.0.1',
    mongoUri: env.MONGODB_URI || undefined,
    redisUrl: env.REDIS_URL || undefined,
    dbName,
    secret,
    cookieSecure: secure === 'true' || secure === '1',
    demoPassword: env.DEMO_PASSWORD || undefined,
    lifetimes: readLifetimes(),
    trustProxy:
      trustProxy === undefined
        ? undefined
        : trustProxy === 'true'
          ? true
          : /^\d+$/.test(trustProxy)
            ? Number(trustProxy)
            : trustProxy,
  };
}

const config = readConfig();

/** Everything to release on shutdown, in this order. */
const resources: {
  server?: Server;
  example?: ExampleApp;
  client?: MongoClient;
  redis?: ReturnType<typeof createClient>;
  ferret?: FerretDbServer;
} = {};
let stopping = false;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function openStorage(): Promise<{ storage: Storage; line: string }> {
  let uri = config.mongoUri;
  let line = `Storage: MongoDB from MONGODB_URI, database "${config.dbName}".`;
  if (uri === undefined) {
    try {
      // Announce a (long) first build only when Go is there to run it; without Go the fallback line comes first.
      await ensureFerretDbBinary((note) => {
        if (spawnSync('go', ['version'], { stdio: 'ignore' }).error === undefined) log(note);
      });
      resources.ferret = await startFerretDb();
    } catch (error) {
      return {
        storage: { kind: 'memory' },
        line: `Storage: IN MEMORY, because MONGODB_URI is unset and the bundled FerretDB server could not start (${message(error)}). Users and logouts are lost when the app stops; set MONGODB_URI to keep them.`,
      };
    }
    uri = resources.ferret.uri;
    line = `Storage: bundled FerretDB server on ${uri} (temp folder, removed on exit), database "${config.dbName}". Set MONGODB_URI to use your own MongoDB.`;
    resources.ferret.process.on('exit', (code) => {
      if (!stopping) void shutdown(`FerretDB exited unexpectedly (code ${code})`, 1);
    });
  }
  resources.client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  try {
    await resources.client.connect();
  } catch (error) {
    throw new Error(`MongoDB did not answer (${message(error)}). Check MONGODB_URI.`, { cause: error });
  }
  return { storage: { kind: 'mongo', db: resources.client.db(config.dbName) }, line };
}

/** A node-redis client for REDIS_URL: no offline queue, so an outage fails checks at once (503). */
async function openRedis(url: string): Promise<ReturnType<typeof createClient>> {
  const client = createClient({ url, disableOfflineQueue: true });
  let reported = false;
  client.on('error', (error: unknown) => {
    if (!reported) log(`Redis connection problem (${message(error)}); retrying.`);
    reported = true;
  });
  client.on('ready', () => {
    reported = false;
  });
  resources.redis = client;
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`Redis did not answer (${message(error)}). Check REDIS_URL.`, { cause: error });
  }
  return client;
}

async function start(): Promise<void> {
  const { storage, line } = await openStorage();
  log(line);
  const redis = config.redisUrl === undefined ? undefined : await openRedis(config.redisUrl);
  if (redis !== undefined) log('Revocation state: Redis from REDIS_URL (users stay in the storage above).');
  if (config.secret === undefined) {
    log(
      'WARNING: SESSION_SECRET is not set, so a random secret is used: every session ends when the app restarts. Set SESSION_SECRET (32+ random bytes) to keep them.',
    );
  }
  if (!config.cookieSecure) {
    log(
      'Cookie: Secure flag off (COOKIE_SECURE=false), for http://localhost only. Serve production over https with COOKIE_SECURE=true.',
    );
  }
  const { expiresIn, renewAfter, maxAge, freshAuthMaxAge } = config.lifetimes;
  log(
    `Sessions: a token lasts ${expiresIn} s (SESSION_EXPIRES_IN) and is ${renewAfter === false ? 'never renewed' : `renewed after ${renewAfter ?? Math.floor(expiresIn / 2)} s`} (SESSION_RENEW_AFTER); a session lasts at most ${maxAge === undefined ? 'the default 7 days' : `${maxAge} s`} (SESSION_MAX_AGE); changing the password needs a password entry within ${freshAuthMaxAge} s (FRESH_AUTH_MAX_AGE).`,
  );
  if (stopping) return;

  const example = await createExampleApp({
    storage,
    redis,
    secret: config.secret ?? randomBytes(32).toString('base64url'),
    cookieSecure: config.cookieSecure,
    demoPassword: config.demoPassword ?? DEFAULT_DEMO_PASSWORD,
    trustProxy: config.trustProxy,
    ...config.lifetimes,
    log,
  });
  resources.example = example;
  const passwordText = config.demoPassword === undefined ? `"${DEFAULT_DEMO_PASSWORD}"` : 'the one in DEMO_PASSWORD';
  if (example.createdUsers.length > 0) {
    log(`Demo users created: ${example.createdUsers.join(' and ')}, with the password ${passwordText}.`);
  } else {
    log('Demo users alice and bob already exist; their password is the one set when they were created.');
  }
  if (stopping) return;

  const server = createServer(example.app);
  resources.server = server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE' ? new Error(`port ${config.port} is in use: set PORT to another port.`) : error,
      );
    });
    server.listen(config.port, config.host, resolve);
  });
  server.on('error', (error) => console.error(`HTTP server error: ${message(error)}`));
  const { port } = server.address() as AddressInfo;
  const shownHost =
    config.host === '0.0.0.0' || config.host === '::'
      ? '127.0.0.1'
      : config.host.includes(':')
        ? `[${config.host}]`
        : config.host;
  log(`Open http://${shownHost}:${port}/ and sign in as alice or bob. Press Ctrl-C to stop.`);
}

async function shutdown(reason: string, exitCode: number): Promise<void> {
  if (stopping) {
    if (reason === 'SIGINT' || reason === 'SIGTERM') process.exit(exitCode || 1); // a second signal: stop now
    return;
  }
  stopping = true;
  log(`${reason}: shutting down...`);
  const deadline = setTimeout(() => {
    console.error('Shutdown took longer than 10 s; exiting anyway.');
    process.exit(1);
  }, 10_000);
  // Let start-up finish (or fail) first, so nothing it opens is left behind.
  await started.catch(() => undefined);
  const { server } = resources;
  if (server?.listening) {
    // Stop accepting connections; idle keep-alive connections close now, busy ones once they answer.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const force = setTimeout(() => server.closeAllConnections(), 5000);
    await closed;
    clearTimeout(force);
  }
  const step = async (name: string, run: () => Promise<unknown> | undefined) => {
    try {
      await run();
    } catch (error) {
      console.error(`While closing the ${name}: ${message(error)}`);
    }
  };
  await step('session store', () => resources.example?.close());
  await step('MongoDB connection', () => resources.client?.close());
  await step('Redis connection', () => resources.redis?.close());
  await step('FerretDB server', () => resources.ferret?.stop());
  clearTimeout(deadline);
  log('Stopped.');
  process.exit(exitCode);
}

const started = start();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown(signal, 0));
started.catch((error: unknown) => {
  console.error(`Cannot start the example app: ${message(error)}`);
  void shutdown('Start-up failed', 1);
});
