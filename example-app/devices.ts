// Readable device names for the "Your devices" list, from the User-Agent each session signed in with.
import Bowser from 'bowser';

const MAX_RAW = 40;

/** "Chrome 140 on Linux", "Safari 17 on iOS (mobile)"; the raw start of an unknown User-Agent; or "Unknown device". */
export function describeDevice(userAgent: string | undefined): string {
  if (userAgent === undefined || userAgent.trim() === '') return 'Unknown device';
  const { browser, os, platform } = Bowser.parse(userAgent);
  const major = browser.version?.split('.')[0];
  const name = browser.name ? `${browser.name}${major ? ` ${major}` : ''}` : undefined;
  const system = os.name
    ? `${os.name}${platform.type === 'mobile' || platform.type === 'tablet' ? ` (${platform.type})` : ''}`
    : undefined;
  if (name !== undefined && system !== undefined) return `${name} on ${system}`;
  const either = name ?? system;
  if (either !== undefined) return either;
  const raw = userAgent.trim();
  return `Other client (${raw.length > MAX_RAW ? `${raw.slice(0, MAX_RAW)}…` : raw})`;
}
