// The shapes the README writes down, compared with the real ones: the options, the members of `createSessionAuth`'s result,
// what `login` resolves to, what `sessionOf(req)` and `listSessions(sub)` give, and the error codes with their
// statuses. A member, field or code added or renamed without the README fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import express from 'express';
import request from 'supertest';
import { sessionAuthOptionsSchema } from '../../lib/config/options.js';
import { ERROR_STATUS } from '../../lib/core/session-auth-error.js';
import { createTestAuth, cookieFrom } from '../support/apps.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the README table that follows `heading`, as arrays of cells. */
function tableAfter(heading: string): string[][] {
  const start = README.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no heading ${heading}`);
  const lines = README.slice(start).split('\n').slice(2);
  const table = lines.slice(lines.findIndex((l) => l.startsWith('|')));
  const rows = table
    .slice(
      0,
      table.findIndex((l) => !l.startsWith('|')),
    )
    .slice(2);
  return rows.map((row) =>
    row
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
}

/** The member row whose first cell starts with `` `name` `` or `` `name(``. */
function memberRow(name: string): string {
  const row = tableAfter('### What it returns').find(([cell]) => new RegExp(`^\`${name}\\b`).test(cell ?? ''));
  assert.ok(row !== undefined, `README's member table has no row for ${name}`);
  return row[1] ?? '';
}

/** The field names of the first `{ a, b, ...rest }` after `marker` in `text` (spreads and `?` dropped). */
function fieldsAfter(text: string, marker: string): string[] {
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `"${marker}" not found in: ${text}`);
  const shape = /\{([^}]*)\}/.exec(text.slice(at))?.[1] ?? '';
  return shape
    .split(',')
    .map((f) => f.trim().replace(/\?$/, ''))
    .filter((f) => f !== '' && !f.startsWith('...'))
    .sort();
}

describe("the README's shapes are the real ones", () => {
  test('the option table lists exactly the options createSessionAuth accepts', () => {
    const documented = new Set(
      tableAfter('## `createSessionAuth(options)`').map(([cell]) => /^`(\w+)/.exec(cell ?? '')?.[1] ?? ''),
    );
    assert.deepEqual([...documented].sort(), Object.keys(sessionAuthOptionsSchema.shape).sort());
  });

  test('the member table lists exactly the members of createSessionAuth()', () => {
    const auth = createTestAuth();
    const documented = tableAfter('### What it returns')
      .map(([cell]) => /^`(\w+)/.exec(cell ?? '')?.[1] ?? '')
      .sort();
    assert.deepEqual(documented, Object.keys(auth).sort());
  });

  test('login, sessionOf and listSessions give the fields the README names', async () => {
    const auth = createTestAuth();
    const app = express();
    let loggedIn: object = {};
    app.post('/login', (_req, res, next) => {
      auth.login(res, { sub: 'alice' }).then((session) => {
        loggedIn = session;
        res.sendStatus(204);
      }, next);
    });
    app.get('/me', auth.requireAuth, (req, res) => {
      res.json(Object.keys(auth.sessionOf(req)).sort());
    });
    app.get('/devices', auth.requireAuth, (req, res, next) => {
      auth.listSessions(auth.sessionOf(req).sub).then((list) => res.json(list.map((s) => Object.keys(s))), next);
    });
    const login = await request(app).post('/login').set('user-agent', 'test agent').expect(204);
    const cookie = cookieFrom(login.headers['set-cookie']);
    assert.deepEqual(Object.keys(loggedIn).sort(), fieldsAfter(memberRow('login'), 'Resolves to'));
    const me = await request(app).get('/me').set('cookie', cookie).expect(200);
    assert.deepEqual(me.body, fieldsAfter(memberRow('sessionOf'), 'passed'));
    const devices = await request(app).get('/devices').set('cookie', cookie).expect(200);
    const [device] = devices.body as string[][];
    assert.deepEqual([...(device ?? [])].sort(), fieldsAfter(memberRow('listSessions'), 'newest activity first'));
  });

  test('the error table lists exactly the codes answered, with their statuses', () => {
    const documented = Object.fromEntries(
      tableAfter('## Errors').map(([code, status]) => [code?.replace(/`/g, '') ?? '', Number(status)]),
    );
    assert.deepEqual(documented, { ...ERROR_STATUS });
  });
});
