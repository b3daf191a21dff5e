#!/usr/bin/env node
// Builds the admin console into daemon/dist/ui/ (served at /ui/ by scalr-credd serve): daemon/ui/src/main.ts
// bundled and minified by esbuild into console.js, beside index.html, console.css and favicon.svg. Only types come from
// @dcs/shared (erased), so zod is refused, like any Node module: the bundle runs in a browser.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const source = join(root, 'daemon/ui');

/** Where the console is built; the daemon reads it from here (daemon/src/http/console-routes.ts). */
export const UI_DIST = join(root, 'daemon/dist/ui');

const browserOnly = {
  name: 'browser-only',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^(zod|express|better-sqlite3)(\/.*)?$|^node:/ }, (args) => ({
      errors: [{ text: `${args.path} must not be bundled into the console: it runs in a browser and takes only types from the daemon's packages` }],
    }));
  },
};

/** Builds the console and returns the gzip size of what a browser downloads, in bytes. */
export async function bundleUi() {
  mkdirSync(UI_DIST, { recursive: true });
  await build({
    entryPoints: [join(source, 'src/main.ts')],
    outfile: join(UI_DIST, 'console.js'),
    tsconfig: join(source, 'tsconfig.json'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: ['chrome109', 'firefox115', 'safari16'],
    minify: true,
    legalComments: 'none',
    plugins: [browserOnly],
    logLevel: 'warning',
  });
  for (const name of ['index.html', 'console.css', 'favicon.svg']) copyFileSync(join(source, name), join(UI_DIST, name));
  return ['index.html', 'console.css', 'console.js', 'favicon.svg'].reduce((sum, name) => sum + gzipSync(readFileSync(join(UI_DIST, name)), { level: 9 }).length, 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const gzipped = await bundleUi();
  console.log(`bundled ${UI_DIST.slice(root.length + 1)}/ (${(gzipped / 1024).toFixed(1)} KiB gzipped)`);
}
