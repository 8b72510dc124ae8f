// CPU time and resident memory of processes, read from /proc (Linux). Elsewhere the figures are reported as n/a.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

function getconf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

const TICKS_PER_SECOND = getconf('CLK_TCK', 100);
const PAGE_SIZE = getconf('PAGESIZE', 4096);

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** User plus system CPU seconds the process used so far (all its threads), or NaN when unavailable. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid);
  // After the name: state is field 3 of the full line, so utime (14) and stime (15) are at 11 and 12 here.
  if (fields === undefined) return Number.NaN;
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Resident set size in bytes, or NaN when unavailable. */
export function rssBytes(pid: number): number {
  const fields = statFields(pid);
  if (fields === undefined) return Number.NaN;
  return Number(fields[21]) * PAGE_SIZE;
}

/** Busy CPU seconds of the whole machine so far (every core; idle, iowait and steal excluded). */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = user + nice + system + irq + softirq
    const busy = (values[0] ?? 0) + (values[1] ?? 0) + (values[2] ?? 0) + (values[5] ?? 0) + (values[6] ?? 0);
    return busy / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}
