// The correctness of the bounded-delay mode (`maxRevocationDelay: 100`) with two app instances on one database:
// a logout through instance A must be refused by A at once, and by B within the delay (plus one read).
import { performance } from 'node:perf_hooks';

export interface CachedCheckResult {
  /** Requests to A with a revoked cookie sent after A's logout answered, and how many A accepted (must be 0). */
  sameInstanceSent: number;
  sameInstanceAccepted: number;
  /**
   * For each logout: from the logout's response (on A) to the response of the last request B still accepted
   * with the revoked cookie (0 when B refused the first one). The bound is maxRevocationDelay plus one read.
   */
  crossDelaysMs: number[];
  crossMaxDelayMs: number;
  /** Requests B accepted with the victims' cookies before the logouts (shows B had them cached). */
  acceptedBefore: number;
}

export interface Victim {
  kind: 'logout' | 'logout-all';
  /** The cookie the logout is sent with. */
  cookie: string;
  /** The cookie then polled on both instances: the same one, or another device of the user for logout-all. */
  probe: string;
}

async function status(url: string, cookie: string, method = 'GET', path = '/me'): Promise<number> {
  const res = await fetch(`${url}${path}`, { method, headers: { cookie } });
  await res.arrayBuffer();
  return res.status;
}

/** Keeps requesting `/me` on `url` with `cookie` until `stop()`: the time each accepted answer arrived. */
function poll(url: string, cookie: string) {
  const accepted: number[] = [];
  let running = true;
  let count = 0;
  const done = (async () => {
    while (running) {
      const code = await status(url, cookie);
      count++;
      if (code === 200) accepted.push(performance.now());
    }
  })();
  return {
    accepted,
    count: () => count,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

export async function checkCachedInstances(a: string, b: string, victims: Victim[]): Promise<CachedCheckResult> {
  const result: CachedCheckResult = {
    sameInstanceSent: 0,
    sameInstanceAccepted: 0,
    crossDelaysMs: [],
    crossMaxDelayMs: 0,
    acceptedBefore: 0,
  };
  for (const victim of victims) {
    // B keeps the victim's state fresh in its cache right up to the logout: the worst case for the delay.
    const onB = poll(b, victim.probe);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const logout = await status(a, victim.cookie, 'POST', victim.kind === 'logout' ? '/logout' : '/logout-all');
    const loggedOutAt = performance.now();
    if (logout !== 204) throw new Error(`the ${victim.kind} on instance A answered ${logout}`);
    for (let i = 0; i < 20; i++) {
      result.sameInstanceSent++;
      if ((await status(a, victim.probe)) === 200) result.sameInstanceAccepted++;
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
    await onB.stop();
    const before = onB.accepted.filter((t) => t <= loggedOutAt);
    const after = onB.accepted.filter((t) => t > loggedOutAt);
    result.acceptedBefore += before.length;
    result.crossDelaysMs.push(after.length === 0 ? 0 : (after[after.length - 1] as number) - loggedOutAt);
  }
  result.crossMaxDelayMs = Math.max(0, ...result.crossDelaysMs);
  return result;
}
