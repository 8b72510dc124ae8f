// A RevocationStore as a third party would write one: Map-based, in this file, tested with the published suite.
export class MapRevocationStore {
  #users = new Map();
  #sessions = new Map();

  getState(sub, sessionId) {
    const at = this.#users.get(sub);
    const session = this.#sessions.get(sessionId);
    return {
      lastLogoutAt: at === undefined ? null : new Date(at),
      sessionRevoked: session !== undefined && session.sub === sub && session.expiresAt > Date.now(),
    };
  }

  revokeUser(sub, at) {
    this.#users.set(sub, Math.max(this.#users.get(sub) ?? -Infinity, at.getTime()));
  }

  revokeSession(sessionId, sub, expiresAt) {
    const previous = this.#sessions.get(sessionId)?.expiresAt ?? -Infinity;
    this.#sessions.set(sessionId, { sub, expiresAt: Math.max(previous, expiresAt.getTime()) });
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
