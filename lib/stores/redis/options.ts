// The options of RedisRevocationStore: one strict schema, the single source of the public options type.
import { z } from 'zod';
import { loggerSchema } from '../../config/logger.js';
import { detectClient, type RedisClientLike } from './client.js';

export const redisStoreOptionsSchema = z
  .object({
    /**
     * A node-redis client (`createClient()` from `redis`, v5 or later; connect it yourself) or an ioredis
     * client (`new Redis()`), or a cluster client of either. The store never connects or closes it.
     */
    client: z.custom<RedisClientLike>((v) => detectClient(v) !== undefined, {
      message:
        'must be a node-redis client (`createClient()` from `redis`) or an ioredis client (`new Redis()` from `ioredis`)',
    }),
    /** Start of every key the store writes. Must not contain `{` or `}` (they would move the hash tag). Defaults to `rjwt:`. */
    prefix: z
      .string()
      .max(100)
      .regex(/^[^{}]*$/, { message: 'must not contain `{` or `}`: the user part of each key is the hash tag' })
      .default('rjwt:'),
    /**
     * After each revocation, `WAIT` for this many replicas to acknowledge it; fewer within `waitTimeoutMs`
     * fails the logout (503, the revocation is kept on the primary). Defaults to 0 (no WAIT).
     */
    waitReplicas: z.number().int().min(0).max(100).default(0),
    /**
     * Spreads the change feed over this many slots (`{feed}`, `{feed:1:<n>}`...): on a Redis Cluster every logout
     * writes to the feed, so one slot caps the logout rate at what its primary does alone. A power of two spreads
     * the parts evenly over the slots (8 or 16 for three primaries). Each user's changes
     * go to one part; reads take every part, one round trip per node. Raise it only once every instance sharing
     * the data runs a version that has this option (older ones read `{feed}` alone); instances of this version
     * read as many parts as any writer used. Defaults to 1.
     */
    feedSlots: z.number().int().min(1).max(64).default(1),
    /** How long `WAIT` may block, in ms (never 0: that would block forever). Defaults to 1000. */
    waitTimeoutMs: z.number().int().positive().max(60_000).default(1000),
    /**
     * Longest the store waits for one answer from Redis, in ms; past it the call fails and a late reply is
     * ignored. The middleware's `storeTimeoutMs` (2 s by default) usually answers first. Defaults to 10,000.
     */
    commandTimeoutMs: z.number().int().positive().max(600_000).default(10_000),
    /**
     * Where warnings go (persistence off, evicting keys, a client that queues commands while offline). Defaults to
     * the `logger` of the instance that uses the store (`createSessionAuth`, `createRevocation`), else `console`.
     */
    logger: loggerSchema.optional(),
  })
  .strict();

/** The options of `RedisRevocationStore`, declared with their documentation and defaults by the schema that validates them. */
export interface RedisRevocationStoreOptions extends z.input<typeof redisStoreOptionsSchema> {}
