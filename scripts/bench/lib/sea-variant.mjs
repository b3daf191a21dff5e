// For `npm run bench -- --code-cache-variant`: the packaged helper built the way scripts/build-binary.mjs
// builds it, but without the V8 code cache in the SEA blob, so the two can be timed side by side. Written
// to .cache/bench/ (never to dist/) and rebuilt only when the bundle or the embedded Node changes.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { runSync } from './procs.mjs';

const require = createRequire(import.meta.url);
// The same fuse and resource name as scripts/build-binary.mjs (Node's documented SEA values).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const SEA_RESOURCE = 'NODE_SEA_BLOB';

/** Returns the path of a SEA binary of `bundle` on `embeddedNode` without a code cache, building it if needed. */
export function buildWithoutCodeCache({ root, bundle, embeddedNode }) {
  const dir = join(root, '.cache/bench/sea-no-code-cache');
  mkdirSync(dir, { recursive: true });
  const key = createHash('sha256').update(readFileSync(bundle)).update(readFileSync(embeddedNode)).digest('hex');
  const output = join(dir, 'docker-credential-scalr');
  const stamp = join(dir, 'built-from');
  if (existsSync(output) && existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return output;

  const blob = join(dir, 'sea-prep.blob');
  const config = join(dir, 'sea-config.json');
  // As in build-binary.mjs, except useCodeCache.
  writeFileSync(
    config,
    `${JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, execArgvExtension: 'none' }, null, 2)}\n`,
  );
  const prepared = runSync(embeddedNode, ['--experimental-sea-config', config], { cwd: dir });
  if (prepared.status !== 0) throw new Error(`--experimental-sea-config failed: ${prepared.stderr || prepared.stdout}`);
  const staging = `${output}.tmp`;
  rmSync(staging, { force: true });
  copyFileSync(embeddedNode, staging);
  chmodSync(staging, 0o755);
  const injected = runSync(process.execPath, [require.resolve('postject/dist/cli.js'), staging, SEA_RESOURCE, blob, '--sentinel-fuse', SEA_FUSE]);
  if (injected.status !== 0) throw new Error(`postject failed: ${injected.stderr || injected.stdout}`);
  renameSync(staging, output);
  writeFileSync(stamp, key);
  return output;
}
