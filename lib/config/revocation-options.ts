// The options of createRevocation, defined once as a zod schema.
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { SessionAuthError } from '../errors/session-auth-error.js';
import { revocationDelaySchema } from '../revocation/revocation-cache.js';
import type { RevocationStore } from '../stores/revocation-store.js';
import { loggerSchema, type Logger } from './logger.js';

export const revocationOptionsSchema = z
  .object({
    store: z.custom<RevocationStore>(() => true).optional(),
    storeTimeoutMs: z.number().int().positive().max(60_000).default(2000),
    failOpen: z.boolean().default(false),
    maxRevocationDelay: revocationDelaySchema,
    issuedAtPrecision: z.enum(['seconds', 'milliseconds']).default('seconds'),
    onError: z
      .custom<(error: SessionAuthError, req: Request, res: Response, next: NextFunction) => unknown>(
        (v) => typeof v === 'function',
        { message: 'must be a function (error, req, res, next)' },
      )
      .optional(),
    logger: loggerSchema.default(console),
  })
  .strict();

/** The options of `createRevocation`. */
export interface RevocationOptions {
  /** Where revocation state lives: `MemoryRevocationStore`, `MongoRevocationStore` or your own. Required. */
  store: RevocationStore;
  /** Milliseconds to wait for the store before failing closed. Defaults to 2000. */
  storeTimeoutMs?: number;
  /** DANGEROUS: accept tokens without a revocation check while the store is down. Defaults to false. */
  failOpen?: boolean;
  /**
   * Opt-in bounded delay: checks may be answered from revocation state read at most this long ago (milliseconds,
   * or "100ms", "1s"; at most "60s"). Revocations through this instance are seen by it at once. Defaults to 0.
   */
  maxRevocationDelay?: number | string;
  /**
   * How precise the issue times of your tokens are. `'seconds'` (the default: jsonwebtoken's `iat`) makes
   * `revokeUser` wait for the next whole second before it returns, so a token signed after it is accepted;
   * `'milliseconds'` when every token carries `iat_ms` (then `revokeUser` returns within a millisecond).
   */
  issuedAtPrecision?: 'seconds' | 'milliseconds';
  /** Answers a request rejected by `revocation.check`. Defaults to the JSON error response. */
  onError?: (error: SessionAuthError, req: Request, res: Response, next: NextFunction) => unknown;
  /**
   * Where warnings go (store outages, fail-open use, and those of a store created without a logger of its own).
   * Defaults to `console`. Never receives tokens.
   */
  logger?: Logger;
}

type SchemaInput = Omit<z.input<typeof revocationOptionsSchema>, 'store'>;
type InterfaceInput = Omit<RevocationOptions, 'store'>;
export type RevocationOptionsMatchSchema = [SchemaInput, InterfaceInput] extends [InterfaceInput, SchemaInput]
  ? true
  : never;
const optionsMatchSchema: RevocationOptionsMatchSchema = true;
void optionsMatchSchema;
