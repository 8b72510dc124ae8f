// Startup errors for misconfiguration: one readable message naming the option, the bad value and the fix.

const PREFIX = 'express-revocable-jwt';

/** Thrown at startup (never per request) when options are wrong or the API is used the wrong way. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The option path at fault, e.g. `cookie.sameSite`; empty when the problem is not one option. */
  readonly option: string;

  constructor(option: string, problem: string, options?: { cause?: unknown }) {
    super(`${PREFIX}: ${option === '' ? '' : `\`${option}\` `}${problem}`, options);
    this.option = option;
  }
}

/** Joins several problems into one error, so a user fixes them all in one go. */
export function combineConfigErrors(errors: readonly ConfigError[]): ConfigError {
  if (errors.length === 1 && errors[0] !== undefined) return errors[0];
  const lines = errors.map((e) => `  - ${e.message.slice(PREFIX.length + 2)}`);
  const combined = new ConfigError('', `has ${errors.length} configuration problems:\n${lines.join('\n')}`);
  return Object.assign(combined, { option: errors.map((e) => e.option).join(', ') });
}

/** Shows a value in an error message without ever revealing a secret or a key. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  if (typeof value === 'function') return `a function${value.name === '' ? '' : ` (${value.name})`}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  if (typeof value === 'symbol') return value.toString();
  return `${value as number | boolean | bigint}`;
}

/** The closest known name to `input`, for "did you mean" hints; undefined when none is close. */
export function closestName(input: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(3, Math.floor(input.length / 3)) + 1;
  const lower = input.toLowerCase();
  for (const name of known) {
    const candidate = name.toLowerCase();
    // A prefix ("maxEntry" for "maxEntries", "same" for "sameSite") counts as close whatever its length.
    const d = lower.length >= 3 && candidate.startsWith(lower.slice(0, -1)) ? 1 : editDistance(lower, candidate);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
