/**
 * The settings both daemon clients (the helper and the admin CLI) read from the environment: where
 * the token comes from, and the TLS files for an `https://` daemon. Zod-free and I/O-free: each program
 * reads the named files its own way, and every message here is the one both programs print.
 */

/** The environment as both programs see it. */
export type ClientEnv = Readonly<Record<string, string | undefined>>;

/** Refused by both programs: which of the two would win is a guess nobody should have to make. */
export const TOKEN_SOURCES_CONFLICT = 'set only one of SCALR_CREDD_TOKEN and SCALR_CREDD_TOKEN_FILE, not both';

/** Where the token comes from: the variable's value, or the file it names. */
export type TokenSource =
  | { readonly kind: 'value'; readonly token: string }
  | { readonly kind: 'file'; readonly path: string; readonly variable: 'SCALR_CREDD_TOKEN_FILE' }
  | { readonly kind: 'none' }
  | { readonly kind: 'conflict'; readonly problem: string };

/** Decides between SCALR_CREDD_TOKEN and SCALR_CREDD_TOKEN_FILE (blank counts as unset). */
export function chooseTokenSource(env: ClientEnv): TokenSource {
  const value = env['SCALR_CREDD_TOKEN']?.trim();
  const path = env['SCALR_CREDD_TOKEN_FILE']?.trim();
  if (value && path) return { kind: 'conflict', problem: TOKEN_SOURCES_CONFLICT };
  if (value) return { kind: 'value', token: value };
  if (path) return { kind: 'file', path, variable: 'SCALR_CREDD_TOKEN_FILE' };
  return { kind: 'none' };
}

/** The TLS variables, by the TlsSettings field each fills. */
export const TLS_VARIABLES = {
  ca: 'SCALR_CREDD_CA_FILE',
  cert: 'SCALR_CREDD_CLIENT_CERT',
  key: 'SCALR_CREDD_CLIENT_KEY',
} as const;

/** A TLS file to read: which TlsSettings field it fills, from which variable. */
export interface TlsFile {
  readonly field: keyof typeof TLS_VARIABLES;
  readonly variable: (typeof TLS_VARIABLES)[keyof typeof TLS_VARIABLES];
  readonly path: string;
}

/** The TLS files the environment names, or the problem (a client certificate without its key, or the reverse). */
export function chooseTlsFiles(env: ClientEnv): { readonly files: readonly TlsFile[]; readonly problem?: string } {
  const files: TlsFile[] = [];
  for (const [field, variable] of Object.entries(TLS_VARIABLES) as Array<[TlsFile['field'], TlsFile['variable']]>) {
    const path = env[variable]?.trim();
    if (path) files.push({ field, variable, path });
  }
  const named = new Set(files.map((file) => file.field));
  if (named.has('cert') !== named.has('key')) {
    return { files, problem: 'set both SCALR_CREDD_CLIENT_CERT and SCALR_CREDD_CLIENT_KEY (a client certificate and its key), or neither' };
  }
  return { files };
}

/** Says why a file could not be read, from the error's code: short, without the runtime's wording. */
export function describeReadError(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return typeof code === 'string' ? code : 'read failed';
  }
}

/** The message for a file named by a variable that could not be read. */
export function unreadableFileProblem(variable: string, path: string, error: unknown): string {
  return `cannot read ${variable} (${path}): ${describeReadError(error)}`;
}
