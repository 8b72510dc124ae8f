// The session lifetimes: defaults, and the checks that they fit together.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../lib/core/config-error.js';
import { resolveLifetimes } from '../../../lib/config/lifetimes.js';

test('defaults: renewal at half of expiresIn, an absolute end of 7 days (or expiresIn when longer)', () => {
  assert.deepEqual(resolveLifetimes({ expiresIn: 3600 }), {
    expiresInSeconds: 3600,
    renewAfterSeconds: 1800,
    maxAgeSeconds: 7 * 86_400,
  });
  assert.equal(resolveLifetimes({ expiresIn: 30 * 86_400 }).maxAgeSeconds, 30 * 86_400);
  assert.equal(resolveLifetimes({ expiresIn: 1 }).renewAfterSeconds, undefined, 'half of 1 s: never');
  assert.equal(resolveLifetimes({ expiresIn: 3600, renewAfter: false }).renewAfterSeconds, undefined);
});

test('lifetimes that do not fit together, and renewal on a verify-only instance, are refused', () => {
  const option = (name: string) => (e: unknown) => e instanceof ConfigError && e.option === name;
  assert.throws(() => resolveLifetimes({ expiresIn: 3600, maxAge: 60 }), option('maxAge'));
  assert.throws(() => resolveLifetimes({ expiresIn: 3600, renewAfter: 3600 }), option('renewAfter'));
  assert.throws(() => resolveLifetimes({ expiresIn: 3600, renewAfter: 60 }, false), option('renewAfter'));
  assert.equal(
    resolveLifetimes({ expiresIn: 3600 }, false).renewAfterSeconds,
    undefined,
    'a verify-only instance never renews',
  );
});
