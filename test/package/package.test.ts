// The package as users install it: `npm pack` once, then two consumers of the tarball. One has every dependency
// of this repository (mongodb included) beside the package; the other is a real `npm install` of the tarball
// and express only, so `mongodb` is absent. Both import every entry point from ESM and CJS; the first also
// type-checks consumers of each, the second runs a third-party store through the published conformance suite.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { consumerWithDependencies, pack, type Packed } from '../support/packed.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));
const CONSUMER_FILES = ['consumer.mjs', 'consumer.cjs', 'round-trip.mjs', 'entry-points.mjs'];
const TYPED_CONSUMER_FILES = ['consumer-esm.ts', 'consumer-cjs.cts'];
const TYPED_MONGODB_CONSUMER_FILES = ['mongodb-consumer-esm.ts', 'mongodb-consumer-cjs.cts'];
const STORE_FILES = ['third-party-store.mjs', 'third-party-store.test.mjs', 'broken-store.test.mjs'];
const ENTRY_FILES = ['index', 'mongodb', 'testing'].flatMap((entry) =>
  ['esm', 'cjs'].flatMap((format) => [`dist/${format}/${entry}.js`, `dist/${format}/${entry}.d.ts`]),
);

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs node in `cwd` and returns its exit code and output instead of throwing on a non-zero exit. */
async function runNode(args: string[], cwd: string): Promise<Exit> {
  // A nested `node --test` must report to us, not to the test runner this file runs under.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return run(process.execPath, args, { cwd, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: Error & { code?: unknown; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? error.message,
    }),
  );
}

interface ConsumerResult {
  format: 'esm' | 'cjs';
  me: unknown;
  logoutStatus: number;
  replayStatus: number;
  replayCode: string;
  errorClass: boolean;
  entries: {
    root: Record<string, string>;
    testing: Record<string, string>;
    mongodb?: Record<string, string>;
    mongodbError?: { isError: boolean; message: string; causeCode?: string };
    conformanceTests: number;
    mongodbLoadedByRoot: boolean;
    mongodbLoadedByTesting: boolean;
    mongodbLoadedByMongodbEntry: boolean;
  };
}

async function runConsumer(dir: string, file: string): Promise<ConsumerResult> {
  const exit = await runNode([file], dir);
  assert.equal(exit.code, 0, exit.stderr);
  const result = JSON.parse(exit.stdout) as ConsumerResult;
  assert.deepEqual(
    { ...result, format: undefined, entries: undefined },
    {
      format: undefined,
      entries: undefined,
      me: { sub: 'alice' },
      logoutStatus: 204,
      replayStatus: 401,
      replayCode: 'session_revoked',
      errorClass: true,
    },
  );
  const { entries } = result;
  for (const name of ['createSessionAuth', 'MemoryRevocationStore', 'SessionAuthError', 'ConfigError'])
    assert.equal(entries.root[name], 'function', `root export ${name}`);
  assert.ok(!('MongoRevocationStore' in entries.root) && !('runStoreConformance' in entries.root));
  assert.deepEqual(entries.testing, { runStoreConformance: 'function' });
  assert.ok(entries.conformanceTests >= 10, `runStoreConformance registered ${entries.conformanceTests} tests`);
  assert.equal(entries.mongodbLoadedByRoot, false, 'loading the root entry loaded mongodb');
  assert.equal(entries.mongodbLoadedByTesting, false, 'loading express-revocable-jwt/testing loaded mongodb');
  return result;
}

/** The tap report's `# name N` counters. */
function tapCounts(tap: string): Record<string, number> {
  return Object.fromEntries(
    [...tap.matchAll(/^# (\w+) (\d+)$/gm)].map((m): [string, number] => [m[1] ?? '', Number(m[2])]),
  );
}

describe('the packed package', { concurrency: true }, () => {
  let packed: Packed | undefined;
  let dir: string;
  /** A consumer with the tarball installed by npm, with express and without the optional peer mongodb. */
  let bare: string;
  let files: string[];
  /** Each consumer runs once; tests that compare two of them share the runs. */
  const runs = new Map<string, Promise<ConsumerResult>>();
  const consumerRun = (where: string, file: string): Promise<ConsumerResult> => {
    const key = join(where, file);
    const started = runs.get(key) ?? runConsumer(where, file);
    runs.set(key, started);
    return started;
  };

  before(
    async () => {
      const current = await pack('pack-consumer');
      packed = current;
      files = current.files;
      const tarball = current.tarball;
      const consumerPackage = JSON.stringify({ name: 'consumer', private: true, type: 'module' });
      dir = join(current.work, 'full');
      bare = join(current.work, 'without-mongodb');

      const setUpFull = async () => {
        await consumerWithDependencies(current, 'full');
        for (const file of [...CONSUMER_FILES, ...TYPED_CONSUMER_FILES, ...TYPED_MONGODB_CONSUMER_FILES])
          await cp(join(HERE, file), join(dir, file));
      };
      const setUpBare = async () => {
        await mkdir(bare);
        await writeFile(join(bare, 'package.json'), consumerPackage);
        // npm would not install an optional peer anyway; --omit=peer makes sure no peer sneaks in.
        await run(
          'npm',
          [
            'install',
            '--no-audit',
            '--no-fund',
            '--omit=peer',
            '--prefer-offline',
            '--no-package-lock',
            tarball,
            'express',
          ],
          { cwd: bare },
        );
        for (const file of [...CONSUMER_FILES, ...STORE_FILES]) await cp(join(HERE, file), join(bare, file));
      };
      await Promise.all([setUpFull(), setUpBare()]);
    },
    { timeout: 180_000 },
  );
  after(async () => {
    await packed?.remove();
  });

  test('ships the ESM and CJS builds of every entry point with types, the documents, and no sources or tests', async () => {
    for (const f of [...ENTRY_FILES, 'dist/cjs/package.json', 'README.md', 'LICENSE', 'package.json']) {
      assert.ok(files.includes(f), `missing ${f}`);
    }
    // The README's links into docs/ work in the installed package too.
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const linked = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((m) => m[1] ?? '')
      .filter((link) => link.startsWith('docs/')); // CONTRIBUTING and the example app are for the repository
    assert.ok(linked.length >= 5, `${linked.length} local links`);
    for (const link of linked) assert.ok(files.includes(link), `README links to ${link}, which the package lacks`);
    assert.ok(
      !files.some((f) => f.startsWith('lib/') || f.startsWith('test/') || f.startsWith('example-app/')),
      files.join(', '),
    );
  });

  for (const consumer of ['consumer.mjs', 'consumer.cjs']) {
    test(`with mongodb, ${consumer}: login, logout and a rejected replay over HTTP; every entry point loads`, async () => {
      const { entries } = await consumerRun(dir, consumer);
      assert.deepEqual(entries.mongodb, { MongoRevocationStore: 'function' }, entries.mongodbError?.message);
      // The control: the check above would have seen mongodb, had the root or /testing entry loaded it.
      assert.equal(entries.mongodbLoadedByMongodbEntry, true, 'mongodb files are not seen in require.cache');
      const esm = await consumerRun(dir, 'consumer.mjs');
      assert.deepEqual(entries.root, esm.entries.root, 'the ESM and CJS root entries export different names');
      assert.equal(entries.conformanceTests, esm.entries.conformanceTests);
    });

    test(`without mongodb, ${consumer}: the root entry works, /mongodb fails saying to npm install mongodb`, async () => {
      await assert.rejects(access(join(bare, 'node_modules', 'mongodb')), { code: 'ENOENT' });
      await access(join(bare, 'node_modules', 'express-revocable-jwt', 'package.json'));
      const { entries } = await consumerRun(bare, consumer);
      assert.equal(entries.mongodb, undefined, 'express-revocable-jwt/mongodb loaded without mongodb');
      assert.ok(entries.mongodbError?.isError, 'not an Error');
      assert.match(entries.mongodbError.message, /npm install mongodb/);
      assert.match(String(entries.mongodbError.causeCode), /MODULE_NOT_FOUND/);
    });
  }

  test(
    'types resolve for ESM and CJS consumers of every entry point (strict, module nodenext)',
    { timeout: 180_000 },
    async () => {
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const args = [
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
      ];
      // skipLibCheck false: our declaration files are checked too, not only what the consumers use of them.
      const inputs = ['--skipLibCheck', 'false', ...TYPED_CONSUMER_FILES, ...TYPED_MONGODB_CONSUMER_FILES];
      const exit = await runNode([tsc, ...args, ...inputs], dir);
      assert.equal(exit.code, 0, exit.stdout + exit.stderr);
    },
  );

  test('a third-party store passes the published suite under node --test, without mongodb installed', async () => {
    const exit = await runNode(['--test', '--test-reporter=tap', 'third-party-store.test.mjs'], bare);
    assert.equal(exit.code, 0, exit.stdout + exit.stderr);
    assert.match(exit.stdout, /^# Subtest: ThirdPartyStore conformance$/m);
    const counts = tapCounts(exit.stdout);
    // How many tests the packed runStoreConformance registers, counted by the consumer with a fake describe/it.
    const expected = (await consumerRun(bare, 'consumer.mjs')).entries.conformanceTests;
    assert.deepEqual(
      { tests: counts.tests, pass: counts.pass, fail: counts.fail, skipped: counts.skipped, todo: counts.todo },
      { tests: expected, pass: expected, fail: 0, skipped: 0, todo: 0 },
    );
  });

  test('the suite fails a third-party store whose revokeSession forgets: node --test exits non-zero', async () => {
    const exit = await runNode(['--test', '--test-reporter=tap', 'broken-store.test.mjs'], bare);
    assert.notEqual(exit.code, 0, exit.stdout);
    const counts = tapCounts(exit.stdout);
    assert.ok((counts.fail ?? 0) > 0, exit.stdout);
    assert.match(
      exit.stdout,
      /^ {4}not ok \d+ - revokeSession revokes that session of the user, not their other sessions$/m,
    );
  });

  test('express-revocable-jwt/redis loads with a driver installed, and without one says what to install', async () => {
    const probe = (kind: 'import' | 'require', cwd: string) =>
      run(
        process.execPath,
        kind === 'import'
          ? [
              '--input-type=module',
              '-e',
              "const m = await import('express-revocable-jwt/redis'); console.log(typeof m.RedisRevocationStore);",
            ]
          : ['-e', "console.log(typeof require('express-revocable-jwt/redis').RedisRevocationStore);"],
        { cwd },
      ).then(
        (r) => r.stdout.trim(),
        (error: { stderr: string }) => error.stderr,
      );
    assert.equal(await probe('import', dir), 'function');
    assert.equal(await probe('require', dir), 'function');
    // The same package in an app without `redis` or `ioredis` (a copy, so resolution starts from the app).
    const noRedis = await mkdtemp(join(tmpdir(), 'pack-no-redis-'));
    try {
      await mkdir(join(noRedis, 'node_modules'));
      await cp(
        join(dir, 'node_modules', 'express-revocable-jwt'),
        join(noRedis, 'node_modules', 'express-revocable-jwt'),
        {
          recursive: true,
        },
      );
      for (const name of await readdir(join(ROOT, 'node_modules'))) {
        if (['express-revocable-jwt', 'redis', 'ioredis', '@redis'].includes(name) || name.startsWith('.')) continue;
        await symlink(join(ROOT, 'node_modules', name), join(noRedis, 'node_modules', name));
      }
      for (const kind of ['import', 'require'] as const) {
        assert.match(
          await probe(kind, noRedis),
          /express-revocable-jwt\/redis needs the `redis` or `ioredis` package, which is not installed\. Install it in your app: `npm install redis` or `npm install ioredis`\./,
          kind,
        );
      }
    } finally {
      await rm(noRedis, { recursive: true, force: true });
    }
  });
});
