// The package as users install it: `npm pack`, then imported by an ESM and a CJS consumer, with types.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { mongoUri } from '../support/db.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));

describe('the packed package', () => {
  let dir: string;
  let files: string[];

  before(
    async () => {
      dir = await mkdtemp(join(tmpdir(), 'pack-consumer-'));
      const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
        cwd: ROOT,
      });
      const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
      files = info.files.map((f) => f.path);
      const modules = join(dir, 'node_modules');
      await mkdir(join(modules, 'express-revocable-jwt'), { recursive: true });
      await run('tar', [
        '-xzf',
        join(dir, info.filename),
        '-C',
        join(modules, 'express-revocable-jwt'),
        '--strip-components=1',
      ]);
      // Dependencies come from this repository's install, as npm would have installed them beside the package.
      for (const name of await readdir(join(ROOT, 'node_modules'))) {
        if (name === 'express-revocable-jwt' || name.startsWith('.')) continue;
        await symlink(join(ROOT, 'node_modules', name), join(modules, name));
      }
      for (const file of ['consumer.mjs', 'consumer.cjs', 'round-trip.mjs', 'consumer-esm.ts', 'consumer-cjs.cts'])
        await cp(join(HERE, file), join(dir, file));
      await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    },
    { timeout: 180_000 },
  );
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('ships the ESM and CJS builds with types, and no sources or tests', () => {
    for (const f of [
      'dist/esm/index.js',
      'dist/esm/index.d.ts',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/package.json',
      'README.md',
      'LICENSE',
      'package.json',
    ]) {
      assert.ok(files.includes(f), `missing ${f}`);
    }
    assert.ok(
      !files.some((f) => f.startsWith('lib/') || f.startsWith('test/') || f.startsWith('example-app/')),
      files.join(', '),
    );
  });

  for (const consumer of ['consumer.mjs', 'consumer.cjs']) {
    test(`${consumer}: import, login, logout and a rejected replay over HTTP`, async () => {
      const { stdout } = await run(process.execPath, [consumer], { cwd: dir });
      const result = JSON.parse(stdout) as Record<string, unknown>;
      assert.deepEqual(
        { ...result, format: undefined },
        {
          format: undefined,
          me: { sub: 'alice' },
          logoutStatus: 204,
          replayStatus: 401,
          replayCode: 'session_revoked',
          errorClass: true,
        },
      );
    });
  }

  test('types resolve for ESM and CJS consumers (strict, module nodenext)', { timeout: 180_000 }, async () => {
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
      '--skipLibCheck',
      'false',
      'consumer-esm.ts',
      'consumer-cjs.cts',
    ];
    const result = await run(process.execPath, [tsc, ...args], { cwd: dir }).catch((error: { stdout: string }) => ({
      stdout: error.stdout,
      failed: true,
    }));
    assert.ok(!('failed' in result), result.stdout);
  });

  test('the README quick start runs as pasted: login, /me, logout, and the copied cookie is rejected', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const block = /```js\n(\/\/ app\.mjs[\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block !== undefined, 'the quick start block was not found in README.md');
    // The block names its database `app`, as a reader's app would; the test runs it on a database of its own
    // (a fixed prefix and a random part) and drops it afterwards, so a real MONGODB_URI is never written into.
    const literal = "dbName: 'app'";
    assert.equal(block.split(literal).length, 2, `the quick start must name its database once, as ${literal}`);
    const dbName = `t_readme_${randomBytes(4).toString('hex')}`;
    await writeFile(join(dir, 'app.mjs'), block.replace(literal, `dbName: '${dbName}'`));
    const admin = new MongoClient(mongoUri(), { serverSelectionTimeoutMS: 5000 });
    const databases = async () =>
      new Set((await admin.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name));
    const existing = await databases();
    const child = spawn(process.execPath, ['app.mjs'], {
      cwd: dir,
      env: { ...process.env, PORT: '0', MONGODB_URI: mongoUri() },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the quick start app did not start within 20 s')), 20_000);
        child.stdout.on('data', (chunk: Buffer) => {
          const match = /listening on (http:\/\/\S+)/.exec(chunk.toString());
          if (match?.[1] !== undefined) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`the quick start app exited with ${code}`)));
      });
      const login = await fetch(`${base}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice' }),
      });
      assert.equal(login.status, 200);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const me = (await (await fetch(`${base}/me`, { headers: { cookie } })).json()) as { sub: string };
      assert.equal(me.sub, 'alice');
      assert.equal((await fetch(`${base}/logout`, { method: 'POST', headers: { cookie } })).status, 204);
      const replay = await fetch(`${base}/me`, { headers: { cookie } });
      assert.equal(replay.status, 401);
      assert.equal(((await replay.json()) as { error: { code: string } }).error.code, 'session_revoked');
      // Other test files create their own `t_` databases meanwhile; the quick start must have used only its own.
      const created = [...(await databases())].filter((name) => !existing.has(name) && !name.startsWith('t_'));
      assert.deepEqual(created, [], 'the quick start wrote into a database without the test prefix');
      assert.ok((await databases()).has(dbName), 'the quick start used the database given to it');
    } finally {
      child.kill();
      await admin
        .db(dbName)
        .dropDatabase()
        .finally(() => admin.close());
    }
  });
});
