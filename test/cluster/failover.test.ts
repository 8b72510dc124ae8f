// Failover under load on a real Redis Cluster of the test's own (six nodes; it kills them, so never the cluster
// in REDIS_CLUSTER_NODES). Two app instances, one on node-redis `createCluster` and one on ioredis `Cluster`,
// take steady sign-ins, checks, logouts and logouts everywhere while the primary of a busy user's slot is
// SIGKILLed, and later the primary of the change feed's slot; a supervisor starts each again 5 s later (it
// rejoins as a replica). Measured: how long requests answer 503 and when service resumes by itself, that no
// request outlasts storeTimeoutMs, and how many logouts that answered 204 are lost (their cookie accepted
// again once the cluster is whole). With `waitReplicas: 1` none may be lost; without `WAIT` the loss is
// reported (docs/redis.md keeps the figures).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorCodeOf, loadClient, sessionCookieOf } from '../support/listen.js';
import { startRedisCluster, waitForCluster, type RedisCluster } from '../support/redis-cluster.js';
import { randomPrefix } from '../support/redis-clients.js';
import { startClusterApps } from './cluster-apps.js';

const STORE_TIMEOUT_MS = 1000;
const WORKERS = 16;
/** How long the supervisor waits before it starts a killed node again. */
const RESTART_AFTER_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Step = 'login' | 'check' | 'logout' | 'logout-all';
interface Sample {
  step: Step;
  sub: string;
  start: number;
  end: number;
  status: number;
  code: string | undefined;
}

/** What one failover round saw. */
interface Round {
  samples: Sample[];
  /** Cookies whose logout (or logout everywhere) answered 204. */
  acknowledged: string[];
  /** Each kill: when, which node, and when the cluster was whole again (the node restarted and in sync). */
  kills: { what: string; at: number; port: number; wholeAt: number }[];
  /** Acknowledged logouts whose cookie was accepted again once the cluster was whole. */
  lost: number;
}

describe('failover under load on a Redis Cluster', { timeout: 300_000 }, () => {
  let cluster: RedisCluster;
  const { call, close } = loadClient();

  before(async () => {
    cluster = await startRedisCluster();
  });
  after(async () => {
    close();
    await cluster?.stop();
  });

  /**
   * Two instances on the cluster with `waitReplicas`; workers sign in, check, and log out (every fourth time
   * everywhere), a third of them as the busy user; the busy user's primary and then the feed's are killed.
   */
  async function round(waitReplicas: number): Promise<Round> {
    await waitForCluster(cluster.nodes);
    const prefix = randomPrefix(`failover-${waitReplicas}`);
    // A busy user whose slot another primary serves than the feed's: killing one leaves the other standing.
    const feedPrimary = await cluster.primaryOf(`${prefix}{feed}:at`);
    let busy = 'busy';
    for (let i = 0; (await cluster.primaryOf(`${prefix}{${busy}}:u`)).port === feedPrimary.port; i++) busy = `busy${i}`;
    const apps = await startClusterApps(cluster.nodes, { prefix, waitReplicas, waitTimeoutMs: 500 }, STORE_TIMEOUT_MS);
    const { ports } = apps;
    const samples: Sample[] = [];
    const acknowledged: string[] = [];
    const timed = async (step: Step, sub: string, port: number, method: string, path: string, cookie?: string) => {
      const start = performance.now();
      const res = await call(port, method, path, cookie);
      samples.push({ step, sub, start, end: performance.now(), status: res.status, code: errorCodeOf(res.body) });
      return res;
    };
    let running = true;
    const worker = async (w: number) => {
      for (let n = 0; running; n++) {
        const [a, b] = (n + w) % 2 === 0 ? [ports[0], ports[1]] : [ports[1], ports[0]];
        const sub = w % 3 === 0 ? busy : `user${w}-${n % 50}`;
        const signIn = await timed('login', sub, a, 'POST', `/login?sub=${encodeURIComponent(sub)}`);
        const cookie = sessionCookieOf(signIn.setCookie);
        if (signIn.status !== 200 || cookie === '') {
          await sleep(20);
          continue;
        }
        await timed('check', sub, b, 'GET', '/me', cookie);
        const everywhere = n % 4 === 3;
        const out = await timed(
          everywhere ? 'logout-all' : 'logout',
          sub,
          b,
          'POST',
          everywhere ? '/logout-all' : '/logout',
          cookie,
        );
        if (out.status === 204) acknowledged.push(cookie);
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));

    const kills: Round['kills'] = [];
    const killAndRestart = async (what: string, key: string) => {
      const { port } = await cluster.primaryOf(key);
      const at = performance.now();
      cluster.kill(port);
      await sleep(RESTART_AFTER_MS);
      await cluster.restart(port);
      await waitForCluster(cluster.nodes, 60_000);
      kills.push({ what, at, port, wholeAt: performance.now() });
      await sleep(3000); // traffic on the whole cluster again
    };
    await sleep(2000);
    await killAndRestart(`the primary of the busy user's slot`, `${prefix}{${busy}}:u`);
    await killAndRestart(`the primary of the feed's slot`, `${prefix}{feed}:at`);
    running = false;
    await Promise.all(workers);
    // Once the cluster is whole: every logout that answered 204 must still hold, on both instances.
    let lostCount = 0;
    for (const [i, cookie] of acknowledged.entries()) {
      const res = await call(ports[i % 2]!, 'GET', '/me', cookie);
      if (res.status === 200) lostCount++;
      else assert.equal(res.status, 401, `an acknowledged logout's cookie answered ${res.status} ${res.body}`);
    }
    await apps.close();
    return { samples, acknowledged, kills, lost: lostCount };
  }

  /**
   * Prints one round and returns what the test checks: the failed requests (a 401 of the busy user is not one:
   * workers log it out everywhere while others use it), the slowest of some steps, and per kill how long requests
   * failed and whether any failed once the cluster was whole again.
   */
  function report(name: string, r: Round) {
    const expected = (s: Sample) => s.status < 300 || (s.sub.startsWith('busy') && s.code === 'logged_out_everywhere');
    const failed = r.samples.filter((s) => !expected(s));
    const slowest = (steps: Step[]) =>
      Math.max(0, ...r.samples.filter((s) => steps.includes(s.step)).map((s) => s.end - s.start));
    const windows = r.kills.map((kill, i) => {
      const until = r.kills[i + 1]?.at ?? Infinity;
      const during = failed.filter((s) => s.end >= kill.at && s.end < until);
      /** Seconds from the kill to the end of the last failed request of `steps` (0 when none failed). */
      const last = (...steps: Step[]) =>
        (Math.max(0, ...during.filter((s) => steps.includes(s.step)).map((s) => s.end - kill.at)) / 1000).toFixed(1);
      const afterWhole = during.filter((s) => s.start > kill.wholeAt + STORE_TIMEOUT_MS);
      const whole = ((kill.wholeAt - kill.at) / 1000).toFixed(1);
      const beforeRestart = during.every((s) => s.end < kill.at + RESTART_AFTER_MS);
      return {
        what: kill.what,
        afterWhole,
        beforeRestart,
        text: `${kill.what} killed: ${during.length} requests failed (503), the last check ${last('check')} s, sign-in ${last('login')} s, logout ${last('logout', 'logout-all')} s after the kill; restarted after ${RESTART_AFTER_MS / 1000} s, the cluster whole again after ${whole} s`,
      };
    });
    console.log(
      `# failover, ${name}: ${r.samples.length} requests, ${r.acknowledged.length} logouts answered 204, ${r.lost} of them lost; slowest check ${slowest(['check']).toFixed(0)} ms, slowest sign-in or logout ${slowest(['login', 'logout', 'logout-all']).toFixed(0)} ms; ${windows.map((w) => w.text).join('; ')}`,
    );
    return { failed, slowest, windows };
  }

  for (const waitReplicas of process.env.FAILOVER_DEBUG ? [1] : [1, 0]) {
    test(`waitReplicas: ${waitReplicas}`, { timeout: 240_000 }, async () => {
      const r = await round(waitReplicas);
      const { failed, slowest, windows } = report(`waitReplicas: ${waitReplicas}`, r);
      assert.ok(r.acknowledged.length > 100, 'logouts went on');
      // Each store call waits at most storeTimeoutMs: a check makes one, a logout two (it checks the cookie, then
      // revokes), a sign-in up to three (it lists the user's devices, ends those past the cap, registers).
      const bound = (calls: number) => calls * STORE_TIMEOUT_MS + 500;
      assert.ok(slowest(['check']) <= bound(1), `a check took ${slowest(['check'])} ms`);
      assert.ok(slowest(['logout', 'logout-all']) <= bound(2), `a logout took ${slowest(['logout', 'logout-all'])} ms`);
      assert.ok(slowest(['login']) <= bound(3), `a sign-in took ${slowest(['login'])} ms`);
      const codes = new Set(failed.map((s) => `${s.status} ${s.code}`));
      assert.deepEqual([...codes], failed.length === 0 ? [] : ['503 revocation_unavailable'], 'failures are 503');
      for (const w of windows) {
        // Resumed by itself: once the cluster is whole, no request fails (one storeTimeoutMs for those in flight).
        assert.deepEqual(w.afterWhole.slice(0, 3), [], `${w.what}: requests failed once the cluster was whole`);
        // Without WAIT nothing waits for the dead node's return: the replica's promotion is enough.
        if (waitReplicas === 0) assert.ok(w.beforeRestart, `${w.what}: requests failed until the node came back`);
      }
      if (waitReplicas > 0) assert.equal(r.lost, 0, 'an acknowledged revocation was lost');
    });
  }
});
