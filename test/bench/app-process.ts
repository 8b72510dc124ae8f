// One scenario app in its own process: `node --import tsx test/bench/app-process.ts <scenario>`, forked by
// run.ts with the settings in BENCH_* variables. Listens on a free port of 127.0.0.1 and reports it over IPC
// (with BENCH_DEFER_START=1: loads the package, reports `loaded`, and builds the app on the `start` command).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp, preloadApp, type BuiltApp } from './apps.js';
import { isScenario, type AppCommand, type AppMessage } from './shared.js';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '')
    throw new Error(`${name} is not set (this process is started by test/bench/run.ts)`);
  return value;
}

const scenario = process.argv[2] ?? '';
if (!isScenario(scenario)) throw new Error(`unknown scenario ${JSON.stringify(scenario)}`);

function send(message: AppMessage): void {
  process.send?.(message);
}

/** The app and its server, once built (with BENCH_DEFER_START, on the `start` command). */
const current: { built?: BuiltApp; server?: Server } = {};
let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  const { server, built } = current;
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await built?.close();
  process.exit(0);
}

// BENCH_DEFER_START=1: the package is loaded now, the app built on the orchestrator's `start`.
let startRequested = (): void => undefined;
const startCommand = new Promise<void>((resolve) => (startRequested = resolve));

process.on('message', (command: AppCommand) => {
  const { built } = current;
  if (command.type === 'start') {
    startRequested();
  } else if (command.type === 'shutdown') {
    void shutdown();
  } else if (built === undefined) {
    // Not built yet (deferred start): nothing to report; the orchestrator asks only once it is ready.
  } else if (command.type === 'stats') {
    send({ type: 'stats', stats: built.stats() });
  } else if (command.type === 'heap') {
    // With BENCH_APP_FLAGS=--expose-gc the heap is measured after a full collection: a leak shows there.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const { heapUsed, external, arrayBuffers } = process.memoryUsage();
    send({ type: 'heap', heapUsed, afterGc: gc !== undefined, external, arrayBuffers });
  } else {
    // A failure here is the benchmark's own bug: let it end the process (the orchestrator then stops).
    void (built.background?.(command.on) ?? Promise.resolve()).then(() => send({ type: 'background', on: command.on }));
  }
});
// The orchestrator went away (crash, Ctrl-C): do not linger.
process.on('disconnect', () => void shutdown());

if (process.env.BENCH_DEFER_START === '1') {
  await preloadApp(scenario);
  send({ type: 'loaded', pid: process.pid });
  await startCommand;
}

const built = await buildApp(scenario, {
  secret: required('BENCH_SECRET'),
  mongoUri: required('BENCH_MONGODB_URI'),
  dbName: required('BENCH_DB_NAME'),
  redisUrl: process.env.BENCH_REDIS_URL ?? '',
  redisClusterNodes: process.env.BENCH_REDIS_CLUSTER ?? '',
  users: Number(process.env.BENCH_USERS ?? 0),
  refreshSharePerSecond: Number(process.env.BENCH_REFRESH_SHARE ?? 0.01),
});
const server = createServer(built.app);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
current.built = built;
current.server = server;

send({
  type: 'ready',
  port: (server.address() as AddressInfo).port,
  pid: process.pid,
  ...(built.startup === undefined ? {} : { startup: built.startup }),
});
