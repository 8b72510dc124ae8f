// Turns the configured secret or key pair into pinned-algorithm KeyObjects, checking strength at startup.
import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { ConfigError } from '../core/config-error.js';
import {
  ALGORITHMS,
  ASYMMETRIC_ALGORITHMS,
  HMAC_ALGORITHMS,
  type Algorithm,
  type KeyInput,
} from '../core/algorithms.js';

export interface ResolvedKeys {
  algorithm: Algorithm;
  /** Undefined for a verify-only instance configured with a public key alone. */
  signingKey: KeyObject | undefined;
  verificationKey: KeyObject;
  /** With `keys`: the `kid` the signing key puts in the header, and every verification key by its `kid`. */
  keyId?: string;
  keysById?: ReadonlyMap<string, KeyObject>;
  /** With `keys` and `keyForTokensWithoutKid`: the key that verifies a token without a `kid` (a migration). */
  keyWithoutKid?: KeyObject;
}

/** One entry of the `keys` option: a key id and the key material, as for `secret` or a key pair. */
export interface KeyringEntry {
  kid: string;
  secret?: KeyInput | undefined;
  privateKey?: KeyInput | undefined;
  publicKey?: KeyInput | undefined;
}

/**
 * The `keys` option: every key has a `kid`; the first signs, every one verifies the tokens carrying its
 * `kid`. All must use the one pinned algorithm (the same strength checks as `secret` and key pairs).
 */
/** `secret`/`privateKey`/`publicKey`, or the `keys` ring: exactly one of the two ways. */
export function resolveConfiguredKeys(config: {
  secret?: KeyInput | undefined;
  privateKey?: KeyInput | undefined;
  publicKey?: KeyInput | undefined;
  algorithm?: string | undefined;
  keys?: readonly KeyringEntry[] | undefined;
  keyForTokensWithoutKid?: string | undefined;
}): ResolvedKeys {
  const withoutKid = config.keyForTokensWithoutKid;
  if (config.keys === undefined) {
    if (withoutKid !== undefined)
      throw new ConfigError('keyForTokensWithoutKid', 'needs `keys`: it names the key of `keys` that verifies them.');
    return resolveKeys(config);
  }
  if (config.secret !== undefined || config.privateKey !== undefined || config.publicKey !== undefined) {
    throw new ConfigError(
      'keys',
      'and `secret`/`privateKey`/`publicKey` were both given. With rotating keys, list every key in `keys`.',
    );
  }
  const ring = resolveKeyring(config.keys, config.algorithm);
  if (withoutKid === undefined) return ring;
  const keyWithoutKid = ring.keysById?.get(withoutKid);
  if (keyWithoutKid === undefined) {
    throw new ConfigError(
      'keyForTokensWithoutKid',
      `is ${JSON.stringify(withoutKid)}, which is not the \`kid\` of an entry of \`keys\`. Name the key that signed the tokens issued before \`keys\`, e.g. \`keys: [{ kid: 'new', secret: newSecret }, { kid: 'old', secret: oldSecret }], keyForTokensWithoutKid: 'old'\`.`,
    );
  }
  return { ...ring, keyWithoutKid };
}

function resolveKeyring(entries: readonly KeyringEntry[], algorithm: string | undefined): ResolvedKeys {
  const keysById = new Map<string, KeyObject>();
  let first: ResolvedKeys | undefined;
  entries.forEach((entry, i) => {
    let resolved: ResolvedKeys;
    try {
      resolved = resolveKeys({ ...entry, algorithm: algorithm ?? first?.algorithm });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(`keys[${i}]${error.option === '' ? '' : `.${error.option}`}`, error.problem, {
        cause: error,
      });
    }
    if (keysById.has(entry.kid))
      throw new ConfigError(`keys[${i}].kid`, `repeats ${JSON.stringify(entry.kid)}; every key needs its own \`kid\`.`);
    keysById.set(entry.kid, resolved.verificationKey);
    first ??= resolved;
  });
  if (first === undefined)
    throw new ConfigError('keys', 'is empty. List at least one key: `keys: [{ kid: "2026-11", secret }]`.');
  return { ...first, keyId: entries[0]?.kid, keysById };
}

const MIN_HMAC_BYTES: Record<(typeof HMAC_ALGORITHMS)[number], number> = { HS256: 32, HS384: 48, HS512: 64 };
const EC_CURVE: Record<string, Algorithm> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/**
 * Always KeyObjects: jsonwebtoken given a string or Buffer secret first tries to parse it as a public key on
 * every verification, which costs about 50 times the verification itself.
 */
export function resolveKeys(input: {
  secret?: KeyInput | undefined;
  privateKey?: KeyInput | undefined;
  publicKey?: KeyInput | undefined;
  algorithm?: string | undefined;
}): ResolvedKeys {
  const { secret, privateKey, publicKey } = input;
  if (input.algorithm === 'EdDSA') {
    throw new ConfigError(
      'algorithm',
      'is "EdDSA", which jsonwebtoken 9 (used by express-jwt) cannot verify. Use "ES256" with a P-256 key pair instead.',
    );
  }
  if (secret !== undefined && (privateKey !== undefined || publicKey !== undefined)) {
    throw new ConfigError(
      'secret',
      'and `privateKey`/`publicKey` were both given. Pass `secret` for HS256, or a key pair for RS256/PS256/ES256, not both.',
    );
  }
  if (secret !== undefined) return resolveSecret(secret, input.algorithm ?? 'HS256');
  if (privateKey === undefined && publicKey === undefined) {
    throw new ConfigError(
      'secret',
      'is missing. Pass `secret` (at least 32 random bytes, e.g. `crypto.randomBytes(32).toString("base64url")`) or a key pair as `privateKey` and `publicKey`.',
    );
  }
  return resolveKeyPair(privateKey, publicKey, input.algorithm);
}

function resolveSecret(secret: KeyInput, algorithm: string): ResolvedKeys {
  if (!isHmac(algorithm)) {
    throw new ConfigError(
      'algorithm',
      `is ${JSON.stringify(algorithm)}, which needs a key pair: pass \`privateKey\` and \`publicKey\` instead of \`secret\`, or use "HS256".`,
    );
  }
  if (typeof secret === 'string' && secret.includes('-----BEGIN')) {
    throw new ConfigError(
      'secret',
      'looks like a PEM key. Pass PEM keys as `privateKey` and `publicKey`; `secret` is for HS256 shared secrets.',
    );
  }
  let key: KeyObject;
  if (secret instanceof KeyObject) {
    if (secret.type !== 'secret')
      throw new ConfigError(
        'secret',
        `is a ${secret.type} KeyObject. Pass asymmetric keys as \`privateKey\` and \`publicKey\`.`,
      );
    key = secret;
  } else if (typeof secret === 'string' || Buffer.isBuffer(secret)) {
    key = createSecretKey(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret);
  } else {
    throw new ConfigError('secret', 'must be a string, a Buffer or a secret KeyObject.');
  }
  const bytes = key.symmetricKeySize ?? 0;
  const min = MIN_HMAC_BYTES[algorithm];
  if (bytes < min) {
    throw new ConfigError(
      'secret',
      `is ${bytes} bytes long; ${algorithm} needs at least ${min}. Generate one with \`node -e "console.log(require('crypto').randomBytes(${min}).toString('base64url'))"\`.`,
    );
  }
  return { algorithm, signingKey: key, verificationKey: key };
}

function resolveKeyPair(
  privateInput: KeyInput | undefined,
  publicInput: KeyInput | undefined,
  algorithm: string | undefined,
): ResolvedKeys {
  const signingKey = privateInput === undefined ? undefined : toKey('privateKey', privateInput, 'private');
  const verificationKey =
    publicInput === undefined ? createPublicKey(signingKey as KeyObject) : toKey('publicKey', publicInput, 'public');
  if (signingKey !== undefined && publicInput !== undefined) {
    const derived = createPublicKey(signingKey).export({ format: 'jwk' });
    const given = verificationKey.export({ format: 'jwk' });
    if (JSON.stringify(derived) !== JSON.stringify(given)) {
      throw new ConfigError(
        'publicKey',
        'does not belong to `privateKey`. Pass the public half of the same key pair, or leave `publicKey` out to derive it.',
      );
    }
  }
  const type = verificationKey.asymmetricKeyType ?? 'unknown';
  if (type === 'ed25519' || type === 'ed448') {
    throw new ConfigError(
      'publicKey',
      `is an ${type} key (EdDSA), which jsonwebtoken 9 (used by express-jwt) cannot verify. Use an EC P-256 key pair (ES256) instead.`,
    );
  }
  const inferred = inferAlgorithm(verificationKey);
  const chosen = algorithm ?? inferred;
  if (chosen === undefined || isHmac(chosen)) {
    throw new ConfigError(
      'algorithm',
      `cannot be used with a ${type} key. Supported key pairs: RSA (RS256, PS256), EC P-256 (ES256), P-384 (ES384), P-521 (ES512).`,
    );
  }
  if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(chosen)) {
    throw new ConfigError('algorithm', `is ${JSON.stringify(chosen)}; expected one of ${ALGORITHMS.join(', ')}.`);
  }
  const alg = chosen as Algorithm;
  if (type === 'rsa' || type === 'rsa-pss') {
    // An RSA-PSS key can only make PS signatures; a plain RSA key can make both.
    if (!alg.startsWith('PS') && (type === 'rsa-pss' || !alg.startsWith('RS'))) throw mismatch(alg, type);
    const bits = verificationKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new ConfigError('publicKey', `is a ${bits}-bit RSA key; use at least 2048 bits.`);
  } else if (type === 'ec') {
    const curve = verificationKey.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    if (EC_CURVE[curve] !== alg) throw mismatch(alg, `EC ${curve}`);
  } else {
    throw mismatch(alg, type);
  }
  return { algorithm: alg, signingKey, verificationKey };
}

function toKey(option: string, input: KeyInput, kind: 'private' | 'public'): KeyObject {
  if (input instanceof KeyObject) {
    if (kind === 'private' && input.type !== 'private')
      throw new ConfigError(option, `is a ${input.type} KeyObject; expected a private key.`);
    if (kind === 'public' && input.type === 'secret')
      throw new ConfigError(option, 'is a secret KeyObject; expected a public key.');
    return kind === 'public' && input.type === 'private' ? createPublicKey(input) : input;
  }
  try {
    return kind === 'private' ? createPrivateKey(input) : createPublicKey(input);
  } catch (cause) {
    throw new ConfigError(option, `cannot be read as a ${kind} key (PEM string or Buffer expected).`, { cause });
  }
}

function inferAlgorithm(key: KeyObject): Algorithm | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    case 'ec':
      return EC_CURVE[key.asymmetricKeyDetails?.namedCurve ?? ''];
    default:
      return undefined;
  }
}

function isHmac(algorithm: string): algorithm is (typeof HMAC_ALGORITHMS)[number] {
  return (HMAC_ALGORITHMS as readonly string[]).includes(algorithm);
}

function mismatch(algorithm: string, keyType: string): ConfigError {
  return new ConfigError(
    'algorithm',
    `is ${algorithm}, which does not match the ${keyType} key given. Use RS256/PS256 with RSA keys and ES256/ES384/ES512 with P-256/P-384/P-521 keys.`,
  );
}
