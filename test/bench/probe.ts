// `npm run build && npx tsx test/bench/probe.ts`: micro-measurements behind the benchmark's findings, without
// HTTP or a load generator: what a verification costs, what one revocation lookup costs in this process and in
// the database server, and how throughput scales with the reads in flight. Starts its own FerretDB unless
// MONGODB_URI is set (then the database's CPU time is not counted). PROBE_SECONDS sets each step's length.
import { createSecretKey, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import jwt from 'jsonwebtoken';
import { MongoClient, type Document } from 'mongodb';
import cookieParser from 'cookie-parser';
import type { Request, Response } from 'express';
import { expressjwt } from 'express-jwt';
import { startFerretDb, type FerretDbServer } from '../ferretdb/launcher.js';
import { loadLibrary, loadMongoStore } from './apps.js';
import { cpuSeconds } from './proc.js';

// Databases of this run only (a fixed prefix and a random part), dropped at the end.
const PROBE_DB = `bench_probe_${randomBytes(4).toString('hex')}`;
const PROBE_SCALE_DB = `${PROBE_DB}_scale`;

const SECONDS = Number(process.env.PROBE_SECONDS ?? 3);

interface Step {
  ops: number;
  seconds: number;
  ownUserUs: number;
  ownSystemUs: number;
  dbUs: number;
}

function print(name: string, s: Step): void {
  const per = (v: number) => (v / s.ops).toFixed(1).padStart(7);
  console.log(
    `${name.padEnd(58)} ${(s.ops / s.seconds).toFixed(0).padStart(7)} ops/s  latency ${((s.seconds / s.ops) * 1e6).toFixed(0).padStart(6)} µs/op (wall, per op)  this process ${per(s.ownUserUs)} user + ${per(s.ownSystemUs)} sys µs/op  db ${Number.isNaN(s.dbUs) ? '    n/a' : per(s.dbUs)} µs/op`,
  );
}

/** Runs `op` with `concurrency` loops for SECONDS; CPU of this process and of the database per op. */
async function measure(op: (i: number) => unknown, concurrency: number, dbPid: number | undefined): Promise<Step> {
  // warm-up
  const warmEnd = performance.now() + 300;
  let w = 0;
  while (performance.now() < warmEnd) await op(w++);
  const cpu0 = process.cpuUsage();
  const db0 = dbPid === undefined ? Number.NaN : cpuSeconds(dbPid);
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  let ops = 0;
  let next = 0;
  const loop = async () => {
    while (performance.now() < end) {
      await op(next++);
      ops++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const db1 = dbPid === undefined ? Number.NaN : cpuSeconds(dbPid);
  return { ops, seconds, ownUserUs: cpu.user, ownSystemUs: cpu.system, dbUs: (db1 - db0) * 1e6 };
}

async function main(): Promise<void> {
  let server: FerretDbServer | undefined;
  let uri = process.env.MONGODB_URI ?? '';
  if (uri === '') {
    server = await startFerretDb();
    uri = server.uri;
    const child = server.process;
    // Never leave the server behind, even when a step throws from a callback and the process dies.
    process.on('exit', () => child.kill('SIGKILL'));
  }
  const dbPid = server?.process.pid;
  const client = new MongoClient(uri);
  try {
    await client.connect();
    const db = client.db(PROBE_DB);
    await db.dropDatabase();
    await db.createCollection('users');
    await db.createCollection('revoked_sessions');
    const users = db.collection<Document>('users');
    const sessions = db.collection<Document>('revoked_sessions');
    await users.insertMany(
      Array.from({ length: 5000 }, (_, i) => ({
        _id: `user-${i}`,
        lastLogoutAt: new Date(Date.now() - 3_600_000),
      })) as Document[],
    );

    const lib = await loadLibrary();
    const secretText = randomBytes(32).toString('base64url');
    const auth = lib.createSessionAuth({
      secret: secretText,
      store: new lib.MemoryRevocationStore(),
      cookie: { secure: false },
    });
    const fakeRes = { headersSent: false, append: () => fakeRes, setHeader: () => fakeRes } as unknown as Response;
    const tokens = await Promise.all(Array.from({ length: 1000 }, (_, i) => auth.login(fakeRes, { sub: `user-${i}` })));
    const keyObject = createSecretKey(Buffer.from(secretText, 'utf8'));
    const sids = tokens.map((t) => t.sessionId);
    const issued = tokens.map((t) => t.issuedAt.getTime());
    // Users one of whose devices was logged out after these tokens were issued: their check reads both collections.
    await users.insertMany(
      Array.from({ length: 1000 }, (_, i) => ({
        _id: `dev-${i}`,
        lastDeviceLogoutAt: new Date(Date.now() + 3_600_000),
      })) as Document[],
    );

    console.log(`Each step runs ${SECONDS} s. "this process" is the Node process issuing the operations.`);
    print(
      'jsonwebtoken.verify, string secret',
      await measure((i) => jwt.verify(tokens[i % 1000]!.token, secretText, { algorithms: ['HS256'] }), 1, undefined),
    );
    print(
      'jsonwebtoken.verify, KeyObject secret',
      await measure((i) => jwt.verify(tokens[i % 1000]!.token, keyObject, { algorithms: ['HS256'] }), 1, undefined),
    );

    // The middleware alone, on fake requests (no HTTP): this package with the memory store versus express-jwt
    // with a KeyObject behind cookie-parser, the `stateless-key` app.
    const parseCookies = cookieParser();
    const plain = expressjwt({
      secret: keyObject,
      algorithms: ['HS256'],
      getToken: (req) => (req.cookies as Record<string, string>).session,
    });
    const fakeReq = (i: number) =>
      ({
        headers: { cookie: `session=${tokens[i % 1000]!.token}` },
        method: 'GET',
        url: '/me',
        originalUrl: '/me',
        on: () => undefined,
      }) as unknown as Request;
    const middlewareRes = {} as Response;
    const viaPlain = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const req = fakeReq(i);
        parseCookies(
          req,
          middlewareRes,
          () =>
            void plain(req, middlewareRes, (err?: unknown) =>
              err === undefined ? resolve() : reject(new Error('rejected', { cause: err })),
            ),
        );
      });
    const viaPackage = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const req = fakeReq(i);
        void auth.authenticate(
          req,
          middlewareRes,
          () =>
            void auth.requireAuth(req, middlewareRes, (err?: unknown) =>
              err === undefined && (req as { auth?: unknown }).auth !== undefined
                ? resolve()
                : reject(new Error('rejected')),
            ),
        );
      });
    print('cookie-parser + express-jwt (KeyObject), per request', await measure(viaPlain, 1, undefined));
    print('auth.authenticate + auth.requireAuth (memory store), per request', await measure(viaPackage, 1, undefined));

    const projection = { _id: 0, lastLogoutAt: 1 };
    const findUser = (i: number) =>
      users.findOne({ _id: `user-${i % 5000}` as unknown as Document['_id'] }, { projection });
    const findSession = (i: number) =>
      sessions.findOne(
        { _id: sids[i % 1000] as unknown as Document['_id'], expiresAt: { $gt: new Date() } },
        { projection: { _id: 1 } },
      );
    const findSessionIdOnly = (i: number) =>
      sessions.findOne({ _id: sids[i % 1000] as unknown as Document['_id'] }, { projection: { _id: 1 } });
    const store = new (await loadMongoStore())({ client, dbName: PROBE_DB, logger: { warn: () => undefined } });
    for (const concurrency of [1, 32]) {
      print(`users.findOne by _id (found), ${concurrency} in flight`, await measure(findUser, concurrency, dbPid));
      print(
        `revoked_sessions.findOne _id + expiresAt (miss), ${concurrency} in flight`,
        await measure(findSession, concurrency, dbPid),
      );
      print(
        `revoked_sessions.findOne _id only (miss), ${concurrency} in flight`,
        await measure(findSessionIdOnly, concurrency, dbPid),
      );
      print(
        `MongoRevocationStore.getState, common case, ${concurrency} in flight`,
        await measure(
          (i) => store.getState(`user-${i % 5000}`, sids[i % 1000]!, issued[i % 1000]!),
          concurrency,
          dbPid,
        ),
      );
      print(
        `MongoRevocationStore.getState, after a device logout, ${concurrency} in flight`,
        await measure((i) => store.getState(`dev-${i % 1000}`, sids[i % 1000]!, issued[i % 1000]!), concurrency, dbPid),
      );
    }
    print('users.findOne, 64 in flight', await measure(findUser, 64, dbPid));
    print(
      'MongoRevocationStore.getState, common case, 64 in flight',
      await measure((i) => store.getState(`user-${i % 5000}`, sids[i % 1000]!, issued[i % 1000]!), 64, dbPid),
    );
    print(
      'users.updateOne $set (a session touch), 1 in flight',
      await measure(
        (i) =>
          users.updateOne({ _id: `user-${i % 5000}` as unknown as Document['_id'] }, { $set: { touched: new Date() } }),
        1,
        dbPid,
      ),
    );
    print(
      'users.updateOne $set (a session touch), 16 in flight',
      await measure(
        (i) =>
          users.updateOne({ _id: `user-${i % 5000}` as unknown as Document['_id'] }, { $set: { touched: new Date() } }),
        16,
        dbPid,
      ),
    );

    // At the scale test's size: per-lookup cost with 100,000 documents per collection (few operations: slow).
    const big = client.db(PROBE_SCALE_DB);
    await big.dropDatabase();
    const bigUsers = big.collection<Document>('users');
    const bigSessions = big.collection<Document>('revoked_sessions');
    const expiresAt = new Date(Date.now() + 3_600_000);
    const t0 = performance.now();
    for (let start = 0; start < 100_000; start += 1000) {
      await bigUsers.insertMany(
        Array.from({ length: 1000 }, (_, k) => ({ _id: `user-${start + k}`, lastLogoutAt: new Date(0) })) as Document[],
      );
      await bigSessions.insertMany(
        Array.from({ length: 1000 }, () => ({ _id: randomBytes(16).toString('base64url'), expiresAt })) as Document[],
      );
    }
    console.log(
      `seeded 100,000 users and 100,000 revoked sessions in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const missId = () => randomBytes(16).toString('base64url');
    const few = async (name: string, op: (i: number) => Promise<unknown>, n: number) => {
      const cpu0 = process.cpuUsage();
      const db0 = dbPid === undefined ? Number.NaN : cpuSeconds(dbPid);
      const start = performance.now();
      for (let i = 0; i < n; i++) await op(i);
      const cpu = process.cpuUsage(cpu0);
      const db1 = dbPid === undefined ? Number.NaN : cpuSeconds(dbPid);
      print(name, {
        ops: n,
        seconds: (performance.now() - start) / 1000,
        ownUserUs: cpu.user,
        ownSystemUs: cpu.system,
        dbUs: (db1 - db0) * 1e6,
      });
    };
    await few(
      '100k: users.findOne by _id, hit at a random position',
      (i) => bigUsers.findOne({ _id: `user-${(i * 7919) % 100_000}` as unknown as Document['_id'] }, { projection }),
      20,
    );
    await few(
      '100k: users.findOne by _id, miss',
      () => bigUsers.findOne({ _id: 'nobody' as unknown as Document['_id'] }, { projection }),
      20,
    );
    await few(
      '100k: revoked_sessions.findOne { _id } miss',
      () => bigSessions.findOne({ _id: missId() as unknown as Document['_id'] }, { projection: { expiresAt: 1 } }),
      20,
    );
    await few(
      '100k: revoked_sessions.findOne { _id, expiresAt: $gt } miss',
      () =>
        bigSessions.findOne(
          { _id: missId() as unknown as Document['_id'], expiresAt: { $gt: new Date() } },
          { projection: { _id: 1 } },
        ),
      3,
    );
    await few(
      '100k: users.find { _id: $in [32 ids] } (one batch)',
      (i) =>
        bigUsers
          .find({ _id: { $in: Array.from({ length: 32 }, (_, k) => `user-${(i * 32 + k) % 100_000}`) } } as Document, {
            projection,
          })
          .toArray(),
      3,
    );
    await auth.close();
  } finally {
    for (const name of [PROBE_DB, PROBE_SCALE_DB])
      await client
        .db(name)
        .dropDatabase()
        .catch(() => undefined);
    await client.close();
    await server?.stop();
  }
}

await main();
