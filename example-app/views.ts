// Server-rendered pages. Every interpolated value is HTML-escaped unless it is already rendered markup.
import type { SessionEventType } from 'express-revocable-jwt';
import type { Role, UserSummary } from './users.js';

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

/** Shown instead of the account when the password was right but an administrator banned the user. */
export const BANNED = 'This account is banned. Ask an administrator to lift the ban.';

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

/** Notices shown on the account page, chosen by a fixed key in `?notice=`: never reflected text. */
export const ACCOUNT_NOTICES = {
  'device-signed-out': 'That device is signed out: its next request goes to the sign-in page.',
  'device-unknown':
    'That device is not among your other signed-in devices (it may have signed out already). Nothing changed.',
  'others-signed-out': 'Your other devices are signed out. This device stays signed in.',
  'password-changed': 'Your password is changed. Every other device is signed out; this one stays signed in.',
} as const;

export type AccountNoticeKey = keyof typeof ACCOUNT_NOTICES;

export function isAccountNoticeKey(value: unknown): value is AccountNoticeKey {
  return typeof value === 'string' && Object.hasOwn(ACCOUNT_NOTICES, value);
}

/** One signed-in session of the user, as the "Your devices" list shows it. */
export interface DeviceView {
  sessionId: string;
  /** A readable device, e.g. "Chrome 140 on Linux". */
  device: string;
  signedInAt: Date;
  lastActiveAt: Date;
  /** The IP the device signed in from, when the registry recorded it. */
  ip?: string | undefined;
  /** The session of the browser looking at the page. */
  current: boolean;
}

/** One entry of "Recent security activity". */
export interface EventView {
  type: SessionEventType;
  reason?: string | undefined;
  at: Date;
  /** A readable device of the request that caused the event, when there was one. */
  device?: string | undefined;
  ip?: string | undefined;
  sessionId?: string | undefined;
  /** The event concerns the session of the browser looking at the page. */
  current: boolean;
}

export interface AccountView {
  username: string;
  /** From the session's token: refreshed on the next request after an administrator changes it. */
  role: Role;
  sessionId: string;
  signedInAt: Date;
  authenticatedAt: Date;
  issuedAt: Date;
  expiresAt: Date;
  sessionExpiresAt: Date;
  /** Undefined when the revocation store keeps no device registry. */
  devices: DeviceView[] | undefined;
  /** The latest security events of the user, newest first. */
  events: EventView[];
  notice?: AccountNoticeKey | undefined;
}

function timeText(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function timestamp(date: Date): SafeHtml {
  return html`<time datetime="${date.toISOString()}">${timeText(date)}</time>`;
}

function deviceItem(device: DeviceView): SafeHtml {
  return html`<li
    class="device${device.current ? ' current' : ''}"
    data-testid="device"
    data-session-id="${device.sessionId}"
  >
    <div class="device-main">
      <span class="device-name" data-testid="device-name">${device.device}</span>
      ${device.current ? html`<span class="badge" data-testid="this-device">This device</span>` : ''}
      <div class="device-times">
        Signed in ${timestamp(device.signedInAt)}${device.ip === undefined ? '' : html` from ${device.ip}`} ·
        ${device.current ? 'active now' : html`last active ${timestamp(device.lastActiveAt)}`}
      </div>
    </div>
    ${
      device.current
        ? ''
        : html`<form method="post" action="/devices/logout">
            <input type="hidden" name="sessionId" value="${device.sessionId}" />
            <button
              type="submit"
              class="secondary"
              aria-label="Log out ${device.device}, signed in ${timeText(device.signedInAt)}"
            >
              Log out
            </button>
          </form>`
    }
  </li>`;
}

function devicesSection(view: AccountView): SafeHtml {
  if (view.devices === undefined) {
    return html`<section class="devices">
      <h2>Your devices</h2>
      <p class="hint">
        The device list needs a revocation store with a device registry, and this one has none.
        <strong>Log out everywhere</strong> still works.
      </p>
    </section>`;
  }
  const others = view.devices.filter((d) => !d.current).length;
  return html`<section class="devices" aria-labelledby="devices-heading">
    <h2 id="devices-heading">Your devices</h2>
    <ul class="devices" data-testid="devices">
      ${view.devices.map(deviceItem)}
    </ul>
    ${
      others === 0
        ? html`<p class="hint">No other device is signed in as <code>${view.username}</code>.</p>`
        : html`<form method="post" action="/logout-others">
            <button type="submit" class="danger">Log out other devices</button>
          </form>`
    }
  </section>`;
}

/** What an event means, in the user's words. */
export function eventLabel(type: SessionEventType, reason?: string): string {
  switch (type) {
    case 'sign_in':
      return 'Signed in';
    case 'renewal':
      return 'Session renewed';
    case 'reauthentication':
      return 'Password confirmed';
    case 'claims_changed':
      return 'An administrator changed your role or access';
    case 'claims_refresh':
      return 'Device picked up the new role';
    case 'logout':
      return 'Logged out';
    case 'logout_everywhere':
      return reason === 'banned'
        ? 'Signed out everywhere: the account was banned'
        : reason === 'revoke_user'
          ? 'Signed out everywhere: the password was changed, or a ban was lifted'
          : 'Logged out everywhere';
    case 'session_ended':
      return reason === 'others'
        ? 'Device signed out by "Log out other devices"'
        : reason === 'session_cap'
          ? 'Device signed out: too many devices signed in'
          : 'Device signed out (from the device list, or by a new sign-in on it)';
    case 'revoked_token_presented':
      return 'A signed-out cookie was used again (a stale tab, or a copy)';
    case 'store_unavailable':
      return 'Session checks unavailable';
    case 'store_recovered':
      return 'Session checks available again';
  }
}

function eventItem(event: EventView): SafeHtml {
  return html`<li
    class="event"
    data-testid="event"
    data-type="${event.type}"
    data-session-id="${event.sessionId ?? ''}"
  >
    <span class="event-what" data-testid="event-what">${eventLabel(event.type, event.reason)}</span>
    ${event.current ? html`<span class="badge">This device</span>` : ''}
    <div class="event-details">
      ${timestamp(event.at)}
      ${event.device === undefined ? '' : html` · <span data-testid="event-device">${event.device}</span>`}
      ${event.ip === undefined ? '' : html` · IP <span data-testid="event-ip">${event.ip}</span>`}
      ${event.sessionId === undefined ? '' : html` · session <code>${event.sessionId.slice(0, 8)}…</code>`}
    </div>
  </li>`;
}

function eventsSection(view: AccountView): SafeHtml {
  return html`<section class="events" aria-labelledby="events-heading">
    <h2 id="events-heading">Recent security activity</h2>
    ${
      view.events.length === 0
        ? html`<p class="hint">Nothing yet.</p>`
        : html`<ol class="events" data-testid="events">
            ${view.events.map(eventItem)}
          </ol>`
    }
    <p class="hint">
      The latest events of <code>${view.username}</code>, newest first: sign-ins with their device and IP, logouts,
      devices signed out, and signed-out cookies used again. Something you do not recognise?
      <strong>Log out everywhere</strong> and change your password.
    </p>
  </section>`;
}

export function accountPage(view: AccountView): string {
  return layout(
    'Your account',
    html`<h1>Signed in as <span class="user" data-testid="username">${view.username}</span></h1>
      ${view.notice === undefined ? '' : html`<p class="notice" role="status">${ACCOUNT_NOTICES[view.notice]}</p>`}
      <dl class="session">
        <dt>Role</dt>
        <dd><span class="role" data-testid="role">${view.role}</span></dd>
        <dt>This device's session</dt>
        <dd><code data-testid="session-id">${view.sessionId}</code></dd>
        <dt>Signed in</dt>
        <dd data-testid="signed-in-at">${timestamp(view.signedInAt)}</dd>
        <dt>Password last entered</dt>
        <dd data-testid="authenticated-at">${timestamp(view.authenticatedAt)}</dd>
        <dt>Token issued</dt>
        <dd data-testid="issued-at">${timestamp(view.issuedAt)}</dd>
        <dt>Token expires</dt>
        <dd data-testid="expires-at">${timestamp(view.expiresAt)}</dd>
        <dt>Session ends at the latest</dt>
        <dd data-testid="session-expires-at">${timestamp(view.sessionExpiresAt)}</dd>
      </dl>
      <p class="hint">
        The token is renewed as you use the site: each page you open after its renewal age gets a new one, so
        <em>Token expires</em> moves forward. An idle device is signed out when its token expires, and no renewal goes
        past the session's end.
      </p>
      <div class="actions">
        <form method="post" action="/logout"><button type="submit">Log out</button></form>
        <form method="post" action="/logout-all"><button type="submit" class="danger">Log out everywhere</button></form>
        <a class="button secondary" href="/password">Change password</a>
        ${view.role === 'admin' ? html`<a class="button secondary" href="/admin">Admin</a>` : ''}
      </div>
      <p class="hint">
        <strong>Log out</strong> ends this device's session only. <strong>Log out everywhere</strong> ends every session
        of <code>${view.username}</code>, on every browser. Either way, a copy of the cookie taken before stops working
        at once: the server checks every request against the database. Try it: sign in from a second browser, then
        compare.
      </p>
      ${devicesSection(view)} ${eventsSection(view)}`,
  );
}

/** Notices shown on the admin page, chosen by a fixed key in `?notice=`: never reflected text. */
export const ADMIN_NOTICES = {
  'role-changed': "The role is changed. The user's devices show it on their next page load.",
  banned: 'The user is banned: every device of theirs is signed out on its next request, and signing in is refused.',
  unbanned: 'The ban is lifted: the user can sign in again.',
  'not-yourself': 'You cannot change your own role or ban yourself here. Ask another administrator.',
  'unknown-user': 'There is no such user. Nothing changed.',
  notified: "The user's devices are told: each shows the change on its next page load.",
} as const;

export type AdminNoticeKey = keyof typeof ADMIN_NOTICES;

export function isAdminNoticeKey(value: unknown): value is AdminNoticeKey {
  return typeof value === 'string' && Object.hasOwn(ADMIN_NOTICES, value);
}

export interface AdminView {
  /** The administrator looking at the page. */
  username: string;
  users: UserSummary[];
  roles: readonly Role[];
  notice?: AdminNoticeKey | undefined;
}

function userRow(view: AdminView, user: UserSummary): SafeHtml {
  const self = user.username === view.username;
  return html`<tr data-testid="user-row" data-username="${user.username}">
    <td><span class="user-name">${user.username}</span>${self ? html` <span class="badge">you</span>` : ''}</td>
    <td data-testid="user-role">${user.role}</td>
    <td data-testid="user-status" class="${user.banned ? 'status banned' : 'status'}">
      ${user.banned ? 'banned' : 'active'}
    </td>
    <td class="user-actions">
      ${
        self
          ? html`<span class="hint">Your own account</span>`
          : html`<form method="post" action="/admin/role" class="inline">
                <input type="hidden" name="username" value="${user.username}" />
                <select name="role" aria-label="Role of ${user.username}">
                  ${view.roles.map(
                    (role) =>
                      html`<option value="${role}" ${role === user.role ? html`selected` : ''}>${role}</option>`,
                  )}
                </select>
                <button type="submit" class="secondary" aria-label="Change role of ${user.username}">
                  Change role
                </button>
              </form>
              <form method="post" action="/admin/ban" class="inline">
                <input type="hidden" name="username" value="${user.username}" />
                <input type="hidden" name="banned" value="${user.banned ? 'false' : 'true'}" />
                <button
                  type="submit"
                  class="${user.banned ? 'secondary' : 'danger'}"
                  aria-label="${user.banned ? 'Unban' : 'Ban'} ${user.username}"
                >
                  ${user.banned ? 'Unban' : 'Ban'}
                </button>
              </form>`
      }
    </td>
  </tr>`;
}

export function adminPage(view: AdminView): string {
  return layout(
    'Users',
    html`<h1>Users</h1>
      ${view.notice === undefined ? '' : html`<p class="notice" role="status">${ADMIN_NOTICES[view.notice]}</p>`}
      <table class="users" data-testid="users">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Change</th>
          </tr>
        </thead>
        <tbody>
          ${view.users.map((user) => userRow(view, user))}
        </tbody>
      </table>
      <p class="hint">
        A new role reaches every device of the user on its next request: its token is re-issued with the role read from
        the database (<code>auth.refreshClaims</code>). A ban signs the user out on every device, and a copy of their
        cookie stops working too.
      </p>
      <p><a href="/">Back to your account</a></p>`,
  );
}

export interface ConfirmPasswordView {
  username: string;
  /** Fixed key of the page to return to (see app.ts); never a URL from the request. */
  next?: string | undefined;
  error?: string | undefined;
}

export function confirmPasswordPage(view: ConfirmPasswordView): string {
  return layout(
    'Confirm your password',
    html`<h1>Confirm your password</h1>
      <p>This page changes your account, so enter your password again to continue.</p>
      ${view.error === undefined ? '' : html`<p class="error" role="alert">${view.error}</p>`}
      <form method="post" action="/confirm-password" class="stack">
        <input type="hidden" name="next" value="${view.next ?? ''}" />
        <input type="text" name="username" value="${view.username}" autocomplete="username" hidden readonly />
        <label for="password">Password of <code>${view.username}</code></label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          maxlength="1024"
          required
          autofocus
        />
        <button type="submit">Confirm</button>
      </form>
      <p><a href="/">Back to your account</a></p>`,
  );
}

export interface ChangePasswordView {
  username: string;
  error?: string | undefined;
}

export function changePasswordPage(view: ChangePasswordView): string {
  return layout(
    'Change password',
    html`<h1>Change password</h1>
      ${view.error === undefined ? '' : html`<p class="error" role="alert">${view.error}</p>`}
      <form method="post" action="/password" class="stack">
        <input type="text" name="username" value="${view.username}" autocomplete="username" hidden readonly />
        <label for="new-password">New password</label>
        <input
          id="new-password"
          name="newPassword"
          type="password"
          autocomplete="new-password"
          minlength="8"
          maxlength="1024"
          required
          autofocus
        />
        <label for="confirm-password">New password again</label>
        <input
          id="confirm-password"
          name="confirmPassword"
          type="password"
          autocomplete="new-password"
          minlength="8"
          maxlength="1024"
          required
        />
        <button type="submit">Change password</button>
      </form>
      <p class="hint">Every other device signed in as <code>${view.username}</code> is signed out; this one stays.</p>
      <p><a href="/">Back to your account</a></p>`,
  );
}

/**
 * A change the admin page stored, whose `refreshClaims` failed (the session store did not answer): the user's
 * devices have not been told yet. Sending it again is harmless.
 */
export function notifyRetryPage(username: string): string {
  return layout(
    'Saved, not yet sent',
    html`<h1>Saved, not yet sent</h1>
      <p>
        The change to ${username} is saved, but their signed-in devices could not be told yet: the session store did not
        answer. Until they are, those devices keep the role they had.
      </p>
      <form method="post" action="/admin/notify">
        <input type="hidden" name="username" value="${username}" />
        <button type="submit">Tell their devices again</button>
      </form>
      <p><a href="/admin">Back to the admin page</a></p>`,
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
