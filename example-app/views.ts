// Server-rendered pages. Every interpolated value is HTML-escaped unless it is already rendered markup.

/** Markup that is already safe to insert, produced by the `html` tag below. */
class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

type Value = string | number | SafeHtml | null | undefined | false | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return (value as readonly Value[]).map(render).join('');
  return escapeHtml(String(value));
}

/** Tagged template: `html\`<p>${text}</p>\`` escapes `text`; nested `html` results are kept as markup. */
export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  return new SafeHtml(strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]) : ''), ''));
}

/** Notices shown on the sign-in page, chosen by a fixed key in `?notice=`: never reflected text. */
export const NOTICES = {
  'signed-out': 'You are signed out on this device. Your other devices stay signed in.',
  'signed-out-everywhere': 'You are signed out on every device. Copies of the old cookie no longer work anywhere.',
  'session-ended': 'Your session has ended (it expired or was signed out elsewhere). Please sign in again.',
} as const;

export type NoticeKey = keyof typeof NOTICES;

export function isNoticeKey(value: unknown): value is NoticeKey {
  return typeof value === 'string' && Object.hasOwn(NOTICES, value);
}

function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · express-revocable-jwt example</title>
        <link rel="stylesheet" href="/styles.css" />
      </head>
      <body>
        <header class="site">
          <span class="brand">express-revocable-jwt</span> <span class="tagline">revocable JWT cookie sessions</span>
        </header>
        <main class="card">${body}</main>
      </body>
    </html> `.value;
}

export interface LoginView {
  notice?: NoticeKey | undefined;
  error?: string | undefined;
  username?: string | undefined;
}

export function loginPage(view: LoginView = {}): string {
  return layout(
    'Sign in',
    html`<h1>Sign in</h1>
      ${view.notice === undefined ? '' : html`<p class="notice" role="status">${NOTICES[view.notice]}</p>`}
      ${view.error === undefined ? '' : html`<p class="error" role="alert">${view.error}</p>`}
      <form method="post" action="/login" class="stack">
        <label for="username">Username</label>
        <input
          id="username"
          name="username"
          type="text"
          autocomplete="username"
          autocapitalize="none"
          spellcheck="false"
          maxlength="64"
          required
          value="${view.username ?? ''}"
          ${view.username ? '' : html` autofocus`}
        />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          maxlength="1024"
          required${view.username ? html` autofocus` : ''}
        />
        <button type="submit">Sign in</button>
      </form>
      <p class="hint">
        Demo accounts: <code>alice</code> and <code>bob</code>. Their password is printed in the server's start-up log.
      </p>`,
  );
}

export interface AccountView {
  username: string;
  sessionId: string;
  issuedAt: Date;
  expiresAt: Date;
}

function timestamp(date: Date): SafeHtml {
  const text = `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return html`<time datetime="${date.toISOString()}">${text}</time>`;
}

export function accountPage(view: AccountView): string {
  return layout(
    'Your account',
    html`<h1>Signed in as <span class="user" data-testid="username">${view.username}</span></h1>
      <dl class="session">
        <dt>This device's session</dt>
        <dd><code data-testid="session-id">${view.sessionId}</code></dd>
        <dt>Signed in</dt>
        <dd data-testid="issued-at">${timestamp(view.issuedAt)}</dd>
        <dt>Token expires</dt>
        <dd data-testid="expires-at">${timestamp(view.expiresAt)}</dd>
      </dl>
      <div class="actions">
        <form method="post" action="/logout"><button type="submit">Log out</button></form>
        <form method="post" action="/logout-all"><button type="submit" class="danger">Log out everywhere</button></form>
      </div>
      <p class="hint">
        <strong>Log out</strong> ends this device's session only. <strong>Log out everywhere</strong> ends every session
        of <code>${view.username}</code>, on every browser. Either way, a copy of the cookie taken before stops working
        at once: the server checks every request against the database. Try it: sign in from a second browser, then
        compare.
      </p>`,
  );
}

export function messagePage(
  title: string,
  message: string,
  link: { href: string; label: string } = { href: '/', label: 'Back to the start page' },
): string {
  return layout(
    title,
    html`<h1>${title}</h1>
      <p>${message}</p>
      <p><a href="${link.href}">${link.label}</a></p>`,
  );
}
