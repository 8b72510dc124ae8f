// A RevocationStore as a third party would write one: Map-based, in this file, tested with the published suite.
export class MapRevocationStore {
  #users = new Map();
  #sessions = new Map();

  getState(sub, sessionId) {
    const at = this.#users.get(sub);
    const expiresAt = this.#sessions.get(JSON.stringify([sub, sessionId]));
    return {
      lastLogoutAt: at === undefined ? null : new Date(at),
      sessionRevoked: expiresAt !== undefined && expiresAt > Date.now(),
    };
  }

  revokeUser(sub, at) {
    this.#users.set(sub, Math.max(this.#users.get(sub) ?? -Infinity, at.getTime()));
  }

  /** Sessions are keyed by user and id: two users may carry the same session id. */
  revokeSession(sessionId, sub, expiresAt) {
    const key = JSON.stringify([sub, sessionId]);
    this.#sessions.set(key, Math.max(this.#sessions.get(key) ?? -Infinity, expiresAt.getTime()));
  }

  close() {
    this.#users.clear();
    this.#sessions.clear();
  }
}

/** The same store with a bug: logging out one device is forgotten. */
export class ForgetfulRevocationStore extends MapRevocationStore {
  revokeSession() {}
}
