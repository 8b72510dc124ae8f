// MongoRevocationStore in a replica set, shown with the real driver against the real test server: what the
// store sends (every read for the primary alone, every write with `w: 'majority'`, whatever the client's own
// defaults), and what a logout answers when no primary confirms its write (503, the cookie kept, never 204).
// It complements "writes ask for majority write concern" of mongo-store.test.ts (revocation writes, one client
// on the standalone) with every read and write of every store method, given a client, a Db or a uri.
//
// The test server is a standalone, and to a standalone the driver never sends `$readPreference` (the server
// selection spec: "for standalone, drivers MUST NOT set $readPreference"), whatever the read preference: the
// wire of a standalone cannot tell a primary read from a secondary one. So the store's client talks to the
// server through a proxy that reads the MongoDB wire protocol and adds the fields of a replica set's primary
// (`setName`, `hosts`, `primary`, `me`) to the server's `hello` answers. The driver then sees a replica set
// with a primary (asserted), and on such a topology it sends `$readPreference` for every read whose mode is
// not `primary` and leaves it out for `primary` alone: a read the store sent for any other member would show it
// on the wire. A control read through the same client shows that it does. What this proves is what the store
// asks the driver for, on the wire, through each way of passing it a database; not how a real replica set
// then behaves, which is MongoDB's part (docs/mongodb.md, "Replica sets and failover").
//
// The proxy changes nothing else the store sees, but for the failures a test asks for: it drops a write's
// connection, or adds to the server's own answer the `writeConcernError` a primary that steps down answers.
// It also takes `txnNumber` out of the writes it forwards, which a standalone MongoDB would refuse; the driver
// still retries writes as it does on a replica set.
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { BSON, MongoClient, type Document } from 'mongodb';
import request from 'supertest';
import { createSessionAuth } from '../../../lib/index.js';
import { MongoRevocationStore } from '../../../lib/mongodb.js';
import { buildApp, cookieFrom, errorCode, EXPRESS_VERSIONS, testSecret } from '../../support/apps.js';
import { hasAtomicUpdates } from '../../../lib/stores/mongodb/server-kind.js';
import { createTestDb, mongoUri, type TestDb } from '../../support/db.js';

const HOUR = 3_600_000;
const quiet = { warn: () => {} };

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const HELLO = new Set(['hello', 'ismaster', 'isMaster']);
const WRITES = new Set(['insert', 'update', 'delete', 'findAndModify']);
const READS = new Set(['find', 'getMore', 'aggregate', 'count', 'distinct']);

/**
 * How the proxy fails write commands (`insert`, `update`, `delete`) while a test says there is no primary:
 * - `request`: the connection drops as the write is sent, before the server gets it (a primary gone away);
 * - `reply`: the server runs the write, and the connection drops before its answer comes back;
 * - `majority`: the server runs the write, and its answer says that it could not be confirmed on a majority
 *   (`writeConcernError` PrimarySteppedDown, what a primary that steps down while waiting for it answers).
 */
type WriteFailure = 'request' | 'reply' | 'majority';

interface ReplicaSetProxy {
  /** A connection string (`directConnection=false`, so that the driver discovers the topology). */
  uri(options?: string): string;
  /** Every command sent through the proxy since the last `clear()`, as it went on the wire (handshakes left out). */
  readonly commands: Document[];
  clear(): void;
  /** The topology types the driver of `client` went through. */
  watch(client: MongoClient): string[];
  /** While set, write commands fail that way. */
  failWrites: WriteFailure | undefined;
  /** How many write commands were failed. */
  readonly failed: number;
  close(): Promise<void>;
}

/** Where the command of a request lies (OP_MSG body section, or OP_QUERY query), if it has one. */
function commandSpan(message: Buffer): { start: number; end: number } | undefined {
  const opCode = message.readInt32LE(12);
  const span = (start: number) => ({ start, end: start + message.readInt32LE(start) });
  if (opCode === OP_QUERY) return span(message.indexOf(0, 20) + 1 + 8); // fullCollectionName, numberToSkip, numberToReturn
  if (opCode !== OP_MSG) return undefined;
  const end = message.length - (message.readUInt32LE(16) & 1 ? 4 : 0); // a checksum at the end
  for (let at = 20; at < end;) {
    const kind = message[at];
    at++;
    if (kind === 0) return span(at);
    at += message.readInt32LE(at); // a document sequence (kind 1): its size includes itself
  }
  return undefined;
}

/**
 * The request without `txnNumber`: the driver numbers the writes it may retry (retryable writes) on a replica
 * set, and a standalone MongoDB behind the proxy would refuse them. The driver still retries as it would.
 */
function withoutTxnNumber(message: Buffer, command: Document, span: { start: number; end: number }): Buffer {
  if (command.txnNumber === undefined || message.readInt32LE(12) !== OP_MSG) return message;
  const rest = { ...command };
  delete rest.txnNumber;
  const checksum = message.readUInt32LE(16) & 1 ? 4 : 0;
  const body = BSON.serialize(rest);
  const out = Buffer.concat([
    message.subarray(0, span.start),
    body,
    message.subarray(span.end, message.length - checksum),
  ]);
  out.writeUInt32LE(out.readUInt32LE(16) & ~1, 16); // no checksum
  out.writeInt32LE(out.length, 0);
  return out;
}

/** A reply (OP_MSG or OP_REPLY) whose document is `change(document)`. */
function rewriteReply(message: Buffer, change: (reply: Document) => Document): Buffer {
  const opCode = message.readInt32LE(12);
  // OP_MSG: header, flagBits, one body section (kind 0). OP_REPLY: header, flags, cursorID, startingFrom, numberReturned.
  const at = opCode === OP_MSG ? 21 : opCode === OP_REPLY ? 36 : -1;
  if (at < 0) return message;
  const reply = BSON.deserialize(message.subarray(at, at + message.readInt32LE(at)));
  const head = Buffer.from(message.subarray(0, at));
  if (opCode === OP_MSG) head.writeUInt32LE(0, 16); // no checksum
  const out = Buffer.concat([head, BSON.serialize(change(reply))]);
  out.writeInt32LE(out.length, 0);
  return out;
}

/** Splits a byte stream into wire messages (each starts with its int32 length). */
function messages(onMessage: (message: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
      const length = pending.readInt32LE(0);
      onMessage(pending.subarray(0, length));
      pending = pending.subarray(length);
    }
  };
}

/** A proxy to the test server that makes it look, to the driver, like the primary of replica set `rs0`. */
async function startReplicaSetProxy(): Promise<ReplicaSetProxy> {
  const target = new URL(mongoUri().replace(/^mongodb:/, 'http:'));
  const sockets = new Set<Socket>();
  const commands: Document[] = [];
  let failed = 0;
  let me = '';
  const proxy: ReplicaSetProxy = {
    uri: (options = '') => `mongodb://${me}/?directConnection=false${options === '' ? '' : `&${options}`}`,
    commands,
    clear: () => void commands.splice(0),
    watch(client) {
      const types: string[] = [];
      client.on('topologyDescriptionChanged', (event) => types.push(event.newDescription.type));
      return types;
    },
    failWrites: undefined,
    get failed() {
      return failed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const asPrimary = (hello: Document): Document => ({
    ...hello,
    setName: 'rs0',
    setVersion: 1,
    hosts: [me],
    primary: me,
    me,
    secondary: false,
  });
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 27017) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    const drop = () => {
      failed++;
      client.destroy();
      upstream.destroy();
    };
    /** requestID -> what to do with its reply. */
    const awaited = new Map<number, 'hello' | WriteFailure>();
    client.on(
      'data',
      messages((message) => {
        const span = commandSpan(message);
        const command = span === undefined ? undefined : BSON.deserialize(message.subarray(span.start, span.end));
        const name = command === undefined ? '' : (Object.keys(command)[0] ?? '');
        const requestId = message.readInt32LE(4);
        if (HELLO.has(name)) awaited.set(requestId, 'hello');
        else if (command !== undefined) commands.push(command);
        const failure = WRITES.has(name) ? proxy.failWrites : undefined;
        if (failure === 'request') return drop();
        if (failure !== undefined) awaited.set(requestId, failure);
        upstream.write(
          span === undefined || command === undefined ? message : withoutTxnNumber(message, command, span),
        );
      }),
    );
    upstream.on(
      'data',
      messages((message) => {
        const responseTo = message.readInt32LE(8);
        const what = awaited.get(responseTo);
        awaited.delete(responseTo);
        if (what === 'reply') return drop();
        if (what === 'hello') return void client.write(rewriteReply(message, asPrimary));
        if (what === 'majority') {
          failed++;
          const writeConcernError = {
            code: 189,
            codeName: 'PrimarySteppedDown',
            errmsg: 'Primary stepped down while waiting for replication',
          };
          // Labelled retryable, as MongoDB 4.4+ labels it: the driver retries the write once.
          const labelled = (reply: Document) => ({ ...reply, writeConcernError, errorLabels: ['RetryableWriteError'] });
          return void client.write(rewriteReply(message, labelled));
        }
        client.write(message);
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  me = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return proxy;
}

/** The collection a command acts on (`{ find: 'users' }` -> `users`). */
const target = (command: Document) => String(Object.values(command)[0]);
const nameOf = (command: Document) => Object.keys(command)[0] ?? '';

/**
 * Client defaults a store must not inherit: reads from secondaries, writes acknowledged by one member (with a
 * `wtimeout` and journaling, which do not carry over to the store's writes either).
 */
const LAX = { readPreference: 'secondaryPreferred', writeConcern: { w: 1, wtimeoutMS: 5000, journal: true } } as const;
const LAX_URI = 'readPreference=secondaryPreferred&w=1&wtimeoutMS=5000&journal=true';

describe('MongoRevocationStore in a replica set: what it sends (wire protocol, command monitoring)', () => {
  let t: TestDb;
  let serverIsAtomic: boolean;
  before(async () => {
    t = await createTestDb('replica_set');
    serverIsAtomic = await hasAtomicUpdates(t.db);
  });
  after(async () => {
    await t.cleanup();
  });

  for (const source of ['client', 'db', 'uri'] as const)
    for (const atomicUpdates of [true, false, undefined])
      test(`given a ${source} whose defaults are secondaryPreferred and w: 1 (atomicUpdates: ${atomicUpdates ?? 'detected'}): every read for the primary, every write with w: 'majority'`, async () => {
        const proxy = await startReplicaSetProxy(); // of its own: it records every command sent through it
        const client = new MongoClient(proxy.uri(), { ...LAX, monitorCommands: true, serverSelectionTimeoutMS: 5000 });
        const topology = proxy.watch(client);
        const events: Document[] = [];
        client.on('commandStarted', (event) => events.push(event.command));
        const prefix = `${source}_${atomicUpdates ?? 'detected'}`;
        const collections = {
          usersCollection: `${prefix}_users`,
          stateCollection: `${prefix}_state`,
          sessionsCollection: `${prefix}_revoked`,
          feedCollection: `${prefix}_feed`,
          registryCollection: `${prefix}_registry`,
        };
        const options = { ...collections, atomicUpdates, logger: quiet };
        const store =
          source === 'client'
            ? new MongoRevocationStore({ client, dbName: t.dbName, ...options })
            : source === 'db'
              ? new MongoRevocationStore({ db: client.db(t.dbName, LAX), ...options })
              : new MongoRevocationStore({ uri: proxy.uri(LAX_URI), dbName: t.dbName, ...options });
        try {
          // Control: the client's own defaults do show on the wire, so their absence below means something.
          await client.db(t.dbName).collection('control').insertOne({ n: 1 });
          await client.db(t.dbName).collection('control').findOne({ n: 1 });
          assert.equal(topology.at(-1), 'ReplicaSetWithPrimary', topology.join(' -> '));
          assert.deepEqual(
            proxy.commands.map((c): unknown[] => [nameOf(c), c.$readPreference ?? c.writeConcern]),
            [
              ['insert', { w: 1, wtimeout: 5000, j: true }],
              ['find', { mode: 'secondaryPreferred' }],
            ],
          );
          proxy.clear();
          events.length = 0;

          const sub = `${prefix}-user`;
          const now = Date.now();
          await store.init();
          await store.registerSession({
            sessionId: 'phone-session-id-0000',
            sub,
            signedInAt: new Date(now - 1000),
            lastActiveAt: new Date(now - 1000),
            expiresAt: new Date(now + HOUR),
          });
          await store.touchSession('phone-session-id-0000', sub, new Date(now));
          await store.getState(sub, 'phone-session-id-0000', now - 1000);
          await store.revokeSession('laptop-session-id-000', sub, new Date(now + HOUR));
          await store.revokeSession('laptop-session-id-000', sub, new Date(now + HOUR)); // replayed: asks the feed
          await store.getState(sub, 'laptop-session-id-000', now - 1000); // the user, then the revoked session
          await store.listSessions(sub);
          await store.markClaimsChanged(sub, new Date(now), new Date(now + HOUR));
          await store.revokeUser(sub, new Date(now), new Date(now + HOUR));
          await store.readFeed(null, 100);
          await store.readFeed(new Date(now - 60_000), 100);

          const sent = proxy.commands.filter((c) => nameOf(c) !== 'endSessions');
          const reads = sent.filter((c) => READS.has(nameOf(c)));
          const writes = sent.filter((c) => WRITES.has(nameOf(c)));
          const others = sent.filter((c) => !READS.has(nameOf(c)) && !WRITES.has(nameOf(c)));
          for (const read of reads)
            assert.equal(read.$readPreference, undefined, `a read for the primary alone: ${JSON.stringify(read)}`);
          for (const write of writes)
            assert.deepEqual(write.writeConcern, { w: 'majority' }, `a majority write: ${JSON.stringify(write)}`);
          // Besides: index builds, writes too, and where atomicUpdates is left out, `buildInfo` (the server's kind),
          // which `db.command` sends to the primary whatever the Db's read preference.
          assert.deepEqual(
            [...new Set(others.map(nameOf))].sort(),
            atomicUpdates === undefined ? ['buildInfo', 'createIndexes'] : ['createIndexes'],
          );
          for (const command of others)
            if (nameOf(command) === 'createIndexes') assert.deepEqual(command.writeConcern, { w: 'majority' });
            else assert.equal(command.$readPreference, undefined);

          // Every kind of read and write of the store was sent, so none was left unchecked.
          const atomic = atomicUpdates ?? serverIsAtomic;
          const state = atomic ? collections.usersCollection : collections.stateCollection;
          const expected = [
            `insert ${collections.feedCollection}`, // revocations and claims changes, first
            `update ${state}`, // the watermark, the device hint, the claims change
            `update ${collections.sessionsCollection}`, // the revoked session
            `update ${collections.feedCollection}`, // the feed's start marker
            `update ${collections.registryCollection}`, // register (replaceOne) and touch
            `delete ${collections.registryCollection}`, // the records a revocation ends
            `find ${state}`,
            `find ${collections.sessionsCollection}`,
            `find ${collections.feedCollection}`,
            `find ${collections.registryCollection}`,
            // The write lock, where updates are not atomic: taken (insert) and given back (delete).
            ...(atomic ? [] : [`insert ${state}`, `delete ${state}`]),
          ];
          const seen = new Set([...reads, ...writes].map((c) => `${nameOf(c)} ${target(c)}`));
          assert.deepEqual(
            expected.filter((e) => !seen.has(e)),
            [],
            `sent: ${[...seen].join(', ')}`,
          );
          const unused = atomic ? collections.stateCollection : collections.usersCollection;
          assert.deepEqual(
            sent.filter((c) => target(c) === unused),
            [],
            `nothing sent to ${unused}`,
          );

          // Command monitoring reports the same commands, as the driver prepared them (the store's own client
          // from `uri` is not observable that way: the wire is).
          if (source !== 'uri') {
            const shape = (c: Document): unknown[] => [nameOf(c), c.$readPreference, c.writeConcern];
            assert.deepEqual(events.filter((c) => nameOf(c) !== 'endSessions').map(shape), sent.map(shape));
          }
        } finally {
          await store.close();
          await client.close();
          await proxy.close();
        }
      });
});

describe('MongoRevocationStore in a replica set: a logout no primary confirms answers 503, never 204', () => {
  let t: TestDb;
  before(async () => {
    t = await createTestDb('replica_set_logout');
  });
  after(async () => {
    await t.cleanup();
  });

  const STORE_TIMEOUT_MS = 10_000;
  const FAILURES: Record<WriteFailure, string> = {
    request: 'the connection drops as the write is sent',
    reply: 'the server runs the write and the connection drops before its answer',
    majority: 'the server runs the write and answers PrimarySteppedDown before a majority has it',
  };

  for (const [failure, what] of Object.entries(FAILURES) as [WriteFailure, string][])
    test(`${what}: logout and logoutAll answer 503 and keep the cookie; the retry after the election ends the session`, async () => {
      const proxy = await startReplicaSetProxy();
      // The driver's own defaults: retryable writes on, so each failed write is retried once, and fails again.
      const client = new MongoClient(proxy.uri(), { serverSelectionTimeoutMS: 5000 });
      const warnings: string[] = [];
      const store = new MongoRevocationStore({ client, dbName: t.dbName, feedCollection: `feed_${failure}` });
      const auth = createSessionAuth({
        secret: testSecret(),
        store,
        cookie: { secure: false },
        storeTimeoutMs: STORE_TIMEOUT_MS,
        logger: { warn: (m) => warnings.push(m) },
      });
      const app = buildApp(EXPRESS_VERSIONS[0].express, auth);
      try {
        await auth.ready;
        const sub = `election-${failure}`;
        const cookie = cookieFrom((await request(app).post('/login').send({ sub })).headers['set-cookie']);
        assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);

        proxy.failWrites = failure; // the election: no primary confirms a write
        try {
          for (const path of ['/logout', '/logout-all']) {
            const started = Date.now();
            const res = await request(app).post(path).set('Cookie', cookie);
            assert.equal(res.status, 503, `${path}: ${res.status} ${JSON.stringify(res.body)}`);
            assert.equal(errorCode(res), 'revocation_unavailable');
            assert.equal(res.headers['set-cookie'], undefined, `${path}: the cookie is kept, so the user can retry`);
            // The driver's error, not the instance's deadline: the store answered, and failed.
            assert.ok(Date.now() - started < STORE_TIMEOUT_MS, `${path} answered in ${Date.now() - started} ms`);
          }
          // The first write of each (the feed entry) failed, and failed again when the driver retried it once
          // (retryable writes): nothing after it was sent.
          assert.equal(proxy.failed, 4, `${proxy.failed} writes failed`);
          assert.match(warnings.join('\n'), /the revocation store failed \(/);
          assert.doesNotMatch(warnings.join('\n'), /no answer within/);
        } finally {
          proxy.failWrites = undefined; // a primary is elected
        }
        if (failure === 'request') {
          // Nothing reached the server: the session is as valid as the 503 said it might be.
          assert.equal((await request(app).get('/me').set('Cookie', cookie)).status, 200);
        }
        const retry = await request(app).post('/logout').set('Cookie', cookie);
        assert.equal(retry.status, 204);
        assert.match(String(retry.headers['set-cookie']), /^session=;/, 'the cookie is cleared on success only');
        assert.equal(errorCode(await request(app).get('/me').set('Cookie', cookie)), 'session_revoked');
      } finally {
        await client.close();
        await proxy.close();
      }
    });
});
