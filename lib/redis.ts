/**
 * The Redis store. Needs `redis` (node-redis) or `ioredis` (optional peer dependencies).
 *
 * @module express-revocable-jwt/redis
 */
export { RedisRevocationStore } from './stores/redis/redis-store.js';
export type { RedisRevocationStoreOptions } from './stores/redis/options.js';
export type { ClientKind as RedisClientKind, RedisClientLike } from './stores/redis/client.js';
