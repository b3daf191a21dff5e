/**
 * The HelperPlatform on Bun: the packaged binary (scripts/build-binary.mjs compiles bin-bun.ts). A
 * `get` touches only Bun's native I/O: Bun.file(0) for stdin, Bun.connect, an awaited Bun.write. node:os and
 * node:tls are loaded only when a run needs them (no HOME, several daemon URLs; a daemon certificate
 * the CA file alone does not verify). Why: docs/performance.md.
 */
import { createRequestJson, isIpAddress, type ByteStream, type StreamEvents, type StreamTarget } from '@dcs/shared/http-client';
import { stdinRead } from './bun-stdin.js';
import { NON_INPUT_STDIN_WAIT_MS, takesInput, type HelperPlatform, type MainResult } from './platform.js';

/** The parts of Bun's API used here (the workspace does not depend on bun-types). */
interface BunSocket {
  write(data: Uint8Array): number;
  terminate(): void;
}
interface BunSocketHandler {
  open(socket: BunSocket): void;
  handshake(socket: BunSocket, success: boolean, authorizationError: Error | null): void;
  data(socket: BunSocket, chunk: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket): void;
  error(socket: BunSocket, error: Error): void;
  connectError(socket: BunSocket, error: Error): void;
}
interface BunTlsOptions {
  ca?: string[];
  cert?: string;
  key?: string;
  serverName?: string;
  rejectUnauthorized: true;
}
type BunConnectOptions = { socket: BunSocketHandler } & (
  | { unix: string }
  | { hostname: string; port: number; tls?: BunTlsOptions }
);
interface BunRuntime {
  readonly stdin: { stat(): Promise<{ isCharacterDevice(): boolean }> };
  readonly stdout: object;
  readonly stderr: object;
  write(destination: object, data: string): Promise<number>;
  file(path: string | number): { text(): Promise<string>; arrayBuffer(): Promise<ArrayBuffer> };
  connect(options: BunConnectOptions): Promise<BunSocket>;
}
declare const Bun: BunRuntime;

/** The Bun platform over this process. */
export function createBunPlatform(): HelperPlatform {
  return {
    args: process.argv.slice(2),
    env: process.env,
    readInput,
    readTextFile: (path) => Bun.file(path).text(),
    homeDir: () => process.env['HOME'] || builtin<typeof import('node:os')>('node:os').homedir(),
    // uname(2)'s node name, as Go's os.Hostname reads it; HOSTNAME is a shell variable, rarely exported.
    hostName: () => builtin<typeof import('node:os')>('node:os').hostname(),
    requestJson: createRequestJson(openBunStream),
    finish: async ({ stdout, stderr, exitCode }: MainResult) => {
      // Awaited: an un-awaited Bun.write, or process.stdout.write, loses output to a pipe at exit.
      await Promise.all([write(Bun.stdout, stdout), write(Bun.stderr, stderr)]);
      process.exit(exitCode);
    },
  };
}

async function write(destination: object, text: string | undefined): Promise<void> {
  if (!text) return;
  try {
    await Bun.write(destination, text);
  } catch {
    // The client closed its end (EPIPE): nobody is left to read the answer; the exit code still tells.
  }
}

/**
 * stdin to its end, through Bun.file on descriptor 0: about 0.5 ms faster per `get` than Bun.stdin,
 * which starts a reader first (a pipe, a file or /dev/null alike; docs/performance.md). For the
 * verbs that take input the read was started by the binary's first module (bun-stdin.ts).
 */
async function readAll(): Promise<string> {
  try {
    const bytes = await (stdinRead ?? Bun.file(0).arrayBuffer());
    return bytes === undefined ? '' : Buffer.from(bytes).toString('utf8');
  } catch {
    return '';
  }
}

async function readInput(args: readonly string[]): Promise<string> {
  if (takesInput(args)) return readAll();
  const isDevice = await Bun.stdin.stat().then(
    (stats) => stats.isCharacterDevice(),
    () => true,
  );
  if (isDevice) return '';
  // Drained so that a writing client sees no EPIPE, but never waited on for long (platform.ts).
  return Promise.race([readAll(), new Promise<string>((resolve) => setTimeout(() => resolve(''), NON_INPUT_STDIN_WAIT_MS))]);
}

function builtin<T>(id: string): T {
  return process.getBuiltinModule(id) as T;
}

/**
 * The verification failures that more trusted roots might cure: the chain ends at a certificate the
 * CA file alone does not vouch for.
 */
const UNKNOWN_ISSUER: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/**
 * An OpenStream over Bun.connect: Unix socket, TCP, or TLS (verified; the CA file trusted in addition
 * to the default roots).
 *
 * Bun's `ca` replaces the default roots, and the roots come only from node:tls, whose load costs about
 * 8 ms of a 10 ms `get`. So with a CA file the handshake first trusts the CA file alone; a chain that
 * verifies against it verifies against the roots plus it as well. Only when it does not (the daemon's
 * certificate is from a public CA, or from neither) is the handshake repeated, within the same
 * deadline, with the roots added. Either way the certificates accepted are those the roots plus the
 * CA file vouch for.
 */
function openBunStream(target: StreamTarget, events: StreamEvents): ByteStream {
  const ca = target.kind === 'tcp' ? target.tls?.ca : undefined;
  if (ca === undefined) return connectBun(target, events, undefined);
  const written: Uint8Array[] = [];
  let generation = 0;
  const open = (trusted: string[]): ByteStream => {
    const mine = ++generation;
    const live = () => mine === generation;
    return connectBun(
      target,
      {
        connect: () => live() && events.connect(),
        data: (chunk) => live() && events.data(chunk),
        end: () => live() && events.end(),
        close: () => live() && events.close(),
        error: (error) => {
          if (!live()) return;
          if (mine > 1 || !UNKNOWN_ISSUER.has(errorCode(error) ?? '')) return events.error(error);
          const first = current;
          current = open([...builtin<typeof import('node:tls')>('node:tls').rootCertificates, ca]);
          first.destroy();
          for (const bytes of written) current.write(bytes);
        },
      },
      trusted,
    );
  };
  let current = open([ca]);
  return {
    write(bytes) {
      written.push(bytes);
      current.write(bytes);
    },
    destroy: () => current.destroy(),
  };
}

function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** One Bun.connect; `trusted` replaces the default roots for TLS when given. */
function connectBun(target: StreamTarget, events: StreamEvents, trusted: string[] | undefined): ByteStream {
  let socket: BunSocket | undefined;
  let ready = false;
  let destroyed = false;
  let pending: Uint8Array = new Uint8Array(0);
  const flush = () => {
    // Bun's write may take part of the bytes; the rest goes on 'drain'.
    while (ready && socket && pending.length > 0) {
      const count = socket.write(pending);
      if (count <= 0) return;
      pending = pending.subarray(count);
    }
  };
  const handler: BunSocketHandler = {
    open(opened) {
      socket = opened;
      events.connect();
      if (target.kind === 'unix' || target.tls === undefined) {
        ready = true;
        flush();
      }
    },
    handshake(opened, success, authorizationError) {
      if (!success || authorizationError) {
        events.error(authorizationError ?? Object.assign(new Error('TLS handshake failed'), { code: 'ERR_SSL_HANDSHAKE_FAILURE' }));
        opened.terminate();
        return;
      }
      ready = true;
      flush();
    },
    data: (_socket, chunk) => events.data(chunk),
    drain: () => flush(),
    end: () => events.end(),
    close: () => events.close(),
    error: (_socket, error) => events.error(error),
    connectError: (_socket, error) => events.error(error),
  };
  let options: BunConnectOptions;
  if (target.kind === 'unix') {
    options = { unix: target.socketPath, socket: handler };
  } else {
    options = { hostname: target.hostname, port: target.port, socket: handler };
    if (target.tls !== undefined) options.tls = bunTls(target.hostname, target.tls, trusted);
  }
  Bun.connect(options).then(
    (connected) => {
      socket = connected;
      if (destroyed) connected.terminate();
    },
    (error: unknown) => events.error(error),
  );
  return {
    write(bytes) {
      pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes]);
      flush();
    },
    destroy() {
      destroyed = true;
      socket?.terminate();
    },
  };
}

function bunTls(hostname: string, settings: NonNullable<Extract<StreamTarget, { kind: 'tcp' }>['tls']>, trusted: string[] | undefined): BunTlsOptions {
  const options: BunTlsOptions = { rejectUnauthorized: true };
  // SNI takes a DNS name only; an IP address is checked against the certificate's IP entries.
  if (!isIpAddress(hostname)) options.serverName = hostname;
  if (trusted !== undefined) options.ca = trusted;
  if (settings.cert !== undefined) options.cert = settings.cert;
  if (settings.key !== undefined) options.key = settings.key;
  return options;
}
