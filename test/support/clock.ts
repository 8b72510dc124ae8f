// A clock a test moves by hand (`now` for the options of this package, `at` to read or set it directly).

export function manualClock(start = Date.now()) {
  const clock = { at: start, now: () => clock.at, advance: (ms: number) => void (clock.at += ms) };
  return clock;
}
