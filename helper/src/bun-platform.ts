/**
 * The HelperPlatform on Bun: the packaged binary (scripts/build-binary.mjs compiles bin-bun.ts). A
 * `get` touches only Bun's native I/O: Bun.stdin, Bun.connect, an awaited Bun.write. node:os and
 * node:tls are loaded only when a run needs them (no HOME, several daemon URLs; a CA file). Why: docs/performance.md.
 */
import { createRequestJson, isIpAddress, type ByteStream, type StreamEvents, type StreamTarget } from '@dcs/shared/http-client';
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
  readonly stdin: { arrayBuffer(): Promise<ArrayBuffer>; stat(): Promise<{ isCharacterDevice(): boolean }> };
  readonly stdout: object;
  readonly stderr: object;
  write(destination: object, data: string): Promise<number>;
  file(path: string): { text(): Promise<string> };
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

async function readAll(): Promise<string> {
  try {
    return Buffer.from(await Bun.stdin.arrayBuffer()).toString('utf8');
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

/** An OpenStream over Bun.connect: Unix socket, TCP, or TLS (verified; the CA file added to the default roots). */
function openBunStream(target: StreamTarget, events: StreamEvents): ByteStream {
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
    if (target.tls !== undefined) options.tls = bunTls(target.hostname, target.tls);
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

function bunTls(hostname: string, settings: NonNullable<Extract<StreamTarget, { kind: 'tcp' }>['tls']>): BunTlsOptions {
  const options: BunTlsOptions = { rejectUnauthorized: true };
  // SNI takes a DNS name only; an IP address is checked against the certificate's IP entries.
  if (!isIpAddress(hostname)) options.serverName = hostname;
  if (settings.ca !== undefined) options.ca = [...builtin<typeof import('node:tls')>('node:tls').rootCertificates, settings.ca];
  if (settings.cert !== undefined) options.cert = settings.cert;
  if (settings.key !== undefined) options.key = settings.key;
  return options;
}
