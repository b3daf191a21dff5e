import { isAbsolute, resolve } from 'node:path';
import { defaultDataDir } from '@dcs/shared';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { storePaths, type StorePaths } from './lifecycle/store-paths.js';

/** Where the daemon listens: a TCP host and port, or a Unix socket path. */
export type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** The daemon's settings, frozen. */
export interface DaemonConfig {
  readonly paths: StorePaths;
  readonly listen: readonly ListenAddress[];
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Flags the `serve` and `init` commands accept (already split by the CLI parser). */
export interface DaemonFlags {
  dataDir?: string | undefined;
  rootKeyFile?: string | undefined;
  listen?: string[] | undefined;
  logLevel?: string | undefined;
}

const EnvSchema = z.object({
  SCALR_CREDD_DATA_DIR: z.string().min(1).optional(),
  SCALR_CREDD_ROOT_KEY_FILE: z.string().min(1).optional(),
  SCALR_CREDD_LISTEN: z.string().min(1).optional(),
  SCALR_CREDD_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).optional(),
});

/** Reads flags, then env, then defaults; reports every bad setting at once and never echoes a value. */
export function loadDaemonConfig(flags: DaemonFlags, env: Readonly<Record<string, string | undefined>>, homeDir: string): DaemonConfig {
  const problems: string[] = [];
  const parsedEnv = EnvSchema.safeParse(env);
  if (!parsedEnv.success) {
    for (const issue of parsedEnv.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  // The valid variables still count, so that one bad variable does not hide problems in the others.
  const badKeys = new Set(parsedEnv.success ? [] : parsedEnv.error.issues.map((issue) => String(issue.path[0])));
  const e = parsedEnv.success ? parsedEnv.data : EnvSchema.parse(Object.fromEntries(Object.entries(env).filter(([key]) => !badKeys.has(key))));

  const dataDir = resolve(flags.dataDir ?? e.SCALR_CREDD_DATA_DIR ?? defaultDataDir(env, homeDir));
  const keyFile = flags.rootKeyFile ?? e.SCALR_CREDD_ROOT_KEY_FILE;
  const paths = storePaths(dataDir, keyFile ? resolve(keyFile) : undefined);

  const listenTexts = flags.listen?.length ? flags.listen : e.SCALR_CREDD_LISTEN ? e.SCALR_CREDD_LISTEN.split(',') : [`unix:${paths.socketPath}`];
  const listenSource = flags.listen?.length ? '--listen' : 'SCALR_CREDD_LISTEN';
  const listen: ListenAddress[] = [];
  listenTexts.forEach((text, index) => {
    try {
      listen.push(parseListenAddress(text.trim()));
    } catch (error) {
      // Named by position: the loader never echoes a value.
      problems.push(`${listenSource} entry ${index + 1}: ${(error as Error).message}`);
    }
  });

  const logLevel = flags.logLevel ?? e.SCALR_CREDD_LOG_LEVEL ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) problems.push('--log-level: use debug, info, warn or error');

  if (problems.length) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return Object.freeze({ paths, listen: Object.freeze(listen), logLevel: logLevel as DaemonConfig['logLevel'] });
}

/** Parses `HOST:PORT`, `[IPv6]:PORT` or `unix:PATH`. */
export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (!path) throw new Error('unix: needs a socket path');
    return { kind: 'unix', path: isAbsolute(path) ? path : resolve(path) };
  }
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(text);
  if (!match) throw new Error('not HOST:PORT, [IPv6]:PORT or unix:PATH');
  const port = Number(match[3]);
  if (port > 65535) throw new Error('port is out of range 0-65535');
  return { kind: 'tcp', host: match[1] ?? match[2]!, port };
}

/** Formats an address for people and for clients (`http://host:port` or `unix:PATH`). */
export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/** Whether a TCP host is a loopback address. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
