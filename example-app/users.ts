// Users of the example: scrypt password hashes, a constant-time check, roles and bans, and the two demo accounts.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { z } from 'zod';

/** scrypt cost parameters: N=2^15 takes some 50-100 ms and 32 MiB per check on a laptop. */
const SCRYPT: ScryptOptions = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/** What a user may do: `admin` opens the admin page. The token carries it (the `role` claim). */
export const Role = z.enum(['member', 'editor', 'admin']);
export type Role = z.infer<typeof Role>;
export const ROLES = Role.options;

/** The role of a user stored without one (created before roles existed, or by the revocation store). */
export const DEFAULT_ROLE: Role = 'member';

/** The accounts created at first start, and their roles: alice administers, bob is a member. */
export const DEMO_USERS = { alice: 'admin', bob: 'member' } as const satisfies Record<string, Role>;

/** The most users the admin page lists. */
export const MAX_LISTED_USERS = 100;

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
  /** Missing on a user stored before roles existed: `DEFAULT_ROLE`. */
  role?: Role;
  /** A banned user cannot sign in, and every session of theirs ends on its next request. */
  banned?: boolean;
}

/** One user as the admin page lists it. */
export interface UserSummary {
  username: string;
  role: Role;
  banned: boolean;
}

/** The role of a stored user: its `role` when it is a known one, else `DEFAULT_ROLE`. */
export function roleOf(user: Pick<UserRecord, 'role'>): Role {
  const parsed = Role.safeParse(user.role);
  return parsed.success ? parsed.data : DEFAULT_ROLE;
}

function summary(user: UserRecord): UserSummary {
  return { username: user._id, role: roleOf(user), banned: user.banned === true };
}

/** Where users live: the MongoDB `users` collection, or a Map when no database is available. */
export interface UserDirectory {
  find(username: string): Promise<UserRecord | null>;
  /** Creates the user unless it exists; true when it was created. Never touches an existing user. */
  createIfMissing(user: UserRecord): Promise<boolean>;
  /** Replaces the password hash of an existing user; false when there is no such user. */
  setPassword(username: string, hashed: { passwordHash: string; salt: string }): Promise<boolean>;
  /** The users (with a password), by username, at most `MAX_LISTED_USERS`. */
  list(): Promise<UserSummary[]>;
  /** Sets the role and/or the ban of an existing user; false when there is no such user. */
  update(username: string, change: { role?: Role; banned?: boolean }): Promise<boolean>;
  /** Gives `role` to an existing user that has none yet (a database from before roles). */
  setRoleIfMissing(username: string, role: Role): Promise<void>;
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
      const user = await users.findOne(
        { _id: username },
        { projection: { passwordHash: 1, salt: 1, createdAt: 1, role: 1, banned: 1 } },
      );
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
    async list() {
      const found = await users
        .find({ passwordHash: { $exists: true } }, { projection: { role: 1, banned: 1 } })
        .sort({ _id: 1 })
        .limit(MAX_LISTED_USERS)
        .toArray();
      return found.map(summary);
    },
    async update(username, change) {
      // Only these fields, for the same reason as setPassword.
      const updated = await users.updateOne({ _id: username, passwordHash: { $exists: true } }, { $set: change });
      return updated.matchedCount > 0;
    },
    async setRoleIfMissing(username, role) {
      await users.updateOne({ _id: username, role: { $exists: false } }, { $set: { role } });
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
    list() {
      const sorted = [...users.values()].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
      return Promise.resolve(sorted.slice(0, MAX_LISTED_USERS).map(summary));
    },
    update(username, change) {
      const user = users.get(username);
      if (user === undefined) return Promise.resolve(false);
      users.set(username, { ...user, ...change });
      return Promise.resolve(true);
    },
    setRoleIfMissing(username, role) {
      const user = users.get(username);
      if (user !== undefined && user.role === undefined) users.set(username, { ...user, role });
      return Promise.resolve();
    },
  };
}

/**
 * Creates the demo users that do not exist yet; returns the names created now. A demo user stored before roles
 * existed gets its role (alice administers); an existing role or ban is left alone.
 */
export async function seedDemoUsers(users: UserDirectory, password: string): Promise<string[]> {
  const created: string[] = [];
  for (const [name, role] of Object.entries(DEMO_USERS)) {
    const hashed = await hashPassword(password);
    if (await users.createIfMissing({ _id: name, ...hashed, createdAt: new Date(), role })) created.push(name);
    else await users.setRoleIfMissing(name, role);
  }
  return created;
}
