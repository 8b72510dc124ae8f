// `npm test`: starts a FerretDB server unless MONGODB_URI is set, a redis-server unless REDIS_URL is set and a
// six-node Redis Cluster unless REDIS_CLUSTER_NODES is set,
// runs every *.test.ts with node's test runner, and fails when no test ran, any test was skipped or any test
// hung past its timeout. Tests are registered unconditionally (no `if (env) describe(...)`): a test that is
// not registered cannot be counted.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFerretDb, type FerretDbServer } from './ferretdb/launcher.js';
import { startRedisCluster, type RedisCluster } from './support/redis-cluster.js';
import { startRedisServer, type RedisServer } from './support/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/**
 * Each file's budget: two minutes, about three times what the slowest file (a model-based run on FerretDB) takes on a
 * busy 2-core machine. A long model-based run (MODEL_RUNS, e.g. the README's 10,000 histories) gets room for its
 * slowest store (about 0.3 s a history on FerretDB, with a fourfold margin); the model files bound each of their
 * tests themselves, so a hang still fails there.
 */
const MODEL_RUNS = Number(process.env.MODEL_RUNS ?? 0) || 0;
const TEST_TIMEOUT_MS = Math.max(120_000, MODEL_RUNS * 300 * 4 + 60_000);

async function findTests(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory()
        ? findTests(join(dir, e.name))
        : Promise.resolve(e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []),
    ),
  );
  return nested.flat().sort();
}

const filters = process.argv.slice(2);
const files = (await findTests(join(ROOT, 'test'))).filter(
  (f) => filters.length === 0 || filters.some((x) => relative(ROOT, f).includes(x)),
);
if (files.length === 0) {
  console.error(`No test files matched ${filters.join(' ') || 'test/**/*.test.ts'}.`);
  process.exit(1);
}

let server: FerretDbServer | undefined;
if (process.env.MONGODB_URI === undefined || process.env.MONGODB_URI === '') {
  server = await startFerretDb();
  process.env.MONGODB_URI = server.uri;
  console.log(`Tests run against FerretDB on ${server.uri} (set MONGODB_URI to use another server).`);
} else {
  console.log('Tests run against the server in MONGODB_URI.');
}

let redis: RedisServer | undefined;
if (process.env.REDIS_URL === undefined || process.env.REDIS_URL === '') {
  redis = await startRedisServer();
  process.env.REDIS_URL = redis.url;
  console.log(`Tests run against redis-server on ${redis.url} (set REDIS_URL to use another server).`);
} else {
  console.log('Tests run against the Redis in REDIS_URL.');
}

let cluster: RedisCluster | undefined;
if (process.env.REDIS_CLUSTER_NODES === undefined || process.env.REDIS_CLUSTER_NODES === '') {
  cluster = await startRedisCluster();
  process.env.REDIS_CLUSTER_NODES = cluster.spec;
  console.log(
    `Tests run against a Redis Cluster of 6 nodes on ${cluster.spec} (set REDIS_CLUSTER_NODES to use another).`,
  );
} else {
  console.log('Tests run against the Redis Cluster in REDIS_CLUSTER_NODES.');
}

const tapDir = await mkdtemp(join(tmpdir(), 'test-report-'));
const tapFile = join(tapDir, 'report.tap');
const code = await new Promise<number>((resolve) => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=2',
      // A hang fails the test instead of blocking CI; slower files (browser, npm pack) set larger timeouts.
      `--test-timeout=${TEST_TIMEOUT_MS}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tapFile}`,
      ...files,
    ],
    { cwd: ROOT, stdio: 'inherit', env: process.env },
  );
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal === null ? 1 : 128)));
});
await server?.stop();
await redis?.stop();
await cluster?.stop();

const tap = await readFile(tapFile, 'utf8').catch(() => '');
await rm(tapDir, { recursive: true, force: true });
const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
const [tests, passed, failedTests, cancelled, skipped, todo] = [
  'tests',
  'pass',
  'fail',
  'cancelled',
  'skipped',
  'todo',
].map(count) as [number, number, number, number, number, number];
const failed = failedTests + cancelled;
const problems: string[] = [];
if (tests === 0) problems.push('no test ran');
if (skipped + todo > 0) problems.push(`${skipped + todo} test(s) skipped or todo: a green run must run everything`);
if (code !== 0 && failed === 0) problems.push(`the test runner exited with code ${code}`);
console.log(`\n${passed} passed, ${failed} failed${skipped + todo > 0 ? `, ${skipped + todo} skipped` : ''}`);
for (const p of problems) console.error(`FAILED: ${p}`);
process.exit(code !== 0 || failed > 0 || problems.length > 0 ? 1 : 0);
