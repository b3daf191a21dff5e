import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { defaultDataDir, isLoopbackHost } from '@dcs/shared';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { storePaths, type StorePaths } from './lifecycle/store-paths.js';

/** Where the daemon listens: a TCP host and port (plain HTTP, or HTTPS when `tls`), or a Unix socket path. */
export type ListenAddress = { kind: 'tcp'; host: string; port: number; tls: boolean } | { kind: 'unix'; path: string };

/** The files of the daemon's TLS identity, and whether clients must present a certificate. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA bundle client certificates are checked against; without it no client certificate is asked for. */
  readonly clientCaFile: string | undefined;
  /** Refuse a TLS client without a certificate from `clientCaFile`. */
  readonly requireClientCert: boolean;
}

/** The daemon's settings, frozen. */
export interface DaemonConfig {
  readonly paths: StorePaths;
  readonly listen: readonly ListenAddress[];
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Set when a listen address is `https://`. */
  readonly tls: TlsFiles | undefined;
  /** Proxies (CIDR blocks) whose X-Forwarded-For is believed; empty: the peer address is the source. */
  readonly trustProxy: readonly string[];
  /** Deadline of each call to a cloud provider when minting, connect included; undefined: outbound.ts's (5 s, 15 s). */
  readonly outboundTimeoutMs: number | undefined;
  /** Whether `serve` serves the admin console at /ui/ (off with --no-ui or SCALR_CREDD_NO_UI=1). */
  readonly ui: boolean;
}

/** Flags the `serve` and `init` commands accept (already split by the CLI parser). */
export interface DaemonFlags {
  dataDir?: string | undefined;
  /** `postgres://USER@HOST/DB`: the store lives in PostgreSQL instead of the data dir's SQLite file. */
  store?: string | undefined;
  rootKeyFile?: string | undefined;
  listen?: string[] | undefined;
  logLevel?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  tlsClientCa?: string | undefined;
  tlsRequireClientCert?: boolean | undefined;
  insecureListen?: boolean | undefined;
  trustProxy?: string[] | undefined;
  noUi?: boolean | undefined;
}

const Switch = z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((value) => ['1', 'true', 'yes'].includes(value));

const EnvSchema = z.object({
  SCALR_CREDD_DATA_DIR: z.string().min(1).optional(),
  SCALR_CREDD_STORE: z.string().min(1).optional(),
  SCALR_CREDD_ROOT_KEY_FILE: z.string().min(1).optional(),
  SCALR_CREDD_LISTEN: z.string().min(1).optional(),
  SCALR_CREDD_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).optional(),
  SCALR_CREDD_TLS_CERT_FILE: z.string().min(1).optional(),
  SCALR_CREDD_TLS_KEY_FILE: z.string().min(1).optional(),
  SCALR_CREDD_TLS_CLIENT_CA_FILE: z.string().min(1).optional(),
  SCALR_CREDD_TLS_REQUIRE_CLIENT_CERT: Switch.optional(),
  SCALR_CREDD_INSECURE_LISTEN: Switch.optional(),
  SCALR_CREDD_TRUST_PROXY: z.string().min(1).optional(),
  SCALR_CREDD_OUTBOUND_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).optional(),
  SCALR_CREDD_NO_UI: Switch.optional(),
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
  const storeUrl = flags.store ?? e.SCALR_CREDD_STORE;
  if (storeUrl !== undefined && !/^postgres(ql)?:\/\/./.test(storeUrl)) {
    problems.push(`${flags.store === undefined ? 'SCALR_CREDD_STORE' : '--store'}: use a PostgreSQL connection string (postgres://USER@HOST/DB); the default is the SQLite file in the data dir`);
  }
  const paths = storePaths(dataDir, keyFile ? resolve(keyFile) : undefined, storeUrl);

  const listenTexts = flags.listen?.length ? flags.listen : e.SCALR_CREDD_LISTEN ? e.SCALR_CREDD_LISTEN.split(',') : [`unix:${paths.socketPath}`];
  const listenSource = flags.listen?.length ? '--listen' : 'SCALR_CREDD_LISTEN';
  const insecure = flags.insecureListen || (e.SCALR_CREDD_INSECURE_LISTEN ?? false);
  const listen: ListenAddress[] = [];
  listenTexts.forEach((text, index) => {
    // Named by position: the loader never echoes a value.
    const where = `${listenSource} entry ${index + 1}`;
    try {
      const address = parseListenAddress(text.trim());
      if (address.kind === 'tcp' && !address.tls && !isLoopbackHost(address.host) && !insecure) {
        problems.push(`${where}: plain http on a non-loopback address sends tokens and secrets in clear; use https:// (or --insecure-listen)`);
      }
      listen.push(address);
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
    }
  });

  const tls = loadTlsFiles(flags, e, listen, problems);
  const trustProxy = flags.trustProxy?.length ? flags.trustProxy : e.SCALR_CREDD_TRUST_PROXY ? e.SCALR_CREDD_TRUST_PROXY.split(',').map((cidr) => cidr.trim()) : [];
  const trustSource = flags.trustProxy?.length ? '--trust-proxy' : 'SCALR_CREDD_TRUST_PROXY';
  trustProxy.forEach((cidr, index) => {
    if (!parseCidr(cidr)) problems.push(`${trustSource} entry ${index + 1}: not an address or CIDR block (e.g. 10.0.0.0/8, fd00::/8, 127.0.0.1)`);
  });

  const logLevel = flags.logLevel ?? e.SCALR_CREDD_LOG_LEVEL ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) problems.push('--log-level: use debug, info, warn or error');

  if (problems.length) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return Object.freeze({
    paths,
    listen: Object.freeze(listen),
    logLevel: logLevel as DaemonConfig['logLevel'],
    tls,
    trustProxy: Object.freeze([...trustProxy]),
    outboundTimeoutMs: e.SCALR_CREDD_OUTBOUND_TIMEOUT_MS,
    ui: !(flags.noUi || (e.SCALR_CREDD_NO_UI ?? false)),
  });
}

function loadTlsFiles(flags: DaemonFlags, e: z.infer<typeof EnvSchema>, listen: readonly ListenAddress[], problems: string[]): TlsFiles | undefined {
  const certFile = flags.tlsCert ?? e.SCALR_CREDD_TLS_CERT_FILE;
  const keyFile = flags.tlsKey ?? e.SCALR_CREDD_TLS_KEY_FILE;
  const clientCaFile = flags.tlsClientCa ?? e.SCALR_CREDD_TLS_CLIENT_CA_FILE;
  const requireClientCert = flags.tlsRequireClientCert || (e.SCALR_CREDD_TLS_REQUIRE_CLIENT_CERT ?? false);
  const https = listen.some((address) => address.kind === 'tcp' && address.tls);
  if (!https) {
    if (certFile || keyFile || clientCaFile || requireClientCert) problems.push('--tls-*: TLS settings need an https:// listen address');
    return undefined;
  }
  if (!certFile || !keyFile) {
    problems.push('--tls-cert and --tls-key: an https:// listen address needs both (or SCALR_CREDD_TLS_CERT_FILE and SCALR_CREDD_TLS_KEY_FILE)');
    return undefined;
  }
  if (requireClientCert && !clientCaFile) problems.push('--tls-require-client-cert: needs --tls-client-ca to check the certificates against');
  return Object.freeze({ certFile: resolve(certFile), keyFile: resolve(keyFile), clientCaFile: clientCaFile ? resolve(clientCaFile) : undefined, requireClientCert });
}

/** Parses `http://HOST:PORT`, `https://HOST:PORT`, `HOST:PORT` (plain http), `[IPv6]:PORT` or `unix:PATH`. */
export function parseListenAddress(text: string): ListenAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (!path) throw new Error('unix: needs a socket path');
    return { kind: 'unix', path: isAbsolute(path) ? path : resolve(path) };
  }
  const scheme = /^(https?):\/\//i.exec(text);
  const hostPort = scheme ? text.slice(scheme[0].length) : text;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(hostPort);
  if (!match) throw new Error('not https://HOST:PORT, http://HOST:PORT, HOST:PORT, [IPv6]:PORT or unix:PATH');
  const port = Number(match[3]);
  if (port > 65535) throw new Error('port is out of range 0-65535');
  return { kind: 'tcp', host: match[1] ?? match[2]!, port, tls: scheme?.[1]!.toLowerCase() === 'https' };
}

/** Formats an address for people and for clients (`https://host:port`, `http://host:port` or `unix:PATH`). */
export function formatListenAddress(address: ListenAddress): string {
  if (address.kind === 'unix') return `unix:${address.path}`;
  return `${address.tls ? 'https' : 'http'}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/** Parses `ADDRESS` or `ADDRESS/PREFIX` (IPv4 or IPv6); undefined when it is neither. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, extra] = text.split('/');
  const version = isIP(address);
  if (!version || extra !== undefined) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}
