// The request error class and its stable codes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ERROR_STATUS, SessionAuthError } from '../../../lib/core/session-auth-error.js';

describe('SessionAuthError', () => {
  test('every code has its status and a body without the cause', () => {
    assert.deepEqual(ERROR_STATUS, {
      credentials_required: 401,
      invalid_token: 401,
      token_expired: 401,
      invalid_claims: 401,
      session_revoked: 401,
      logged_out_everywhere: 401,
      reauthentication_required: 401,
      claims_stale: 401,
      revocation_unavailable: 503,
      claims_unavailable: 503,
      csrf_rejected: 403,
      too_many_cookies: 400,
    });
    const error = new SessionAuthError('token_expired', { cause: new Error('jwt expired at 2026') });
    assert.equal(error.status, 401);
    assert.ok(error instanceof Error);
    assert.deepEqual(JSON.parse(JSON.stringify(error)), {
      error: { code: 'token_expired', message: 'The session has expired. Sign in again.' },
    });
  });
});
