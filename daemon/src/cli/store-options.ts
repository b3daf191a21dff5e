import { loadDaemonConfig } from '../daemon-config.js';
import type { StorePaths } from '../lifecycle/store-paths.js';
import type { CliIo } from './io.js';

/** The options of every command that opens the store itself (offline): where it is, its root key, and help. */
export const STORE_OPTIONS = {
  'data-dir': { type: 'string' },
  store: { type: 'string' },
  'root-key-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The store from --store, --data-dir and --root-key-file, else from the environment and the defaults (daemon-config.ts). */
export function pathsFromOptions(
  values: { 'data-dir'?: string | undefined; 'root-key-file'?: string | undefined; store?: string | undefined },
  io: CliIo,
): StorePaths {
  return loadDaemonConfig({ dataDir: values['data-dir'], rootKeyFile: values['root-key-file'], store: values.store }, io.env, io.homeDir).paths;
}
