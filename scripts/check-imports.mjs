#!/usr/bin/env node
// Checks the source tree's import graph: no import cycles in shared/, helper/ or daemon/ sources, at
// most 6 files at daemon/src/'s top level (everything else lives in the folder of its layer; the
// layers' directions are ESLint's no-restricted-imports rules in eslint.config.js), and the PostgreSQL
// store (and with it `pg`) imported from outside its folder only by import(), so a daemon on SQLite
// never loads it. Exits 1 on a problem.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const MAX_TOP_LEVEL = 6;

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const files = ['shared/src', 'helper/src', 'daemon/src'].flatMap((dir) => sources(join(root, dir)));
const known = new Set(files);
const POSTGRES_DIR = join(root, 'daemon/src/store/postgres');
const problems = [];
const graph = new Map(
  files.map((file) => {
    const text = readFileSync(file, 'utf8');
    if (!file.startsWith(`${POSTGRES_DIR}/`)) {
      // Static imports (type-only ones are erased) of the PostgreSQL store from outside it.
      for (const match of text.matchAll(/^import(?!\s+type\b)[^;]*?from\s*'(\.{1,2}\/[^']+)'/gms)) {
        if (resolve(dirname(file), match[1]).startsWith(`${POSTGRES_DIR}/`)) {
          problems.push(`${relative(root, file)} imports the PostgreSQL store statically (${match[1]}): use import(), so that SQLite daemons never load pg`);
        }
      }
    }
    const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => match[1]);
    const targets = specifiers.map((spec) => resolve(dirname(file), spec).replace(/\.js$/, '.ts')).filter((path) => known.has(path));
    return [file, targets];
  }),
);

// Tarjan's strongly connected components: any component of two or more files is a cycle.
let index = 0;
const state = new Map();
const stack = [];
function visit(file) {
  const entry = { index, low: index, onStack: true };
  index++;
  state.set(file, entry);
  stack.push(file);
  for (const target of graph.get(file)) {
    const seen = state.get(target);
    if (!seen) {
      visit(target);
      entry.low = Math.min(entry.low, state.get(target).low);
    } else if (seen.onStack) entry.low = Math.min(entry.low, seen.index);
  }
  if (entry.low !== entry.index) return;
  const component = [];
  let member;
  do {
    member = stack.pop();
    state.get(member).onStack = false;
    component.push(relative(root, member));
  } while (member !== file);
  if (component.length > 1) problems.push(`import cycle: ${component.sort().join(' ↔ ')}`);
}
for (const file of files) if (!state.has(file)) visit(file);

const topLevel = readdirSync(join(root, 'daemon/src')).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
if (topLevel.length > MAX_TOP_LEVEL) problems.push(`daemon/src/ holds ${topLevel.length} files at its top level (at most ${MAX_TOP_LEVEL}): ${topLevel.join(', ')}`);

for (const problem of problems) console.error(`check-imports: ${problem}`);
if (problems.length > 0) process.exit(1);
console.log(`check-imports: ${files.length} source files, no import cycles, ${topLevel.length} files at daemon/src/'s top level`);
