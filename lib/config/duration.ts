// The one duration grammar of every option that takes a time: a number, or a string such as "15m" or "7 days";
// and the option schemas built on it.
import { z } from 'zod';
import { MAX_REVOCATION_DELAY_MS, MAX_TOKEN_LIFETIME_SECONDS } from '../core/limits.js';

/** Milliseconds per unit; each unit also has the long forms listed (singular and plural). */
export const DURATION_UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
  // As jsonwebtoken's `expiresIn` (the `ms` package) counts a year.
  y: 31_557_600_000,
  yr: 31_557_600_000,
  yrs: 31_557_600_000,
  year: 31_557_600_000,
  years: 31_557_600_000,
};

/**
 * Milliseconds for a duration: a number counts in `bareUnitMs` (1000 for options in seconds, 1 for
 * milliseconds), and so does a string of digits alone; otherwise a string is a whole number, optional spaces and
 * a unit (case-insensitive): `ms`, `s`/`sec`/`second(s)`, `m`/`min`/`minute(s)`, `h`/`hr`/`hour(s)`,
 * `d`/`day(s)`, `w`/`week(s)`, `y`/`yr`/`year(s)` (365.25 days). Undefined for anything else (decimals,
 * negative numbers, other units, a number that is not a whole count of `bareUnitMs`).
 */
export function parseDurationMs(input: number | string, bareUnitMs: number): number | undefined {
  let ms: number;
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) return undefined;
    ms = input * bareUnitMs;
  } else {
    const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(input);
    if (match === null) return undefined;
    const unit = (match[2] ?? '').toLowerCase();
    const factor = unit === '' ? bareUnitMs : DURATION_UNIT_MS[unit];
    if (factor === undefined) return undefined;
    ms = Number(match[1]) * factor;
  }
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Whole seconds for `15m`, `1h`, `7 days`, `900` or 900; undefined unless a positive whole number of seconds. */
export function parseDurationSeconds(input: number | string): number | undefined {
  const ms = parseDurationMs(input, 1000);
  return ms === undefined || ms <= 0 || ms % 1000 !== 0 ? undefined : ms / 1000;
}

/** Milliseconds for `0`, `100`, `'100ms'`, `'1s'`; undefined when not a delay within 0 and a minute. */
export function parseRevocationDelayMs(input: number | string): number | undefined {
  const ms = parseDurationMs(input, 1);
  return ms !== undefined && ms <= MAX_REVOCATION_DELAY_MS ? ms : undefined;
}

/** An option in seconds (a number or a duration string), at most 400 days (browsers cap cookies there). */
export const secondsOption = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined || seconds > MAX_TOKEN_LIFETIME_SECONDS) {
    ctx.addIssue({
      code: 'custom',
      message:
        'must be a positive whole number of seconds or a duration such as "15m", "12h" or "7d", at most "400d" (browsers cap cookies at 400 days)',
    });
    return z.NEVER;
  }
  return seconds;
});

/** `maxRevocationDelay`: milliseconds (a number) or a duration string, 0 to a minute; resolves to milliseconds. */
export const revocationDelayOption = z
  .union([z.number(), z.string()])
  .default(0)
  .transform((value, ctx) => {
    const ms = parseRevocationDelayMs(value);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'must be a whole number of milliseconds or a duration such as "100ms" or "1s" (see "Durations" in the README), from 0 to "60s"',
      });
      return z.NEVER;
    }
    return ms;
  });
