// The revocation rules: the watermark comparison.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { claimsOutdated, revocationReason } from '../../../lib/revocation/rules.js';

describe('revocationReason: the watermark comparison', () => {
  const watermark = new Date(1_800_000_000_123);
  test('a token issued before or in the same millisecond as logoutAll is rejected; one after is accepted', () => {
    assert.equal(
      revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, watermark.getTime() - 900),
      'logged_out_everywhere',
    );
    assert.equal(
      revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, watermark.getTime()),
      'logged_out_everywhere',
    );
    assert.equal(
      revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, watermark.getTime() + 1),
      undefined,
    );
  });
  test('whole-second iat would get the same second wrong: the comparison uses milliseconds', () => {
    const sameSecondBefore = Math.floor(watermark.getTime() / 1000) * 1000 + 5; // .005 s, before the .123 s logout
    const sameSecondAfter = Math.floor(watermark.getTime() / 1000) * 1000 + 500; // .500 s, after it
    assert.equal(
      revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, sameSecondBefore),
      'logged_out_everywhere',
    );
    assert.equal(revocationReason({ lastLogoutAt: watermark, sessionRevoked: false }, sameSecondAfter), undefined);
  });
  test('a revoked session wins over the watermark; no state means accepted', () => {
    assert.equal(revocationReason({ lastLogoutAt: watermark, sessionRevoked: true }, 0), 'session_revoked');
    assert.equal(revocationReason({ lastLogoutAt: null, sessionRevoked: false }, 0), undefined);
  });
});

describe('claimsOutdated: the claims-change comparison', () => {
  test('claims loaded before or in the same millisecond as the change are outdated; later ones, or no change, are not', () => {
    const changedAt = new Date(1_800_000_000_123);
    const state = { lastLogoutAt: null, sessionRevoked: false, claimsChangedAt: changedAt };
    assert.equal(claimsOutdated(state, changedAt.getTime() - 1), true);
    assert.equal(claimsOutdated(state, changedAt.getTime()), true, 'the same millisecond');
    assert.equal(claimsOutdated(state, changedAt.getTime() + 1), false);
    assert.equal(claimsOutdated({ ...state, claimsChangedAt: null }, 0), false, 'never changed');
    assert.equal(claimsOutdated({ lastLogoutAt: null, sessionRevoked: false }, 0), false, 'a store without it');
  });
});
