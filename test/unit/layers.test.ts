// The layers of lib/: a folder imports only from folders below it, so a reader can take them bottom up. core/
// is the kernel (limits, ids, errors); config/ and token/ build on it alone; stores/ on those; revocation/ on
// stores/; http/ on revocation/; the public factories and entry points sit at the top.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const LIB = fileURLToPath(new URL('../../lib/', import.meta.url));
/** What each folder may import from (besides itself); `''` is lib/ itself (the factories and entry points). */
const MAY_IMPORT: Record<string, string[]> = {
  core: [],
  config: ['core'],
  token: ['core'],
  stores: ['core', 'config'],
  testing: ['core', 'stores'],
  revocation: ['core', 'config', 'stores'],
  http: ['core', 'config', 'token', 'stores', 'revocation'],
  '': ['core', 'config', 'token', 'stores', 'revocation', 'http', 'testing'],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}
const folderOf = (path: string) => {
  const parts = relative(LIB, path).split(sep);
  return parts.length > 1 ? (parts[0] as string) : '';
};

test('no folder of lib/ imports from a folder above it', () => {
  const wrong: string[] = [];
  const all = files(LIB);
  assert.ok(all.length > 40, `${all.length} files read`);
  for (const file of all) {
    const from = folderOf(file);
    assert.ok(from in MAY_IMPORT, `lib/${from}/ is a folder the layering does not know`);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const to = folderOf(normalize(join(dirname(file), spec as string)));
      if (to !== from && !(MAY_IMPORT[from] ?? []).includes(to))
        wrong.push(`${relative(LIB, file)} imports ${spec} (lib/${to}/)`);
    }
  }
  assert.deepEqual(wrong, []);
});
