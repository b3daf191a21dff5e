import { unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { BarrierSealedError, ConfigError, IntegrityError } from '../errors.js';
import type { KeyringHolder } from './barrier.js';
import { Keyring } from './keyring.js';
import { createRowAuthenticator, type RowAuthenticatorKey } from './row-authenticator.js';
import {
  buildRootKeyCheck,
  checkVersion,
  completePendingRekey,
  loadRootKey,
  openKeyring,
  rootKeyMatches,
  sealDataKey,
  writeKeyFileDurably,
  writeRootKey,
} from './root-key.js';
import { generateKey } from './secretbox-barrier.js';

/**
 * The one owner of a store's root key and its unsealed keyring, as Vault's barrier owns its keyring:
 * it unlocks (check value → finish a pending rekey → load the root key → match → open the keyring),
 * rotates (a new data-key term), rekeys (a new root key), follows changes another process made, and
 * wipes. No other code holds the root key, and every key it holds is zero-filled by `wipe`.
 */

/** The sealed keyring as a store keeps it: the root-key check value and one sealed data key per term. */
export interface SealedKeyring {
  findRootKeyCheck(): Promise<Uint8Array | undefined>;
  list(): Promise<ReadonlyArray<{ term: number; sealedKey: Uint8Array }>>;
}

/** The sealed keyring's rows, as one snapshot read them. */
export type SealedKeyringRows = Awaited<ReturnType<SealedKeyring['list']>>;

/** What init, rotate and rekey write; the store's keyring repository has this shape. */
export interface SealedKeyringWriter extends SealedKeyring {
  insert(row: { term: number; sealedKey: Uint8Array; createdAt: string }): Promise<void>;
  replaceSealedKey(term: number, sealedKey: Uint8Array): Promise<void>;
  setRootKeyCheck(check: Uint8Array): Promise<void>;
  /** Tells running daemons that the keyring changed (see keyring-sync.ts). */
  bumpVersion(): Promise<number>;
}

/** Runs `fn` in the caller's write transaction (which also records the change in the audit log), with the keyring as that transaction sees it. */
export type InTransaction = <T>(fn: (writer: SealedKeyringWriter) => Promise<T>) => Promise<T>;

/** Where the root key comes from, and what it must open (named in the messages). */
export interface RootKeyPlace {
  keyPath: string;
  /** What the key must open, e.g. `database /var/lib/scalr-credd/credd.sqlite` or `the backup /tmp/b.sqlite`. */
  subject: string;
  /** Finish a rekey that was interrupted after its commit (default true; not for a backup being restored). */
  finishPendingRekey?: boolean;
}

/** The root key file holds a valid key, but not the one this store's check value was sealed with. */
export class RootKeyMismatchError extends ConfigError {
  constructor(place: RootKeyPlace) {
    super(
      `${place.subject} does not open with root key file ${place.keyPath}: the key does not match its check value; ` +
        'use the key it was created with (a backup made before a rekey needs the old key: --root-key-file)',
    );
  }
}

/** The root key matched, yet a sealed keyring row does not open: the database was changed behind our back. */
export class KeyringModifiedError extends ConfigError {
  constructor(place: RootKeyPlace, detail: string) {
    super(
      `the keyring in ${place.subject} does not open with root key file ${place.keyPath} (${detail}); ` +
        'the database was modified: restore it from a backup',
    );
  }
}

/** Owns a root key and the keyring it opened. */
export class KeyringOwner implements KeyringHolder {
  private rootKey: Uint8Array | undefined;
  private ring: Keyring | undefined;
  private rowKey: RowAuthenticatorKey | undefined;

  private constructor(
    rootKey: Uint8Array,
    ring: Keyring,
    /** Whether the check value says every row carries a MAC (format 2); a format-1 store is upgraded once. */
    private rowsAuthenticated: boolean,
  ) {
    this.rootKey = rootKey;
    this.ring = ring;
  }

  /**
   * Unlocks a store's keyring with the key in `place.keyPath`. Returns the owner and whether a pending
   * rekey was finished first; throws ConfigError (one text per cause) and leaves no key in memory on failure.
   */
  static async unlock(sealed: SealedKeyring, place: RootKeyPlace): Promise<{ owner: KeyringOwner; recoveredRekey: boolean }> {
    const check = await sealed.findRootKeyCheck();
    if (!check) throw new ConfigError(`${place.subject} has no root key check value; it is not a scalr-credd store`);
    const recoveredRekey = place.finishPendingRekey !== false && completePendingRekey(place.keyPath, check);
    return { owner: KeyringOwner.open(loadRootKey(place.keyPath), check, await sealed.list(), place), recoveredRekey };
  }

  /** Opens the keyring (its check value and rows) with a root key already in memory; takes ownership of `rootKey` (wiped on failure). */
  static open(rootKey: Uint8Array, check: Uint8Array | undefined, rows: SealedKeyringRows, place: RootKeyPlace): KeyringOwner {
    try {
      const version = check && checkVersion(rootKey, check);
      if (!version) throw new RootKeyMismatchError(place);
      try {
        return new KeyringOwner(rootKey, openKeyring(rootKey, rows), version === 2);
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        throw new KeyringModifiedError(place, error.message);
      }
    } catch (error) {
      rootKey.fill(0);
      throw error;
    }
  }

  /**
   * Creates a new store's keys: a random root key (written to `keyPath` 0600 when given), the check
   * value and data-key term 1, written in `inTransaction`.
   */
  static async create(createdAt: Date, inTransaction: InTransaction, keyPath?: string): Promise<KeyringOwner> {
    const rootKey = generateKey();
    const dataKey = generateKey();
    try {
      if (keyPath !== undefined) writeRootKey(keyPath, rootKey);
      await inTransaction(async (writer) => {
        await writer.setRootKeyCheck(buildRootKeyCheck(rootKey));
        await writer.insert({ term: 1, sealedKey: sealDataKey(rootKey, 1, dataKey), createdAt: createdAt.toISOString() });
      });
      return new KeyringOwner(rootKey, Keyring.fromEntries([[1, dataKey]]), true);
    } catch (error) {
      rootKey.fill(0);
      dataKey.fill(0);
      throw error;
    }
  }

  /** The keyring in use; throws BarrierSealedError once wiped. */
  keyring(): Keyring {
    if (!this.ring) throw new BarrierSealedError();
    return this.ring;
  }

  isWiped(): boolean {
    return this.ring === undefined;
  }

  /** Adds data-key term N+1, sealed under the root key, in `inTransaction`; it becomes active. Returns the term. */
  async rotate(createdAt: Date, inTransaction: InTransaction): Promise<number> {
    const rootKey = this.heldRootKey();
    const key = generateKey();
    try {
      const term = await inTransaction(async (writer) => {
        const next = Math.max(0, ...(await writer.list()).map((row) => row.term)) + 1;
        await writer.insert({ term: next, sealedKey: sealDataKey(rootKey, next, key), createdAt: createdAt.toISOString() });
        await writer.bumpVersion();
        return next;
      });
      this.ring = this.keyring().add(term, key);
      return term;
    } catch (error) {
      key.fill(0);
      throw error;
    }
  }

  /**
   * Replaces the root key with the one in `newKeyFile`: stages it at `stagedPath` (0600, fsynced), then
   * re-seals every keyring term and the check value under it in `inTransaction`. After the commit the
   * owner holds the new key; the caller moves the staged file into place. Before the commit, a failure
   * removes the staged file (unless it is `newKeyFile` itself). Returns the number of terms re-sealed.
   */
  async rekey(newKeyFile: string, stagedPath: string, inTransaction: InTransaction): Promise<number> {
    const rootKey = this.heldRootKey();
    const newKey = loadRootKey(newKeyFile);
    let committed = false;
    try {
      if (Buffer.from(newKey).equals(Buffer.from(rootKey))) {
        throw new ConfigError(`${newKeyFile} holds the current root key; generate a new one`);
      }
      writeKeyFileDurably(stagedPath, newKey);
      const ring = this.keyring();
      const terms = await inTransaction(async (writer) => {
        for (const term of ring.terms()) await writer.replaceSealedKey(term, sealDataKey(newKey, term, ring.find(term)!));
        await writer.setRootKeyCheck(buildRootKeyCheck(newKey));
        await writer.bumpVersion();
        return ring.terms().length;
      });
      committed = true;
      rootKey.fill(0);
      this.rootKey = newKey;
      return terms;
    } catch (error) {
      if (!committed) {
        newKey.fill(0);
        // The operator may have staged the key there themselves and passed it as the new key file: keep it.
        if (resolve(stagedPath) !== resolve(newKeyFile)) removeIfPresent(stagedPath);
      }
      throw error;
    }
  }

  /**
   * Follows a change another process made to the keyring (see keyring-sync.ts): when the held root key
   * no longer opens `check`, the first of `loadCandidates()` that does becomes the root key (a rekey);
   * then the keyring is opened again from `rows` (a rotate adds a term). Returns whether the root key
   * changed. On failure the keys in memory stay as they were.
   */
  follow(check: Uint8Array, rows: SealedKeyringRows, loadCandidates: () => Uint8Array[]): boolean {
    let key = this.heldRootKey();
    let rootKeyChanged = false;
    if (!rootKeyMatches(key, check)) {
      const candidates = loadCandidates();
      const match = candidates.find((candidate) => rootKeyMatches(candidate, check));
      for (const candidate of candidates) if (candidate !== match) candidate.fill(0);
      if (!match) throw new Error('the root key was replaced and no root key file on disk matches the database yet');
      key = match;
      rootKeyChanged = true;
    }
    let next: Keyring;
    try {
      next = openKeyring(key, rows);
    } catch (error) {
      if (rootKeyChanged) key.fill(0);
      throw error;
    }
    // openKeyring made fresh copies of every data key: the previous keyring shares nothing with it.
    this.ring?.wipe();
    this.ring = next;
    if (rootKeyChanged) {
      this.rootKey?.fill(0);
      this.rootKey = key;
    }
    return rootKeyChanged;
  }

  /** The MAC that authenticates token and integration rows (row-authenticator.ts); wiped with the owner. */
  rowAuthenticator(): Pick<RowAuthenticatorKey, 'tag' | 'verify'> {
    this.rowKey ??= createRowAuthenticator(this.keyring());
    return this.rowKey;
  }

  /** Whether the store's rows still need their MACs computed (a store from before row MACs). */
  needsRowUpgrade(): boolean {
    return !this.rowsAuthenticated;
  }

  /**
   * Records, in the sealed check value, that every row now carries a MAC; call it in the transaction
   * that wrote them. From then on a row without a MAC fails authentication.
   */
  async markRowsAuthenticated(writer: Pick<SealedKeyringWriter, 'setRootKeyCheck'>): Promise<void> {
    await writer.setRootKeyCheck(buildRootKeyCheck(this.heldRootKey()));
    this.rowsAuthenticated = true;
  }

  /** Zero-fills the root key and every data key (best effort: JavaScript may have copied them). */
  wipe(): void {
    this.rowKey?.wipe();
    this.rowKey = undefined;
    this.ring?.wipe();
    this.ring = undefined;
    this.rootKey?.fill(0);
    this.rootKey = undefined;
  }

  private heldRootKey(): Uint8Array {
    if (!this.rootKey) throw new BarrierSealedError();
    return this.rootKey;
  }
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Not written yet, or already gone.
  }
}
