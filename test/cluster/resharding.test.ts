// Resharding under load on a Redis Cluster of the test's own (it moves slots, so never the cluster in
// REDIS_CLUSTER_NODES): the slot of twelve users, then the change feed's slot, move to another primary as
// `redis-cli --cluster reshard` moves it (ten keys at a time, here 20 ms apart), while two instances (node-redis and ioredis) sign them in, check and log
// them out. Meanwhile a user's keys are split between two nodes: commands on them meet `ASK` (a key already
// moved) and `TRYAGAIN` (an `MGET` over keys on both sides), and once the slot is handed over `MOVED`. None of
// it may fail a request, and every logout that answered 204 still holds afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errorCodeOf, loadClient, sessionCookieOf, type LoadAnswer } from '../support/listen.js';
import { slotOf, startRedisCluster, type ClusterNode, type RedisCluster } from '../support/redis-cluster.js';
import { connectNodeRedis, randomPrefix, type NodeRedisClient } from '../support/redis-clients.js';
import { startClusterApps } from './cluster-apps.js';

const STORE_TIMEOUT_MS = 2000;
const USERS = 12;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `count` user ids whose keys (`{<sub>}`) all hash to one slot. */
function usersOfOneSlot(count: number): { slot: number; subs: string[] } {
  const slot = slotOf('{u0}');
  const subs = ['u0'];
  for (let i = 1; subs.length < count; i++) if (slotOf(`{u${i}}`) === slot) subs.push(`u${i}`);
  return { slot, subs };
}

describe('resharding under load on a Redis Cluster', { timeout: 180_000 }, () => {
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
   * Moves the slot of `{<tag>}` while `subs` sign in, check and log out, and checks that no request failed and
   * no logout was lost; `probeKeys` are read at the source meanwhile (a multi-key `EXISTS`) to show the
   * redirections.
   */
  async function moveUnderLoad(
    name: string,
    prefix: string,
    tag: string,
    subs: string[],
    probeKeys: string[],
    waitReplicas: number,
    batch: number,
    holdMs: number,
  ): Promise<void> {
    const slot = slotOf(`{${tag}}`);
    const apps = await startClusterApps(cluster.nodes, { prefix, waitReplicas }, STORE_TIMEOUT_MS);
    const failures: string[] = [];
    const acknowledged: string[] = [];
    /** Each request's start and end. */
    const spans: [number, number][] = [];
    let running = true;
    const worker = async (w: number) => {
      const sub = subs[w % subs.length]!;
      for (let n = 0; running; n++) {
        const [a, b] = n % 2 === 0 ? apps.ports : [apps.ports[1], apps.ports[0]];
        const steps: [string, LoadAnswer][] = [];
        const timed = async (step: string, port: number, method: string, path: string, cookie?: string) => {
          const start = performance.now();
          const res = await call(port, method, path, cookie);
          spans.push([start, performance.now()]);
          steps.push([step, res]);
          return res;
        };
        const signIn = await timed('sign-in', a, 'POST', `/login?sub=${sub}`);
        const cookie = sessionCookieOf(signIn.setCookie);
        if (signIn.status === 200) await timed('check', b, 'GET', '/me', cookie);
        if (signIn.status === 200) await timed('logout', a, 'POST', '/logout', cookie);
        for (const [step, res] of steps) {
          if (res.status >= 300) failures.push(`${step}: ${res.status} ${errorCodeOf(res.body)}`);
        }
        if (steps[2]?.[1].status === 204) acknowledged.push(cookie);
      }
    };
    const workers = Array.from({ length: USERS }, (_, w) => worker(w));
    await sleep(1000);

    // What `redis-cli --cluster reshard` does for one slot (IMPORTING on the target, MIGRATING on the source, the
    // keys moved ten at a time (one at a time for the feed: its few keys would move at once), then the slot handed to the target everywhere), slowed down by 20 ms between
    // batches. A probe reads some of its keys at the source meanwhile: its answers show the redirections.
    const source = await cluster.primaryOf(`{${tag}}`);
    const primaries: ClusterNode[] = [];
    for (const node of cluster.nodes) if ((await cluster.cli(node, 'ROLE')).startsWith('master')) primaries.push(node);
    const target = primaries.find((node) => node.port !== source.port)!;
    const connections = new Map<number, NodeRedisClient>();
    for (const node of primaries)
      connections.set(node.port, await connectNodeRedis(`redis://${node.host}:${node.port}`));
    const on = (node: ClusterNode, ...args: string[]) => connections.get(node.port)!.sendCommand(args);
    const idOf = async (node: ClusterNode) => (await cluster.cli(node, 'CLUSTER', 'MYID')).trim();
    const [sourceId, targetId] = [await idOf(source), await idOf(target)];
    const redirections = new Map<string, number>();
    let probing = true;
    const probeOnce = async () => {
      const answer = await on(source, 'EXISTS', ...probeKeys).catch((error: Error) => error.message.split(' ')[0]!);
      if (typeof answer === 'string') redirections.set(answer, (redirections.get(answer) ?? 0) + 1);
    };
    const probe = (async () => {
      while (probing) {
        await probeOnce();
        await sleep(2);
      }
    })();
    const movingFrom = performance.now();
    await on(target, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId);
    await on(source, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId);
    let moved = 0;
    for (;;) {
      const keys = (await on(source, 'CLUSTER', 'GETKEYSINSLOT', String(slot), String(batch))) as unknown as string[];
      if (keys.length === 0) break;
      await on(source, 'MIGRATE', target.host, String(target.port), '', '0', '5000', 'KEYS', ...keys);
      moved += keys.length;
      await sleep(20);
    }
    // A slot of many keys stays half-moved for long: held here, after its keys moved, before it is handed over.
    await sleep(holdMs);
    for (const node of [target, source, ...primaries.filter((n) => n !== target && n !== source)])
      await on(node, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId);
    probing = false;
    await probe;
    // Handed over: the source now answers MOVED.
    await probeOnce();
    for (const connection of connections.values()) connection.destroy();
    const movingUntil = performance.now();
    await sleep(1500);
    running = false;
    await Promise.all(workers);
    const overlapping = spans.filter(([start, end]) => start < movingUntil && end > movingFrom);

    const owner = await cluster.primaryOf(`{${tag}}`);
    let lost = 0;
    for (const [i, cookie] of acknowledged.entries()) {
      if ((await call(apps.ports[i % 2]!, 'GET', '/me', cookie)).status !== 401) lost++;
    }
    await apps.close();
    console.log(
      `# resharding, ${name}: slot ${slot} moved from ${source.port} to ${target.port}, ${moved} keys ${batch} at a time (then held ${holdMs} ms) in ${(movingUntil - movingFrom).toFixed(0)} ms; ${spans.length} requests (${overlapping.length} while it moved, the slowest of them ${Math.max(...overlapping.map(([a, b]) => b - a)).toFixed(0)} ms), ${failures.length} failed, ${acknowledged.length} logouts answered 204, ${lost} lost; the probe's EXISTS at the source met ${[...redirections].map(([k, v]) => `${k} ×${v}`).join(', ')}`,
    );
    assert.equal(owner.port, target.port, 'the slot moved');
    assert.ok(moved >= 3, `the slot's keys were moved (${moved})`);
    const met = (answer: string) => redirections.get(answer) ?? 0;
    assert.ok(met('ASK') + met('TRYAGAIN') > 0 && met('MOVED') > 0, 'the slot was half-moved, then moved');
    assert.ok(overlapping.length >= USERS, 'traffic went on while the slot moved');
    assert.deepEqual([...new Set(failures)], [], 'no request failed');
    assert.equal(lost, 0, 'no logout lost');
  }

  test("a user's slot moves while its twelve users sign in, check and log out: no request fails", async () => {
    const prefix = randomPrefix('reshard-users');
    const { subs } = usersOfOneSlot(USERS);
    const keys = [`${prefix}{${subs[0]}}:u`, `${prefix}{${subs[0]}}:c`, `${prefix}{${subs[0]}}:r`];
    await moveUnderLoad("the users' slot", prefix, subs[0]!, subs, keys, 0, 10, 0);
  });

  test("the feed's slot moves, and stays half-moved for twice storeTimeoutMs, while users log out with waitReplicas: 1 (a write and its WAIT in one batch): no request fails", async () => {
    const prefix = randomPrefix('reshard-feed');
    const subs = Array.from({ length: USERS }, (_, i) => `feed-user-${i}`);
    const keys = [`${prefix}{feed}:at`, `${prefix}{feed}:exp`, `${prefix}{feed}:start`];
    await moveUnderLoad("the feed's slot", prefix, 'feed', subs, keys, 1, 1, 2 * STORE_TIMEOUT_MS);
  });
});
