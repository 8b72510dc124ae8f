// Replays a documented shell transcript (curl lines, each with the answer it documents in a comment) against a
// running program, so that what a document says a request answers is what it answers.
//
// The transcripts use a small part of curl: -s, -i, -c JAR (keep the cookies set), -b JAR (send them), -X METHOD,
// -H 'name: value', -d 'body' (a form POST unless a content-type says otherwise), --json 'body' (a JSON POST, as
// curl 7.82 and later send it), then the URL; `cp JAR JAR`;
// and `NAME=$(curl ... | jq -r .field)`, whose `$NAME` later lines use. The comment says what is expected:
// `# 204`, `# 200 {"sub":"alice","sessionId":"...",...}`, `# 401 {"error":{"code":"session_revoked",...}}`.
// In a JSON answer, "..." matches any value, a last member `...` allows more members, a last element `...` more
// elements. Words after a comma (`# 204, cookie expired`) are for the reader.
import assert from 'node:assert/strict';

interface Expectation {
  status: number;
  body?: unknown;
}

/** Splits a shell line into words, honouring single and double quotes. */
function words(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/** `# 200 {...}` → status and the body pattern, in a form `matches` reads. */
function expectation(comment: string): Expectation {
  const text = comment.replace(/,\s[a-z][^{[]*$/i, '').trim();
  const status = /^(\d{3})\b\s*/.exec(text);
  const rest = status === null ? text : text.slice(status[0].length);
  if (rest === '') return { status: Number(status?.[1] ?? 200) };
  // `...` as a member or element becomes a marker JSON can carry.
  const json = rest.replace(/,\s*\.\.\.\s*\}/g, ',"…":"…"}').replace(/,\s*\.\.\.\s*\]/g, ',{"…":"…"}]');
  return { status: Number(status?.[1] ?? 200), body: JSON.parse(json) as unknown };
}

/** Whether `actual` has the shape `pattern` documents. */
function matches(pattern: unknown, actual: unknown, where = 'body'): void {
  if (pattern === '...') return;
  if (Array.isArray(pattern)) {
    assert.ok(Array.isArray(actual), `${where}: expected an array, got ${JSON.stringify(actual)}`);
    const open = (pattern.at(-1) as Record<string, unknown> | undefined)?.['…'] !== undefined;
    const items = open ? pattern.slice(0, -1) : pattern;
    if (open) assert.ok(actual.length >= items.length, `${where}: ${actual.length} elements, at least ${items.length}`);
    else assert.equal(actual.length, items.length, `${where}: ${actual.length} elements`);
    items.forEach((item, i) => matches(item, actual[i], `${where}[${i}]`));
    return;
  }
  if (typeof pattern === 'object' && pattern !== null) {
    assert.ok(typeof actual === 'object' && actual !== null, `${where}: expected an object`);
    const { ['…']: more, ...members } = pattern as Record<string, unknown>;
    const got = actual as Record<string, unknown>;
    if (more === undefined)
      assert.deepEqual(Object.keys(got).sort(), Object.keys(members).sort(), `${where}: the members differ`);
    for (const [key, value] of Object.entries(members)) matches(value, got[key], `${where}.${key}`);
    return;
  }
  assert.deepEqual(actual, pattern, where);
}

/** Replays `transcript` against `base` (which stands in for the documented `http://127.0.0.1:3000`). */
export async function replayTranscript(transcript: string, base: string, label: string): Promise<number> {
  const jars = new Map<string, Map<string, string>>();
  const vars = new Map<string, string>();
  let replayed = 0;
  for (const raw of transcript.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [command = '', comment] = line.split(/\s+#\s+(?=[^']*$)/);
    const copy = /^cp (\S+) (\S+)$/.exec(command);
    if (copy !== null) {
      jars.set(copy[2] ?? '', new Map(jars.get(copy[1] ?? '') ?? []));
      continue;
    }
    const capture = /^(\w+)=\$\((curl .*) \| jq -r \.(\w+)\)$/.exec(command);
    const curl = capture?.[2] ?? command;
    assert.match(curl, /^curl /, `${label}: a line this replay cannot read: ${line}`);
    const args = words(curl.replace(/\$(\w+)/g, (_, name: string) => vars.get(name) ?? `$${name}`)).slice(1);
    let method: string | undefined;
    let body: string | undefined;
    let save: string | undefined;
    const headers: Record<string, string> = {};
    let url = '';
    for (let i = 0; i < args.length; i++) {
      const arg = args[i] ?? '';
      if (arg === '-s' || arg === '-i') continue;
      const value = args[++i] ?? '';
      if (arg === '-X') method = value;
      else if (arg === '-d') body = value;
      else if (arg === '--json') {
        body = value;
        headers['content-type'] = 'application/json';
        headers.accept = 'application/json';
      } else if (arg === '-c') save = value;
      else if (arg === '-b') headers.cookie = [...(jars.get(value) ?? [])].map(([k, v]) => `${k}=${v}`).join('; ');
      else if (arg === '-H')
        headers[value.slice(0, value.indexOf(':')).toLowerCase()] = value.slice(value.indexOf(':') + 1).trim();
      else {
        url = arg;
        i--;
      }
    }
    // As curl does: -d posts a form unless a header says otherwise; --json posts JSON.
    if (body !== undefined) headers['content-type'] ??= 'application/x-www-form-urlencoded';
    const res = await fetch(url.replace('http://127.0.0.1:3000', base), {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body === undefined ? {} : { body }),
      redirect: 'manual',
    });
    const text = await res.text();
    if (save !== undefined) {
      const jar = jars.get(save) ?? new Map<string, string>();
      for (const cookie of res.headers.getSetCookie()) {
        const [pair = ''] = cookie.split(';');
        const eq = pair.indexOf('=');
        if (/Max-Age=0/i.test(cookie)) jar.delete(pair.slice(0, eq));
        else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      jars.set(save, jar);
    }
    if (capture !== null)
      vars.set(capture[1] ?? '', String((JSON.parse(text) as Record<string, unknown>)[capture[3] ?? '']));
    if (comment !== undefined && /^(\d{3}|[{[])/.test(comment)) {
      const expected = expectation(comment);
      assert.equal(res.status, expected.status, `${label}: ${command} answered ${res.status} ${text}`);
      if (expected.body !== undefined) matches(expected.body, JSON.parse(text) as unknown, `${label}: ${command}`);
      replayed++;
    }
  }
  return replayed;
}
