// The ids an exact revocation table keeps (MemoryRevocationStore's), as UTF-16 code units in one growing array:
// a million ids are one typed array for the garbage collector, not a million strings.

const INITIAL_UNITS = 1 << 14;
/** `String.fromCharCode` takes at most this many arguments at once here. */
const DECODE_CHUNK = 8192;

export class IdArena {
  #units = new Uint16Array(INITIAL_UNITS);
  /** Units written (the next id goes there). */
  #used = 0;
  /** Units of the ids still held (`release` takes them away): the rest is waste until `compact`. */
  #live = 0;

  /** Keeps `sub` followed by `sessionId`; answers where they start. */
  add(sub: string, sessionId: string): number {
    const length = sub.length + sessionId.length;
    if (this.#used + length > this.#units.length) this.#resize(Math.max(this.#units.length * 2, this.#used + length));
    const start = this.#used;
    const units = this.#units;
    for (let i = 0; i < sub.length; i++) units[start + i] = sub.charCodeAt(i);
    const sidStart = start + sub.length;
    for (let i = 0; i < sessionId.length; i++) units[sidStart + i] = sessionId.charCodeAt(i);
    this.#used += length;
    this.#live += length;
    return start;
  }

  /** The ids at `start` (of `subLength` and `sidLength` units) are no longer held. */
  release(subLength: number, sidLength: number): void {
    this.#live -= subLength + sidLength;
  }

  /** Whether the ids kept at `start` are `sub` and `sessionId` (the lengths compared by the caller). */
  equals(start: number, sub: string, sessionId: string): boolean {
    const units = this.#units;
    for (let i = 0; i < sub.length; i++) if (units[start + i] !== sub.charCodeAt(i)) return false;
    const sidStart = start + sub.length;
    for (let i = 0; i < sessionId.length; i++) if (units[sidStart + i] !== sessionId.charCodeAt(i)) return false;
    return true;
  }

  /** The string of `length` units at `start`. */
  text(start: number, length: number): string {
    let text = '';
    for (let at = start; at < start + length; at += DECODE_CHUNK) {
      const end = Math.min(at + DECODE_CHUNK, start + length);
      text += String.fromCharCode(...this.#units.subarray(at, end));
    }
    return text;
  }

  /** Whether most of the array is ids no longer held: then `compact` pays. */
  get wasteful(): boolean {
    return this.#used > INITIAL_UNITS && this.#live * 2 < this.#used;
  }

  /**
   * Keeps only the ids still held: `each` is called with a `move(start, length)` that copies one of them into the
   * new array and answers its new start; ids not moved are dropped.
   */
  compact(each: (move: (start: number, length: number) => number) => void): void {
    const old = this.#units;
    this.#units = new Uint16Array(Math.max(INITIAL_UNITS, this.#live * 2));
    this.#used = 0;
    each((start, length) => {
      const to = this.#used;
      this.#units.set(old.subarray(start, start + length), to);
      this.#used += length;
      return to;
    });
    this.#live = this.#used;
  }

  /** Bytes the array takes. */
  get bytes(): number {
    return this.#units.byteLength;
  }

  #resize(units: number): void {
    const next = new Uint16Array(units);
    next.set(this.#units.subarray(0, this.#used));
    this.#units = next;
  }
}
