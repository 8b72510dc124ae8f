// createSessionAuth's configuration, resolved once at startup: options, store shape, keys and lifetimes.
import { MESSAGE_PREFIX, ConfigError } from './core/config-error.js';
import { assertNotMounted } from './http/mounting.js';
import { assertRevocationStore } from './stores/revocation-store.js';
import { asyncClaimsError, asyncPartOf, RESERVED_CLAIMS, reservedAmong } from './token/claims.js';
import { resolveConfiguredKeys } from './token/keys.js';
import { resolveLifetimes } from './config/lifetimes.js';
import { sessionAuthOptionsSchema } from './config/options.js';
import { validateOptions } from './config/validate-options.js';

/** Throws a ConfigError naming the option and the fix for anything wrong; warns about risky settings. */
export function resolveSessionAuthConfig(options: unknown) {
  assertNotMounted(
    options,
    'createSessionAuth',
    'const auth = createSessionAuth({ secret, store }); app.use(auth.authenticate);',
  );
  const config = validateOptions(sessionAuthOptionsSchema, options, 'createSessionAuth');
  assertRevocationStore(config.store);
  const keys = resolveConfiguredKeys(config);
  const lifetimes = resolveLifetimes(config, keys.signingKey !== undefined);
  const reserved = reservedAmong(Object.keys(config.claims?.shape ?? {}));
  if (reserved.length > 0) {
    const names = reserved.map((k) => `\`${k}\``).join(', ');
    throw new ConfigError(
      'claims',
      `defines ${names}, which this package sets itself (${RESERVED_CLAIMS.join(', ')}). Rename those claims.`,
    );
  }
  const asyncPart = config.claims === undefined ? undefined : asyncPartOf(config.claims);
  if (asyncPart !== undefined) throw asyncClaimsError(asyncPart);
  if (config.maxSessions !== undefined && config.store.listSessions === undefined) {
    throw new ConfigError(
      'maxSessions',
      'needs a store with a device registry (`registerSession`, `touchSession`, `listSessions`): MemoryRevocationStore, MongoRevocationStore and RedisRevocationStore have one. Leave `maxSessions` out with this store.',
      { code: 'unsupported' },
    );
  }
  if (config.loadClaims !== undefined && config.store.markClaimsChanged === undefined) {
    throw new ConfigError(
      'loadClaims',
      'needs a store that records claims changes (`markClaimsChanged`, and `claimsChangedAt` in `getState`): MemoryRevocationStore, MongoRevocationStore and RedisRevocationStore do. Leave `loadClaims` out with this store, or add both to it (see "Writing a store").',
      { code: 'unsupported' },
    );
  }
  if (config.failOpen) {
    config.logger.warn(
      `${MESSAGE_PREFIX}: \`failOpen\` is on: while the revocation store is down, logged-out sessions are accepted again, with the claims they had.`,
    );
  }
  // The spread keeps the narrowing of `store` by assertRevocationStore in the returned type.
  return { config: { ...config, store: config.store }, keys, lifetimes };
}
