// Starts a throw-away redis-server (Debian's `redis-server`) on a free port with its own folder; used by the
// test runner, the Redis outage tests and the benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../ferretdb/launcher.js';

export const REDIS_SERVER_BINARY = process.env.REDIS_SERVER_BINARY ?? 'redis-server';

export interface RedisServer {
  url: string;
  port: number;
  dataDir: string;
  process: ChildProcess;
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); removes the data folder unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** Resolves once the server answers PING with PONG over a raw socket. */
async function waitForPong(port: number, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error(`redis-server exited before it was ready (port ${port} in use?)`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.setTimeout(250, () => socket.destroy());
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => {
        resolve(data.toString().startsWith('+PONG'));
        socket.destroy();
      });
      socket.on('close', () => resolve(false));
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts redis-server on 127.0.0.1. Persistence is off by default (`--save '' --appendonly no`); pass
 * `persistent: true` for AOF, `args` for other settings. Restart on the same port and folder with `{ port, dataDir }`.
 */
export async function startRedisServer(
  options: { port?: number; dataDir?: string; persistent?: boolean; args?: string[] } = {},
): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'redis-test-')));
  const persistence = options.persistent === true ? ['--appendonly', 'yes'] : ['--appendonly', 'no'];
  const child = spawn(
    REDIS_SERVER_BINARY,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dataDir,
      '--save',
      '',
      ...persistence,
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.on('exit', () => {
      exited = true;
      resolve();
    });
    child.on('error', (error) => {
      process.stderr.write(`cannot run ${REDIS_SERVER_BINARY}: ${error.message} (apt-get install redis-server)\n`);
      exited = true;
      resolve();
    });
  });
  try {
    await waitForPong(port, 15_000, () => exited);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dataDir,
    process: child,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async stop({ keepData = false } = {}) {
      if (!exited) {
        child.kill('SIGCONT'); // a paused server cannot act on SIGTERM
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(timer);
      }
      if (!keepData && options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The Redis the tests use: REDIS_URL (set by `npm test`, or by you to point at another server). */
export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (url === undefined || url === '')
    throw new Error('REDIS_URL is not set: run the tests with `npm test`, which starts a redis-server.');
  return url;
}
