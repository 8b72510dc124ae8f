// The correctness of the bounded-delay mode (`maxRevocationDelay: 100`) with two app instances on one store:
// a logout through instance A must be refused by A at once, and by B within the delay (plus one read). Two ways
// to run it: a few logouts one after the other (`checkCachedInstances`, the `cached-correctness` run), or logouts
// at a steady rate, overlapping (`checkCachedUnderLogoutRate`, the copy-scale run's cross-instance delay).
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

/** One logout through A, watched on B (times in ms of this process's `performance.now()`). */
export interface LogoutWatch {
  kind: Victim['kind'];
  /** When A's logout response arrived, and how long A took to answer it. */
  loggedOutAt: number;
  logoutMs: number;
  /** Requests to A with the probe after its logout answered, and how many A accepted (must be 0). */
  sameInstanceSent: number;
  sameInstanceAccepted: number;
  /** B's acceptances of the probe that arrived before A's logout answered (B was accepting it: not vacuous). */
  acceptedBefore: number;
  /**
   * From A's logout response to the last acceptance by B that arrived after it; 0 when there was none. An answer's
   * time is when this process read it: a busy event loop here makes it later than when B decided.
   */
  lastAcceptedAfterMs: number;
  /** The same by when the request was sent (B decided between its sending and its answer); 0 when none was sent after. */
  lastAcceptedSentAfterMs: number;
  /** From A's logout response to B's first refusal that arrived after it; undefined: none within the watch. */
  firstRefusedAfterMs: number | undefined;
  /** Requests B answered after A's logout answered. */
  bAnsweredAfter: number;
}

export interface WatchTiming {
  /** Polling of B begins this long before the logout is sent. */
  leadMs: number;
  /** Requests sent to A with the probe, one after the other, once A's logout answered. */
  sameInstanceProbes: number;
  /** B is polled this long after A's probes, and at least until its first refusal after the logout… */
  tailMs: number;
  /** … but at most this long after A's logout answered. */
  watchMs: number;
  /** Pause between two requests of the poller of B (0: the next is sent when the previous answered). */
  pollGapMs: number;
}

async function status(url: string, cookie: string, method = 'GET', path = '/me'): Promise<number> {
  const res = await fetch(`${url}${path}`, { method, headers: { cookie } });
  await res.arrayBuffer();
  return res.status;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Keeps requesting `/me` on `url` with `cookie` until `stop()`: the time each answer arrived, and whether it was
 * accepted (200).
 */
function poll(url: string, cookie: string, gapMs: number) {
  const answers: { sentAt: number; at: number; accepted: boolean }[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const sentAt = performance.now();
      const code = await status(url, cookie);
      answers.push({ sentAt, at: performance.now(), accepted: code === 200 });
      if (gapMs > 0) await sleep(gapMs);
    }
  })();
  return {
    answers,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** A logout of `victim` through A, its probe polled on B from `leadMs` before to the end of the watch. */
export async function logoutAndWatch(a: string, b: string, victim: Victim, timing: WatchTiming): Promise<LogoutWatch> {
  const onB = poll(b, victim.probe, timing.pollGapMs);
  await sleep(timing.leadMs);
  const sentAt = performance.now();
  const logout = await status(a, victim.cookie, 'POST', victim.kind === 'logout' ? '/logout' : '/logout-all');
  const loggedOutAt = performance.now();
  if (logout !== 204) {
    await onB.stop();
    throw new Error(`the ${victim.kind} on instance A answered ${logout}`);
  }
  let sameInstanceAccepted = 0;
  for (let i = 0; i < timing.sameInstanceProbes; i++) {
    if ((await status(a, victim.probe)) === 200) sameInstanceAccepted++;
  }
  const tailUntil = performance.now() + timing.tailMs;
  const watchUntil = loggedOutAt + timing.watchMs;
  const refusedAfter = () => onB.answers.some((x) => x.at > loggedOutAt && !x.accepted);
  while (performance.now() < watchUntil && (performance.now() < tailUntil || !refusedAfter())) await sleep(5);
  await onB.stop();
  const after = onB.answers.filter((x) => x.at > loggedOutAt);
  const lastAccepted = after.filter((x) => x.accepted).at(-1);
  const lastSentAccepted = onB.answers.filter((x) => x.sentAt > loggedOutAt && x.accepted).at(-1);
  const firstRefused = after.find((x) => !x.accepted);
  return {
    kind: victim.kind,
    loggedOutAt,
    logoutMs: loggedOutAt - sentAt,
    sameInstanceSent: timing.sameInstanceProbes,
    sameInstanceAccepted,
    acceptedBefore: onB.answers.filter((x) => x.at <= loggedOutAt && x.accepted).length,
    lastAcceptedAfterMs: lastAccepted === undefined ? 0 : lastAccepted.at - loggedOutAt,
    lastAcceptedSentAfterMs: lastSentAccepted === undefined ? 0 : lastSentAccepted.sentAt - loggedOutAt,
    firstRefusedAfterMs: firstRefused === undefined ? undefined : firstRefused.at - loggedOutAt,
    bAnsweredAfter: after.length,
  };
}

/** The `cached-correctness` run: the victims' logouts one after the other, each watched for 300 + 400 ms. */
export async function checkCachedInstances(a: string, b: string, victims: Victim[]): Promise<CachedCheckResult> {
  const result: CachedCheckResult = {
    sameInstanceSent: 0,
    sameInstanceAccepted: 0,
    crossDelaysMs: [],
    crossMaxDelayMs: 0,
    acceptedBefore: 0,
  };
  for (const victim of victims) {
    // B keeps requesting the victim's cookie right up to the logout: the worst case for the delay.
    const watch = await logoutAndWatch(a, b, victim, {
      leadMs: 300,
      sameInstanceProbes: 20,
      tailMs: 400,
      watchMs: 2000,
      pollGapMs: 0,
    });
    result.sameInstanceSent += watch.sameInstanceSent;
    result.sameInstanceAccepted += watch.sameInstanceAccepted;
    result.acceptedBefore += watch.acceptedBefore;
    result.crossDelaysMs.push(watch.lastAcceptedAfterMs);
  }
  result.crossMaxDelayMs = Math.max(0, ...result.crossDelaysMs);
  return result;
}

export interface RateCheckResult {
  /** The logouts asked for per second, and what was achieved (logouts over the span of their responses). */
  ratePerSecond: number;
  achievedPerSecond: number;
  seconds: number;
  timing: WatchTiming;
  watches: LogoutWatch[];
}

/**
 * Logouts through A at a steady rate (`ratePerSecond`, one victim each, in order; they overlap: each one's watch
 * runs while the next ones start), each watched on B as `logoutAndWatch` does.
 */
export async function checkCachedUnderLogoutRate(
  a: string,
  b: string,
  victims: Victim[],
  ratePerSecond: number,
  timing: WatchTiming = { leadMs: 50, sameInstanceProbes: 5, tailMs: 200, watchMs: 2000, pollGapMs: 1 },
): Promise<RateCheckResult> {
  const start = performance.now() + timing.leadMs;
  const pending: Promise<LogoutWatch>[] = [];
  for (const [i, victim] of victims.entries()) {
    const wait = start + (i * 1000) / ratePerSecond - timing.leadMs - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(logoutAndWatch(a, b, victim, timing));
  }
  const watches = await Promise.all(pending);
  const times = watches.map((w) => w.loggedOutAt);
  const span = (Math.max(...times) - Math.min(...times)) / 1000;
  return {
    ratePerSecond,
    achievedPerSecond: watches.length < 2 || !(span > 0) ? Number.NaN : (watches.length - 1) / span,
    seconds: victims.length / ratePerSecond,
    timing,
    watches,
  };
}
