/** Length in bytes of every key the barrier uses (root key and data keys). */
export const KEY_BYTES = 32;

/** An immutable set of data keys by term; new seals use the active (highest) term. */
export class Keyring {
  private constructor(
    private readonly keys: ReadonlyMap<number, Uint8Array>,
    readonly activeTerm: number,
  ) {}

  /** Builds a keyring from its terms; the highest term becomes active. */
  static fromEntries(entries: Iterable<readonly [number, Uint8Array]>): Keyring {
    const keys = new Map<number, Uint8Array>();
    for (const [term, key] of entries) {
      if (!Number.isInteger(term) || term < 1) throw new Error(`invalid key term ${term}`);
      if (key.length !== KEY_BYTES) throw new Error(`data key of term ${term} has the wrong length`);
      keys.set(term, key);
    }
    if (keys.size === 0) throw new Error('a keyring needs at least one key');
    return new Keyring(keys, Math.max(...keys.keys()));
  }

  /** Returns the key of a term, or undefined when the keyring does not hold it. */
  find(term: number): Uint8Array | undefined {
    return this.keys.get(term);
  }

  /** Returns a copy with one more term, which becomes active. */
  add(term: number, key: Uint8Array): Keyring {
    if (term <= this.activeTerm) throw new Error(`new term ${term} must be above ${this.activeTerm}`);
    return Keyring.fromEntries([...this.keys, [term, key]]);
  }

  /** The terms held, ascending. */
  terms(): number[] {
    return [...this.keys.keys()].sort((a, b) => a - b);
  }

  /** Zero-fills every key (best effort). */
  wipe(): void {
    for (const key of this.keys.values()) key.fill(0);
  }
}
