// Builds (once) and starts the bundled FerretDB test server; used by the test runner, `npm run db`, the
// example app and the benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const FERRETDB_BINARY = join(HERE, 'bin', 'ferretdb-test');
const SOURCES = ['main.go', 'go.mod', 'go.sum'];

export interface FerretDbServer {
  uri: string;
  port: number;
  dataDir: string;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s); removes the data folder unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

/** Builds the launcher with Go unless an up-to-date binary exists. The first build takes a few minutes. */
export async function ensureFerretDbBinary(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<string> {
  const built = await stat(FERRETDB_BINARY).catch(() => undefined);
  const newestSource = Math.max(...(await Promise.all(SOURCES.map(async (f) => (await stat(join(HERE, f))).mtimeMs))));
  if (built !== undefined && built.mtimeMs >= newestSource) return FERRETDB_BINARY;
  log('Building the FerretDB test server with Go (a few minutes the first time, cached afterwards)...');
  await new Promise<void>((resolve, reject) => {
    const go = spawn('go', ['build', '-trimpath', '-o', FERRETDB_BINARY, '.'], {
      cwd: HERE,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    go.on('error', (error) =>
      reject(
        new Error(`cannot run \`go\` (${error.message}); install Go >= 1.24 or set MONGODB_URI to a running MongoDB`),
      ),
    );
    go.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`go build of the FerretDB launcher failed with exit code ${code}`)),
    );
  });
  return FERRETDB_BINARY;
}

/** A TCP port that is free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Starts FerretDB (SQLite backend) on 127.0.0.1 and resolves once it answers `ping`. */
export async function startFerretDb(options: { port?: number; dataDir?: string } = {}): Promise<FerretDbServer> {
  const binary = await ensureFerretDbBinary();
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ferretdb-')));
  const child = spawn(binary, ['-listen', `127.0.0.1:${port}`, '-dir', dataDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  const uri = `mongodb://127.0.0.1:${port}/`;
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited !== undefined)
        throw new Error(`FerretDB exited with code ${exited} before it was ready (port ${port} in use?)`);
      // A fresh client per attempt: a client whose first connection failed does not try again.
      const client = new MongoClient(uri, { serverSelectionTimeoutMS: 250, connectTimeoutMS: 250 });
      try {
        await client.db('admin').command({ ping: 1 });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`FerretDB did not answer on ${uri} within 30 s`, { cause: error });
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        await client.close();
      }
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    uri,
    port,
    dataDir,
    process: child,
    async stop({ keepData = false } = {}) {
      if (exited === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(timer);
      }
      if (!keepData && options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
