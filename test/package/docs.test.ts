// The documents as code: every TypeScript and JavaScript block of README.md, docs/, CONTRIBUTING.md and
// example-app/README.md compiles under strict against the packed package; every complete program runs and
// answers what its transcript documents; a store's documented conformance test passes under node --test.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { freePort } from '../ferretdb/launcher.js';
import { mongoUri } from '../support/db.js';
import { compilationUnit, displayName, ROOT, scriptBlocks, type CodeBlock } from '../support/doc-blocks.js';
import { consumerWithDependencies, pack, type Packed } from '../support/packed.js';
import { replayTranscript } from '../support/transcript.js';

const run = promisify(execFile);
const blocks = scriptBlocks();
const programs = blocks.filter((b) => b.program !== undefined);

/** Starts `file` in `dir` on a free port; resolves with its base URL and a stop function. */
async function start(dir: string, file: string, env: Record<string, string>) {
  const port = await freePort();
  const child = spawn(process.execPath, [file], {
    cwd: dir,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start within 20 s:\n${output}`)), 20_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => reject(new Error(`${file} exited with ${code}:\n${output}`)));
  });
  return { base, stop: () => child.kill() };
}

describe('the documents, as code, against the packed package', { concurrency: true }, () => {
  let packed: Packed;
  let dir: string;
  before(
    async () => {
      packed = await pack('docs');
      dir = await consumerWithDependencies(packed, 'docs');
    },
    { timeout: 120_000 },
  );
  after(async () => {
    await packed?.remove();
  });

  test('there are blocks to check, and a block that cannot compile says why', () => {
    assert.ok(blocks.length >= 10, `${blocks.length} TypeScript and JavaScript blocks found`);
    assert.ok(programs.length >= 4, `${programs.length} programs found`);
    // A route behind requireAuth reads its session with auth.sessionOf(req), never with `!` or `?.`.
    for (const b of blocks)
      assert.doesNotMatch(b.code, /\b(req\.auth|sessionOf\([^)]*\))(!|\?\.)/, `${displayName(b)}`);
    for (const b of blocks.filter((x) => x.info.startsWith('nocheck')))
      assert.match(b.info, /^nocheck: \S.{10,}/, `${displayName(b)}: nocheck needs a reason`);
  });

  test('every TypeScript and JavaScript block compiles under strict', { timeout: 180_000 }, async () => {
    const units = new Map<string, CodeBlock>();
    await mkdir(join(dir, 'snippets'), { recursive: true });
    for (const block of blocks.filter((b) => !b.info.startsWith('nocheck'))) {
      const unit = compilationUnit(block);
      units.set(unit.name, block);
      await writeFile(join(dir, 'snippets', unit.name), unit.text);
    }
    const tsconfig = {
      compilerOptions: {
        strict: true,
        noEmit: true,
        allowJs: true,
        checkJs: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        types: ['node'],
        skipLibCheck: true,
      },
      include: ['snippets'],
    };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const exit = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir }).then(
      () => '',
      (error: { stdout?: string; message?: string }) => error.stdout ?? error.message ?? 'tsc failed',
    );
    // Each error names the document and the line of its block, not the generated file.
    const readable = exit.replace(/snippets\/([\w.]+?)\((\d+),\d+\)/g, (whole, name: string, line: string) => {
      const block = units.get(name);
      return block === undefined ? whole : `${displayName(block)} (line ${line} of the unit)`;
    });
    assert.equal(readable, '', readable);
  });

  for (const program of programs) {
    const name = program.program ?? '';
    if (name.endsWith('.test.mjs')) {
      test(`${displayName(program)}: ${name} passes under node --test`, { timeout: 120_000 }, async () => {
        for (const module of programs.filter((p) => p.doc === program.doc))
          await writeFile(join(dir, module.program ?? ''), module.code);
        const env = { ...process.env };
        delete env.NODE_TEST_CONTEXT;
        const { stdout } = await run(process.execPath, ['--test', '--test-reporter=tap', name], { cwd: dir, env });
        assert.match(stdout, /^# pass [1-9]\d*$/m, stdout);
        assert.match(stdout, /^# fail 0$/m, stdout);
      });
      continue;
    }
    if (program.transcript === undefined) continue;
    const transcript = program.transcript;
    test(`${displayName(program)}: ${name} runs and answers as its transcript says`, { timeout: 120_000 }, async () => {
      // A program that names its database `app`, as a reader's would, runs on one of its own here (dropped
      // afterwards), so a real MONGODB_URI is never written into.
      const literal = "dbName: 'app'";
      const dbName = `t_docs_${randomBytes(4).toString('hex')}`;
      await writeFile(join(dir, name), program.code.replace(literal, `dbName: '${dbName}'`));
      const { base, stop } = await start(dir, name, { MONGODB_URI: mongoUri() });
      try {
        const replayed = await replayTranscript(transcript.code, base, displayName(transcript));
        assert.ok(replayed >= 3, `${replayed} documented answers replayed`);
      } finally {
        stop();
        if (program.code.includes(literal)) {
          const admin = new MongoClient(mongoUri(), { serverSelectionTimeoutMS: 5000 });
          await admin
            .db(dbName)
            .dropDatabase()
            .finally(() => admin.close());
        }
      }
    });
  }
});
