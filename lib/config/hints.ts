// Helpers for readable configuration errors: a value shown without secrets, and "did you mean" hints.

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
