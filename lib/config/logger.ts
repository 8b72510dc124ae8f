// The logger option: where warnings go (store outages, risky settings). Messages never hold tokens or secrets.
import { z } from 'zod';
import { MESSAGE_PREFIX } from '../core/config-error.js';

/** Logger used for startup and outage warnings; `console` fits. Messages never contain tokens or secrets. */
export interface Logger {
  /** One warning, a single line that starts with `express-revocable-jwt:`. */
  warn(message: string): void;
}

export const loggerSchema = z.custom<Logger>(
  (value) => typeof value === 'object' && value !== null && typeof (value as Logger).warn === 'function',
  { message: 'must be an object with a `warn(message)` method, such as `console`' },
);

/**
 * A store's logger: its own `logger` option when given, else the logger of the instance that uses it (handed
 * over by `init`), else `console` (warnings before any `init`).
 */
export function storeLogger(own: Logger | undefined): Logger & { adopt(logger: Logger | undefined): void } {
  let adopted: Logger | undefined;
  return {
    warn: (message) => (own ?? adopted ?? console).warn(message),
    adopt: (logger) => {
      adopted = logger ?? adopted;
    },
  };
}

/**
 * Logs an outage once, when it begins, and once more when it ends: `failed(cause)` on each failure,
 * `succeeded()` on each success (both may be passed as they are). `down` words the first line from the
 * failure's message, `up` the last.
 */
export function createOutageLog(
  logger: Logger,
  words: { down: (reason: string) => string; up: string },
  /** Also told when an outage begins (`true`) and ends (`false`). */
  onChange?: (failing: boolean) => void,
) {
  let failing = false;
  return {
    failed(cause: unknown): void {
      if (failing) return;
      failing = true;
      logger.warn(`${MESSAGE_PREFIX}: ${words.down(cause instanceof Error ? cause.message : String(cause))}`);
      onChange?.(true);
    },
    succeeded(): void {
      if (!failing) return;
      failing = false;
      logger.warn(`${MESSAGE_PREFIX}: ${words.up}`);
      onChange?.(false);
    },
  };
}
