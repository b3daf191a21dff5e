#!/usr/bin/env node
// Bundles the helper into one CommonJS file per runtime. @dcs/shared is taken from shared/src, so no
// prior tsc run is needed. The bundles must stay small: zod and shared's barrel are refused.
// - helper/src/bin.ts → helper/dist/docker-credential-scalr.cjs: the bin shim runs it on Node (and
//   `scripts/build-binary.mjs --runtime node` packs it into a Node single executable);
// - helper/src/bin-bun.ts → helper/dist/docker-credential-scalr-bun.cjs: scripts/build-binary.mjs
//   compiles it with Bun into the packaged binary. CommonJS keeps configure's node:fs behind its lazy import.
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** The Node bundle's path. */
export const HELPER_BUNDLE = join(root, 'helper/dist/docker-credential-scalr.cjs');
/** The Bun bundle's path (the packaged binary's source). */
export const HELPER_BUN_BUNDLE = join(root, 'helper/dist/docker-credential-scalr-bun.cjs');

const sharedFromSource = {
  name: 'shared-from-source',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^@dcs\/shared(\/.*)?$/ }, (args) => {
      const subpath = args.path.slice('@dcs/shared'.length);
      if (subpath === '') {
        return { errors: [{ text: 'the helper must import a @dcs/shared subpath, not the barrel (it pulls in zod)' }] };
      }
      return { path: join(root, 'shared/src', `${subpath.slice(1)}.ts`) };
    });
    pluginBuild.onResolve({ filter: /^zod(\/.*)?$/ }, () => ({
      errors: [{ text: 'zod must not be bundled into the helper: it is loaded on every credential lookup' }],
    }));
  },
};

/** Builds both bundles and returns the Node bundle's size in bytes. */
export async function bundleHelper() {
  await Promise.all([bundle('helper/src/bin.ts', HELPER_BUNDLE), bundle('helper/src/bin-bun.ts', HELPER_BUN_BUNDLE)]);
  return statSync(HELPER_BUNDLE).size;
}

function bundle(entry, outfile) {
  return build({
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    plugins: [sharedFromSource],
    logLevel: 'warning',
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const size = await bundleHelper();
  console.log(`bundled ${HELPER_BUNDLE.slice(root.length + 1)} (${(size / 1024).toFixed(1)} KiB)`);
}
