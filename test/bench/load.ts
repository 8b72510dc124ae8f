// The load generator, in its own process: `node --import tsx test/bench/load.ts`, driven over IPC by run.ts.
// autocannon sends GET /me with a different session cookie on every request (the cookies rotate through the
// whole set); this process measures only the window after the warm-up, from its own per-response records.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { cpuSeconds, machineBusySeconds, rssBytes } from './proc.js';
import {
  COOKIE_NAME,
  type CheckerResult,
  type CheckerSpec,
  type CpuSample,
  type LoadCommand,
  type LoadMessage,
  type LoadResult,
  type LoadSpec,
} from './shared.js';

const cookieSets = new Map<string, string[]>();

function send(message: LoadMessage): void {
  process.send?.(message);
}

/** autocannon's per-connection request iterator: the context of the request a response belongs to. */
interface ClientInternals {
  requestIterator?: { context?: { i?: number; sent?: number } };
}

interface CpuMark {
  app: number;
  db: number;
  load: number;
  machine: number;
}

function cpuMark(pids: LoadSpec['pids']): CpuMark {
  const own = process.cpuUsage();
  return {
    app: cpuSeconds(pids.app),
    db:
      pids.db === undefined
        ? Number.NaN
        : (typeof pids.db === 'number' ? [pids.db] : pids.db).reduce((sum, pid) => sum + cpuSeconds(pid), 0),
    load: (own.user + own.system) / 1e6,
    machine: machineBusySeconds(),
  };
}

/**
 * The session cookie a response sets (`session=<token>`, as a browser would send it back), or undefined when it
 * sets none or expires it (`Max-Age=0`: not adopted, the rotation keeps the cookie it had).
 */
function sessionCookieSet(headers: Record<string, string | string[]>): string | undefined {
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'set-cookie') continue;
    for (const line of Array.isArray(value) ? value : [value]) {
      const [pair = '', ...attributes] = line.split(';');
      if (!pair.startsWith(`${COOKIE_NAME}=`) || pair.length === COOKIE_NAME.length + 1) continue;
      if (attributes.some((a) => a.trim().toLowerCase() === 'max-age=0')) continue;
      return pair.trim();
    }
  }
  return undefined;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** One request with node:http on a dedicated keep-alive connection; resolves to the status code. */
function httpRequest(agent: Agent, url: URL, method: string, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: method === 'GET' ? '/me' : method === 'POST-ALL' ? '/logout-all' : '/logout',
        method: method === 'GET' ? 'GET' : 'POST',
        headers: { cookie },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * The correctness check: while autocannon runs, one extra connection keeps requesting /me with the victims'
 * cookies; at `atSeconds` one victim logs out everywhere and another logs out one device, over HTTP. Every
 * request sent after a logout's response arrived must be refused, here and in autocannon's rotation.
 */
class Checker {
  readonly revokedAt = new Map<number, number>();
  sentAfter = 0;
  acceptedAfter = 0;
  acceptedBefore = 0;
  firstAfterAll: number | undefined;
  firstAfterOne: number | undefined;
  logoutAllMs = Number.NaN;
  logoutOneMs = Number.NaN;
  #running = true;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 2 });
  readonly #loop: Promise<void>;
  readonly #allCookies: Set<string>;
  readonly #cookieRevokedAt = new Map<string, number>();

  constructor(
    private readonly spec: CheckerSpec,
    private readonly url: URL,
  ) {
    this.#allCookies = new Set([spec.logoutAll.cookie, ...spec.logoutAll.otherCookies]);
    this.#loop = this.#run();
  }

  async revoke(): Promise<void> {
    const url = this.url;
    const all = (async () => {
      const started = performance.now();
      const status = await httpRequest(this.#agent, url, 'POST-ALL', this.spec.logoutAll.cookie);
      const done = performance.now();
      if (status !== 204) throw new Error(`POST /logout-all answered ${status}`);
      this.logoutAllMs = done - started;
      for (const cookie of this.#allCookies) this.#cookieRevokedAt.set(cookie, done);
      for (const index of this.spec.logoutAll.tokenIndexes) this.revokedAt.set(index, done);
    })();
    const one = (async () => {
      const started = performance.now();
      const status = await httpRequest(this.#agent, url, 'POST-ONE', this.spec.logoutOne.cookie);
      const done = performance.now();
      if (status !== 204) throw new Error(`POST /logout answered ${status}`);
      this.logoutOneMs = done - started;
      this.#cookieRevokedAt.set(this.spec.logoutOne.cookie, done);
      for (const index of this.spec.logoutOne.tokenIndexes) this.revokedAt.set(index, done);
    })();
    await Promise.all([all, one]);
  }

  /** A response seen by autocannon for rotation index `index`, sent at `sent` (performance.now()). */
  observe(index: number, sent: number, status: number): void {
    const revokedAt = this.revokedAt.get(index);
    if (revokedAt === undefined) {
      if (status >= 200 && status < 300 && this.#isVictimIndex(index)) this.acceptedBefore++;
      return;
    }
    if (sent < revokedAt) return;
    this.sentAfter++;
    if (status >= 200 && status < 300) this.acceptedAfter++;
  }

  async stop(): Promise<CheckerResult> {
    this.#running = false;
    await this.#loop;
    this.#agent.destroy();
    return {
      logoutAllMs: this.logoutAllMs,
      logoutOneMs: this.logoutOneMs,
      sentAfter: this.sentAfter,
      acceptedAfter: this.acceptedAfter,
      firstStatusAfterLogoutAll: this.firstAfterAll,
      firstStatusAfterLogoutOne: this.firstAfterOne,
      acceptedBefore: this.acceptedBefore,
    };
  }

  #isVictimIndex(index: number): boolean {
    return this.spec.logoutAll.tokenIndexes.includes(index) || this.spec.logoutOne.tokenIndexes.includes(index);
  }

  async #run(): Promise<void> {
    const cookies = [...this.#allCookies, this.spec.logoutOne.cookie];
    for (let n = 0; this.#running; n++) {
      const cookie = cookies[n % cookies.length] as string;
      const sent = performance.now();
      const status = await httpRequest(this.#agent, this.url, 'GET', cookie);
      const revokedAt = this.#cookieRevokedAt.get(cookie);
      const ok = status >= 200 && status < 300;
      if (revokedAt === undefined || sent < revokedAt) {
        if (ok) this.acceptedBefore++;
        continue;
      }
      this.sentAfter++;
      if (ok) this.acceptedAfter++;
      if (this.#allCookies.has(cookie)) this.firstAfterAll ??= status;
      else this.firstAfterOne ??= status;
    }
  }
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const cookies = cookieSets.get(spec.cookieSet);
  if (cookies === undefined || cookies.length === 0) throw new Error(`no cookies loaded as ${spec.cookieSet}`);
  const url = new URL(spec.url);
  const count = cookies.length;
  let next = 0;
  let measuring = false;
  let latencies = new Float64Array(1 << 16);
  let recorded = 0;
  let total = 0;
  let errors = 0;
  let non2xx = 0;
  const statusCounts: Record<string, number> = {};
  let checker: Checker | undefined;
  let adopted = 0;
  const rssSeries: { atSeconds: number; rss: number }[] = [];

  const instance = autocannon(
    {
      url: `${url.origin}/me`,
      connections: spec.connections,
      duration: spec.warmupSeconds + spec.durationSeconds + 30,
      timeout: 10,
      requests: [
        {
          method: 'GET',
          path: '/me',
          setupRequest(req, context) {
            const i = next;
            next = next + 1 === count ? 0 : next + 1;
            context.i = i;
            context.sent = performance.now();
            req.headers = { ...req.headers, cookie: cookies[i] as string };
            return req;
          },
          // A browser keeps the cookie it is given: a re-issued token replaces the one of its rotation index.
          ...(spec.adoptCookies === true
            ? {
                onResponse(_status, _body, context, headers) {
                  const cookie = sessionCookieSet(headers);
                  const i = context.i;
                  if (cookie === undefined || typeof i !== 'number') return;
                  cookies[i] = cookie;
                  adopted++;
                },
              }
            : {}),
        },
      ],
    },
    () => undefined,
  );

  instance.on('response', (client: ClientInternals, status: number, _bytes: number, responseTime: number) => {
    total++;
    if (checker !== undefined) {
      const context = client.requestIterator?.context;
      if (context?.i !== undefined && context.sent !== undefined) checker.observe(context.i, context.sent, status);
    }
    if (!measuring) return;
    if (recorded === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[recorded++] = responseTime;
    if (status < 200 || status >= 300) non2xx++;
    const key = String(status);
    statusCounts[key] = (statusCounts[key] ?? 0) + 1;
  });
  instance.on('reqError', () => {
    if (measuring) errors++;
  });

  const finished = new Promise<void>((resolve) => instance.once('done', () => resolve()));
  const loadStarted = performance.now();
  const rssTimer =
    spec.rssEverySeconds === undefined
      ? undefined
      : setInterval(
          () =>
            rssSeries.push({
              atSeconds: Math.round((performance.now() - loadStarted) / 100) / 10,
              rss: rssBytes(spec.pids.app),
            }),
          spec.rssEverySeconds * 1000,
        );

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await sleep(spec.warmupSeconds * 1000);
  const startMark = cpuMark(spec.pids);
  const windowStart = performance.now();
  measuring = true;
  if (spec.checker !== undefined) {
    checker = new Checker(spec.checker, url);
    await sleep(spec.checker.atSeconds * 1000);
    await checker.revoke();
  }
  const remaining = windowStart + spec.durationSeconds * 1000 - performance.now();
  if (remaining > 0) await sleep(remaining);
  measuring = false;
  const endMark = cpuMark(spec.pids);
  const windowSeconds = (performance.now() - windowStart) / 1000;
  const appRss = rssBytes(spec.pids.app);
  if (rssTimer !== undefined) clearInterval(rssTimer);
  instance.stop();
  await finished;
  const checkerResult = await checker?.stop();

  const sorted = latencies.slice(0, recorded).sort();
  const cpu: CpuSample = {
    app: endMark.app - startMark.app,
    db: spec.pids.db === undefined ? undefined : endMark.db - startMark.db,
    load: endMark.load - startMark.load,
    machine: endMark.machine - startMark.machine,
  };
  return {
    connections: spec.connections,
    seconds: windowSeconds,
    requests: recorded,
    totalResponses: total,
    rps: recorded / windowSeconds,
    meanMs: recorded === 0 ? Number.NaN : sorted.reduce((sum, v) => sum + v, 0) / recorded,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors,
    non2xx,
    statusCounts,
    cpu,
    appRss,
    ...(spec.rssEverySeconds === undefined ? {} : { rssSeries }),
    ...(checkerResult === undefined ? {} : { checker: checkerResult }),
    ...(spec.adoptCookies === true ? { cookiesAdopted: adopted } : {}),
  };
}

process.on('message', (command: LoadCommand) => {
  if (command.type === 'cookies') {
    cookieSets.set(command.name, command.cookies);
    send({ type: 'cookies-loaded', name: command.name });
  } else if (command.type === 'run') {
    run(command.spec).then(
      (result) => send({ type: 'result', result }),
      (error: unknown) =>
        send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  } else {
    process.disconnect();
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
