// The package as users install it: `npm pack` of this repository, unpacked into a consumer folder whose
// node_modules has every dependency of this repository beside it (as npm would have installed them).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './doc-blocks.js';

const run = promisify(execFile);

export interface Packed {
  /** The temporary folder of the tarball and the consumers; removed by `remove()`. */
  work: string;
  tarball: string;
  /** The files the tarball holds. */
  files: string[];
  remove(): Promise<void>;
}

/** `npm pack` into a temporary folder (the build in dist/ must be current: `npm test` builds first). */
export async function pack(label: string): Promise<Packed> {
  const work = await mkdtemp(join(tmpdir(), `${label}-`));
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
    cwd: ROOT,
  });
  const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  return {
    work,
    tarball: join(work, info.filename),
    files: info.files.map((f) => f.path),
    remove: () => rm(work, { recursive: true, force: true }),
  };
}

/** A consumer folder (`type: module`) with the tarball unpacked as `express-revocable-jwt` and every dependency. */
export async function consumerWithDependencies(packed: Packed, name: string): Promise<string> {
  const dir = join(packed.work, name);
  const modules = join(dir, 'node_modules');
  await mkdir(join(modules, 'express-revocable-jwt'), { recursive: true });
  await run('tar', ['-xzf', packed.tarball, '-C', join(modules, 'express-revocable-jwt'), '--strip-components=1']);
  for (const dependency of await readdir(join(ROOT, 'node_modules'))) {
    if (dependency === 'express-revocable-jwt' || dependency.startsWith('.')) continue;
    await symlink(join(ROOT, 'node_modules', dependency), join(modules, dependency));
  }
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  return dir;
}
