// express-revocable-jwt/redis: the Redis store. Needs `redis` (node-redis) or `ioredis` (optional peer dependencies).
export { RedisRevocationStore } from './stores/redis/redis-store.js';
export type { RedisRevocationStoreOptions } from './stores/redis/options.js';
export type { RedisClientLike } from './stores/redis/client.js';
