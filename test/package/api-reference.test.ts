// The API reference in docs/api/ is generated from the TSDoc of the public exports (`npm run docs`, typedoc).
// This test generates it again: it must come out without a warning (every public export documented, no broken
// link) and equal, file for file, to what the repository holds, so the reference never lags the code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../support/doc-blocks.js';

const run = promisify(execFile);

/** Every file under `dir`, relative, with its content. */
async function tree(dir: string): Promise<Map<string, string>> {
  const files = await readdir(dir, { recursive: true, withFileTypes: true });
  const out = new Map<string, string>();
  for (const f of files.filter((e) => e.isFile()).sort((a, b) => a.parentPath.localeCompare(b.parentPath))) {
    const path = join(f.parentPath, f.name);
    out.set(path.slice(dir.length + 1), await readFile(path, 'utf8'));
  }
  return out;
}

test('npm run docs is warning-free and docs/api/ is what it generates', { timeout: 120_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'api-reference-'));
  try {
    const typedoc = join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
    // typedoc.json treats warnings as errors: a public export without TSDoc fails here.
    const { stdout } = await run(process.execPath, [typedoc, '--out', out], { cwd: ROOT }).catch(
      (error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`typedoc failed:\n${error.stdout ?? ''}${error.stderr ?? error.message}`);
      },
    );
    assert.doesNotMatch(stdout, /warning/i, stdout);
    const generated = await tree(out);
    const committed = await tree(join(ROOT, 'docs', 'api'));
    assert.ok(generated.size >= 20, `${generated.size} pages generated`);
    assert.deepEqual(
      [...committed.keys()].sort(),
      [...generated.keys()].sort(),
      'run `npm run docs` and commit docs/api/',
    );
    for (const [file, text] of generated)
      assert.equal(committed.get(file), text, `docs/api/${file} is stale: run \`npm run docs\` and commit docs/api/`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
