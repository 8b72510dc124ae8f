// The session lifetimes derived from the options: token lifetime, renewal age and absolute session lifetime.
import { ConfigError } from '../core/config-error.js';
import { ACCEPTED_PAST_END_MS } from '../core/limits.js';

/** Absolute session lifetime when `maxAge` is not given (or `expiresIn`, when that is longer). */
const DEFAULT_MAX_AGE_SECONDS = 7 * 86_400;

export interface Lifetimes {
  /** A token's lifetime, in seconds: the idle timeout. */
  expiresInSeconds: number;
  /** Renew a token older than this, in seconds; undefined: never. */
  renewAfterSeconds: number | undefined;
  /** A session's absolute lifetime from sign-in, in seconds. */
  maxAgeSeconds: number;
}

/** Fills in the defaults and checks that the three lifetimes fit together. */
export function resolveLifetimes(
  options: { expiresIn: number; renewAfter?: number | false | undefined; maxAge?: number | undefined },
  canSign = true,
): Lifetimes {
  const expiresInSeconds = options.expiresIn;
  const maxAgeSeconds = options.maxAge ?? Math.max(DEFAULT_MAX_AGE_SECONDS, expiresInSeconds);
  if (maxAgeSeconds < expiresInSeconds) {
    throw new ConfigError(
      'maxAge',
      `(${maxAgeSeconds} s) must be at least \`expiresIn\` (${expiresInSeconds} s): a session cannot end before its first token.`,
    );
  }
  if (!canSign && options.renewAfter !== undefined && options.renewAfter !== false) {
    throw new ConfigError(
      'renewAfter',
      'needs a key that can sign: this instance has only a public key. Leave `renewAfter` out (a verify-only instance never renews) or pass `privateKey`.',
    );
  }
  // A verify-only instance cannot re-issue tokens: its sessions are renewed by the instances that sign.
  const renewAfter = canSign ? (options.renewAfter ?? Math.floor(expiresInSeconds / 2)) : false;
  if (renewAfter !== false && renewAfter >= expiresInSeconds) {
    throw new ConfigError(
      'renewAfter',
      `(${renewAfter} s) must be shorter than \`expiresIn\` (${expiresInSeconds} s), or \`false\` to never renew.`,
    );
  }
  return {
    expiresInSeconds,
    renewAfterSeconds: renewAfter === false || renewAfter === 0 ? undefined : renewAfter,
    maxAgeSeconds,
  };
}

/** Slack for clocks of instances that disagree, on top of the largest `clockTolerance`. */
const SESSION_SLACK_MS = 300_000;

/**
 * How long after a logout everywhere a session it ended may still be used, at most: the absolute session lifetime
 * (a claims reload or a reauthentication re-issues tokens up to it, also without renewal), the slack, and the
 * largest `clockTolerance` any instance may accept. What this instance declares to the store.
 */
export function sessionLifetimeBound(lifetimes: Lifetimes): number {
  return lifetimes.maxAgeSeconds * 1000 + SESSION_SLACK_MS + ACCEPTED_PAST_END_MS;
}
