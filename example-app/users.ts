// Users of the example: scrypt password hashes, a constant-time check, and the two demo accounts.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Collection, Db } from 'mongodb';

/** scrypt cost parameters: N=2^15 takes some 50-100 ms and 32 MiB per check on a laptop. */
const SCRYPT: ScryptOptions = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/** The accounts created at first start. */
export const DEMO_USERS = ['alice', 'bob'] as const;

/** What the sign-in check needs from a stored user. `_id` is the username and the token's `sub`. */
export interface UserRecord {
  _id: string;
  /** base64 scrypt output. */
  passwordHash: string;
  /** base64 random salt. */
  salt: string;
  createdAt: Date;
  /** Set by a password change. */
  passwordChangedAt?: Date;
}

/** Where users live: the MongoDB `users` collection, or a Map when no database is available. */
export interface UserDirectory {
  find(username: string): Promise<UserRecord | null>;
  /** Creates the user unless it exists; true when it was created. Never touches an existing user. */
  createIfMissing(user: UserRecord): Promise<boolean>;
  /** Replaces the password hash of an existing user; false when there is no such user. */
  setPassword(username: string, hashed: { passwordHash: string; salt: string }): Promise<boolean>;
}

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, SCRYPT, (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

export async function hashPassword(password: string): Promise<{ passwordHash: string; salt: string }> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt);
  return { passwordHash: key.toString('base64'), salt: salt.toString('base64') };
}

/** Stands in for the hash of an unknown user, so that a miss costs the same scrypt run as a wrong password. */
const DUMMY = {
  passwordHash: randomBytes(KEY_LENGTH).toString('base64'),
  salt: randomBytes(SALT_LENGTH).toString('base64'),
};

/**
 * Returns the username when `password` is right. Unknown users and wrong passwords take the same path
 * (one scrypt run, one constant-time comparison) and the same answer, so neither timing nor the reply
 * tells whether an account exists.
 */
export async function checkPassword(
  users: UserDirectory,
  username: string,
  password: string,
): Promise<string | undefined> {
  const user = await users.find(username);
  const stored = user ?? DUMMY;
  const expected = Buffer.from(stored.passwordHash, 'base64');
  const actual = await derive(password, Buffer.from(stored.salt, 'base64'));
  const matches = expected.length === actual.length && timingSafeEqual(expected, actual);
  return matches && user !== null ? user._id : undefined;
}

export function mongoUsers(db: Db): UserDirectory {
  // On MongoDB the same documents hold `lastLogoutAt`, written by the revocation store on "log out everywhere"
  // (on FerretDB the store keeps it in `revocation_users` instead).
  const users: Collection<UserRecord> = db.collection<UserRecord>('users');
  return {
    async find(username) {
      const user = await users.findOne({ _id: username }, { projection: { passwordHash: 1, salt: 1, createdAt: 1 } });
      return user !== null && typeof user.passwordHash === 'string' && typeof user.salt === 'string' ? user : null;
    },
    async createIfMissing(user) {
      const { _id, ...fields } = user;
      // $setOnInsert leaves an existing user alone, including its lastLogoutAt.
      const inserted = await users.updateOne({ _id }, { $setOnInsert: fields }, { upsert: true });
      if (inserted.upsertedCount > 0) return true;
      // A document the revocation store created before the user existed (only lastLogoutAt): give it a password.
      const filled = await users.updateOne({ _id, passwordHash: { $exists: false } }, { $set: fields });
      return filled.modifiedCount > 0;
    },
    async setPassword(username, { passwordHash, salt }) {
      // Only these fields: on MongoDB the revocation store's lastLogoutAt lives in the same document.
      const updated = await users.updateOne(
        { _id: username, passwordHash: { $exists: true } },
        { $set: { passwordHash, salt, passwordChangedAt: new Date() } },
      );
      return updated.matchedCount > 0;
    },
  };
}

export function memoryUsers(): UserDirectory {
  const users = new Map<string, UserRecord>();
  return {
    find: (username) => Promise.resolve(users.get(username) ?? null),
    createIfMissing(user) {
      if (users.has(user._id)) return Promise.resolve(false);
      users.set(user._id, user);
      return Promise.resolve(true);
    },
    setPassword(username, hashed) {
      const user = users.get(username);
      if (user === undefined) return Promise.resolve(false);
      users.set(username, { ...user, ...hashed });
      return Promise.resolve(true);
    },
  };
}

/** Creates the demo users that do not exist yet; returns the names created now. */
export async function seedDemoUsers(users: UserDirectory, password: string): Promise<string[]> {
  const created: string[] = [];
  for (const name of DEMO_USERS) {
    const hashed = await hashPassword(password);
    if (await users.createIfMissing({ _id: name, ...hashed, createdAt: new Date() })) created.push(name);
  }
  return created;
}
