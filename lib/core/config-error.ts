// The one error class for programmer mistakes, at startup or at call time, and the prefix of every message.

/** Every message this package writes (errors and log lines) starts with this. */
export const MESSAGE_PREFIX = 'express-revocable-jwt';

/** What kind of mistake a ConfigError reports. */
export type ConfigErrorCode =
  /**
   * An option of a factory or constructor is missing, unknown or invalid: thrown at startup, or when a call finds
   * it out (an async `claims` part at login, a `userId` mapping of the MongoDB store that returns no string).
   */
  | 'invalid_option'
  /** A function of the API was called with a wrong argument (thrown or rejected at call time). */
  | 'invalid_argument'
  /** A factory or middleware was mounted the wrong way, e.g. `app.use(createSessionAuth)`. */
  | 'wrong_mounting'
  /** The instance cannot do what was asked, e.g. sign tokens with only a public key. */
  | 'unsupported';

/**
 * Thrown for every programmer error: wrong options at startup, a wrong argument to `login` or `revokeUser`,
 * a middleware mounted the wrong way. Never for a bad request (those are `SessionAuthError`s). It extends
 * `TypeError`, so code that caught the `TypeError`s of earlier versions keeps working.
 */
export class ConfigError extends TypeError {
  /** Always `'ConfigError'`. */
  override readonly name = 'ConfigError';
  /** What kind of mistake: a wrong option at startup, a wrong argument, a wrong mounting, or unsupported. */
  readonly code: ConfigErrorCode;
  /** The option or argument at fault, e.g. `cookie.sameSite`; empty when the problem is not one option. */
  readonly option: string;
  /** The message without the prefix and the option name. */
  readonly problem: string;

  constructor(option: string, problem: string, options?: { cause?: unknown; code?: ConfigErrorCode }) {
    super(`${MESSAGE_PREFIX}: ${option === '' ? '' : `\`${option}\` `}${problem}`, options);
    this.option = option;
    this.problem = problem;
    this.code = options?.code ?? 'invalid_option';
  }
}

/** A wrong argument at call time, e.g. `argumentError('revokeUser(sub)', 'needs a non-empty string')`. */
export function argumentError(argument: string, problem: string): ConfigError {
  return new ConfigError(argument, problem, { code: 'invalid_argument' });
}

/** Joins several problems into one error, so a user fixes them all in one go. */
export function combineConfigErrors(errors: readonly ConfigError[]): ConfigError {
  if (errors.length === 1 && errors[0] !== undefined) return errors[0];
  const lines = errors.map((e) => `  - ${e.message.slice(MESSAGE_PREFIX.length + 2)}`);
  const combined = new ConfigError('', `has ${errors.length} configuration problems:\n${lines.join('\n')}`);
  return Object.assign(combined, { option: errors.map((e) => e.option).join(', ') });
}

/**
 * Narrowing helper that also works across two copies of the package (ESM and CJS loaded side by side).
 *
 * @example
 * ```ts
 * app.post('/devices/:id/logout', auth.requireAuth, async (req, res) => {
 *   try {
 *     await auth.revokeSession(String(req.params.id), { sub: auth.sessionOf(req).sub });
 *     res.sendStatus(204);
 *   } catch (err) {
 *     if (isConfigError(err) && err.code === 'invalid_argument') res.sendStatus(404); // not one of your sessions
 *     else throw err;
 *   }
 * });
 * ```
 */
export function isConfigError(value: unknown): value is ConfigError {
  return (
    value instanceof ConfigError ||
    (value instanceof TypeError && value.name === 'ConfigError' && typeof (value as ConfigError).code === 'string')
  );
}
