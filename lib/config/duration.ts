// Parses token lifetimes given as seconds (number) or a duration string such as "15m" or "7 days".

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
  w: 604800,
  week: 604800,
  weeks: 604800,
};

/** Whole seconds for `15m`, `1h`, `7 days`, `900` or 900; undefined when the input is not a duration. */
export function parseDurationSeconds(input: number | string): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input > 0 ? input : undefined;
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(input);
  if (match === null) return undefined;
  const amount = Number(match[1]);
  const unit = (match[2] ?? '').toLowerCase();
  const factor = unit === '' ? 1 : UNIT_SECONDS[unit];
  if (factor === undefined || amount <= 0) return undefined;
  const seconds = amount * factor;
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}
