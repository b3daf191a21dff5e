#!/usr/bin/env node
// Bundles helper/src/bin.ts into one CommonJS file, helper/dist/docker-credential-scalr.cjs, which the
// bin shim and the single executable (scripts/build-binary.mjs) both run. @dcs/shared is taken from
// shared/src, so no prior tsc run is needed. The bundle must stay small: zod and shared's barrel are refused.
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** The bundle's path. */
export const HELPER_BUNDLE = join(root, 'helper/dist/docker-credential-scalr.cjs');

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

/** Builds the bundle and returns its size in bytes. */
export async function bundleHelper() {
  await build({
    entryPoints: [join(root, 'helper/src/bin.ts')],
    outfile: HELPER_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    legalComments: 'none',
    plugins: [sharedFromSource],
    logLevel: 'warning',
  });
  return statSync(HELPER_BUNDLE).size;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const size = await bundleHelper();
  console.log(`bundled ${HELPER_BUNDLE.slice(root.length + 1)} (${(size / 1024).toFixed(1)} KiB)`);
}
