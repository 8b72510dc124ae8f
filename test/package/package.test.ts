// The package as users install it: `npm pack`, then imported by an ESM and a CJS consumer, with types.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mongoUri } from '../support/db.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));

describe('the packed package', () => {
  let dir: string;
  let files: string[];

  before(async () => {
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
  });
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
    const bare = await mkdtemp(join(tmpdir(), 'pack-no-redis-'));
    try {
      await mkdir(join(bare, 'node_modules'));
      await cp(
        join(dir, 'node_modules', 'express-revocable-jwt'),
        join(bare, 'node_modules', 'express-revocable-jwt'),
        {
          recursive: true,
        },
      );
      for (const name of await readdir(join(ROOT, 'node_modules'))) {
        if (['express-revocable-jwt', 'redis', 'ioredis', '@redis'].includes(name) || name.startsWith('.')) continue;
        await symlink(join(ROOT, 'node_modules', name), join(bare, 'node_modules', name));
      }
      for (const kind of ['import', 'require'] as const) {
        assert.match(
          await probe(kind, bare),
          /express-revocable-jwt\/redis needs the `redis` or `ioredis` package, which is not installed\. Install it in your app: `npm install redis` or `npm install ioredis`\./,
          kind,
        );
      }
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });

  test('types resolve for ESM and CJS consumers (strict, module nodenext)', async () => {
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
    await writeFile(join(dir, 'app.mjs'), block);
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
    } finally {
      child.kill();
    }
  });
});
