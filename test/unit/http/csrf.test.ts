// Configured origins.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Request } from 'express';
import { normalizeOrigin } from '../../../lib/config/options.js';
import { isSameOriginRequest } from '../../../lib/http/csrf.js';

describe('normalizeOrigin', () => {
  test('accepts scheme://host[:port] only', () => {
    assert.equal(normalizeOrigin('https://App.Example.com'), 'https://app.example.com');
    assert.equal(normalizeOrigin('http://localhost:5173'), 'http://localhost:5173');
    for (const bad of ['https://a.com/', 'https://a.com/path', 'a.com', 'null', 'https://a.com?x=1'])
      assert.equal(normalizeOrigin(bad), undefined, bad);
  });
});

describe('isSameOriginRequest', () => {
  const req = (headers: Record<string, string>, protocol = 'https') =>
    ({ headers: { host: 'app.example.com', ...headers }, protocol }) as unknown as Request;
  const trusted = new Set(['https://admin.example.com']);

  test('the own origin and trusted origins pass; any other origin does not', () => {
    assert.equal(isSameOriginRequest(req({ origin: 'https://app.example.com' }), trusted), true);
    assert.equal(isSameOriginRequest(req({ origin: 'HTTPS://APP.EXAMPLE.COM' }), trusted), true);
    assert.equal(isSameOriginRequest(req({ origin: 'https://admin.example.com' }), trusted), true);
    assert.equal(isSameOriginRequest(req({ origin: 'http://app.example.com' }), trusted), false, 'scheme counts');
    assert.equal(isSameOriginRequest(req({ origin: 'https://evil.example' }), trusted), false);
    assert.equal(isSameOriginRequest(req({ origin: 'https://app.example.com.evil.example' }), trusted), false);
  });

  test('without Origin, Sec-Fetch-Site decides; Origin: null passes only as same-origin', () => {
    assert.equal(isSameOriginRequest(req({}), trusted), true, 'curl and servers send neither');
    assert.equal(isSameOriginRequest(req({ 'sec-fetch-site': 'same-site' }), trusted), true);
    assert.equal(isSameOriginRequest(req({ 'sec-fetch-site': 'cross-site' }), trusted), false);
    assert.equal(isSameOriginRequest(req({ origin: 'null', 'sec-fetch-site': 'same-origin' }), trusted), true);
    assert.equal(isSameOriginRequest(req({ origin: 'null', 'sec-fetch-site': 'cross-site' }), trusted), false);
    assert.equal(isSameOriginRequest(req({ origin: 'null' }), trusted), false);
  });
});
