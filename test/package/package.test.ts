// The package as users install it: `npm pack`, then imported by an ESM and a CJS consumer, with types.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));

describe('the packed package', () => {
  let dir: string;
  let files: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pack-consumer-'));
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT });
    const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
    files = info.files.map((f) => f.path);
    const modules = join(dir, 'node_modules');
    await mkdir(join(modules, 'express-revocable-jwt'), { recursive: true });
    await run('tar', ['-xzf', join(dir, info.filename), '-C', join(modules, 'express-revocable-jwt'), '--strip-components=1']);
    // Dependencies come from this repository's install, as npm would have installed them beside the package.
    for (const name of await readdir(join(ROOT, 'node_modules'))) {
      if (name === 'express-revocable-jwt' || name.startsWith('.')) continue;
      await symlink(join(ROOT, 'node_modules', name), join(modules, name));
    }
    for (const file of ['consumer.mjs', 'consumer.cjs', 'round-trip.mjs', 'consumer-esm.ts', 'consumer-cjs.cts']) await cp(join(HERE, file), join(dir, file));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('ships the ESM and CJS builds with types, and no sources or tests', () => {
    for (const f of ['dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json', 'README.md', 'LICENSE', 'package.json']) {
      assert.ok(files.includes(f), `missing ${f}`);
    }
    assert.ok(!files.some((f) => f.startsWith('lib/') || f.startsWith('test/') || f.startsWith('example-app/')), files.join(', '));
  });

  for (const consumer of ['consumer.mjs', 'consumer.cjs']) {
    test(`${consumer}: import, login, logout and a rejected replay over HTTP`, async () => {
      const { stdout } = await run(process.execPath, [consumer], { cwd: dir });
      const result = JSON.parse(stdout) as Record<string, unknown>;
      assert.deepEqual({ ...result, format: undefined }, {
        format: undefined,
        me: { sub: 'alice' },
        logoutStatus: 204,
        replayStatus: 401,
        replayCode: 'session_revoked',
        errorClass: true,
      });
    });
  }

  test('types resolve for ESM and CJS consumers (strict, module nodenext)', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', '--skipLibCheck', 'false', 'consumer-esm.ts', 'consumer-cjs.cts'];
    const result = await run(process.execPath, [tsc, ...args], { cwd: dir }).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
    assert.ok(!('failed' in result), result.stdout);
  });
});
