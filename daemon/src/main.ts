import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createInterface } from 'node:readline';
import { runCli } from './cli/run-cli.js';

/** How often a daemon started by npm checks that its parent is still there. */
const PARENT_CHECK_MS = 250;

/**
 * The processes this one started below, read before anything else: `serve` asks to be stopped with
 * its parent only once it listens, and by then the parent may already be gone (a stop sent as soon as
 * "listening on" was printed) — compared with the parent of that moment, nothing would ever change.
 */
const STARTED_BELOW = { parent: process.ppid, grandparent: parentOf(process.ppid) };

// Everything the daemon creates (database, WAL, key files, socket, backups) is private to its user.
process.umask(0o077);

const io = {
  env: process.env,
  homeDir: homedir(),
  stdout: (text: string) => void process.stdout.write(text),
  stderr: (text: string) => void process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  stdinIsTty: Boolean(process.stdin.isTTY),
  promptSecret: (question: string) =>
    new Promise<string>((resolve) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s) => {
        if (s.startsWith(question)) process.stderr.write(question);
      };
      rl.question(question, (answer) => (rl.close(), process.stderr.write('\n'), resolve(answer)));
    }),
  onShutdownSignal: (handler: (signal: string) => void) => {
    process.on('SIGTERM', () => handler('SIGTERM'));
    process.on('SIGINT', () => handler('SIGINT'));
    if (process.env['npm_lifecycle_event'] !== undefined) stopWithParent(handler);
  },
  onReloadSignal: (handler: () => void) => void process.on('SIGHUP', handler),
};

/**
 * Under npm (`npx scalr-credd serve`, an npm script) this process runs below npm's `sh -c`. npm
 * forwards SIGTERM and SIGINT to that shell only, and the shell dies of them without passing them
 * on, which would leave the daemon serving with no parent. So under npm the parent going away is
 * taken as SIGTERM, and so is npm going away while the shell stays (npm stopped before it passed the
 * signal on): the shell's own parent is read from /proc where there is one.
 */
function stopWithParent(handler: (signal: string) => void): void {
  const { parent, grandparent } = STARTED_BELOW;
  const timer = setInterval(() => {
    if (process.ppid === parent && parentOf(parent) === grandparent) return;
    clearInterval(timer);
    handler('SIGTERM (npm, the parent process, exited)');
  }, PARENT_CHECK_MS).unref();
}

/** The parent of process `pid` from /proc (Linux); undefined where it cannot be read. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

runCli(process.argv.slice(2), io).then((code) => {
  process.exitCode = code;
});
