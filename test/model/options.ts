// The store settings of the model-based test, shared by its memory and Mongo files.
import { MemoryRevocationStore } from '../../lib/index.js';
import type { ModelOptions } from './model.js';

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
