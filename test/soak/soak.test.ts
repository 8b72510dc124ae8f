// The short soak in `npm test`: one minute of `npm run soak`, sampled every 15 s.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('soak, short version: 1 minute of mixed traffic on FerretDB', { timeout: 180_000 }, async () => {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/soak/soak.ts'], {
    cwd: ROOT,
    env: { ...process.env, SOAK_MINUTES: '1', SOAK_SAMPLE_SECONDS: '15' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  console.log(
    output
      .split('\n')
      .filter((l) => l.startsWith('|') || l.startsWith('{') || l.startsWith('SOAK'))
      .map((l) => `# ${l}`)
      .join('\n'),
  );
  assert.equal(code, 0, output);
});
