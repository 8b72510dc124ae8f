// What the model-based test files share: the store settings, and the environment that sizes or replays a run.
import { MemoryRevocationStore } from '../../lib/index.js';
import type { ModelOptions } from './model.js';
import type { SwitchStore } from './world.js';

/** MODEL_RUNS: histories per store (each file has its default); MODEL_SEED and MODEL_PATH replay a failure. */
export const RUNS = Number(process.env.MODEL_RUNS ?? 0) || undefined;
export const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
export const PATH = process.env.MODEL_PATH || undefined;

/**
 * The budget of `runs` histories of about `msPerRun` each, for the test and the suite around it: generous, since
 * other test files and jobs share the machine. (`test/run.ts` gives each file as much when MODEL_RUNS is set.)
 */
export const timeoutFor = (runs: number, msPerRun: number) => Math.max(120_000, runs * msPerRun * 4);

export const memory: ModelOptions = {
  storeName: 'memory',
  makeStore: (clock) => {
    const store = new MemoryRevocationStore({ now: () => clock.at(0) });
    return { inner: store, close: () => store.close() };
  },
  // Short lifetimes so that renewals, expiries, absolute ends and entry expiries all happen within a history.
  life: { expiresIn: 240, renewAfter: 120, maxAge: 900, fresh: 60, maxSessions: 3 },
  maxTotalAdvanceMs: Infinity,
  jumps: [999, 1_000, 59_000, 61_000, 121_000, 239_000, 241_000, 400_000, 900_000],
};

/**
 * A store that reads the real clock for the expiry of its entries (MongoDB, Redis): histories stay short of
 * every entry's end (a logout lasts at least expiresIn + 300 s, sessions maxAge), so model time and real time
 * agree. `afterHistory` runs once each history has settled (the MongoDB files empty the store's collections
 * there: on FerretDB every history would otherwise run slower than the one before).
 */
export function onRealClock(
  storeName: string,
  inner: SwitchStore['inner'],
  afterHistory?: () => Promise<void>,
): ModelOptions {
  return {
    ...memory,
    storeName,
    makeStore: () => ({ inner, close: afterHistory }),
    maxTotalAdvanceMs: 500_000,
    jumps: [999, 1_000, 59_000, 61_000, 121_000, 239_000, 241_000],
  };
}
