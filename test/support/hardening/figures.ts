/**
 * The suite's figures (secrets found, kills, writes lost, fuzz cases, load requests...). Each test
 * file records its own and asserts them; every file's afterAll prints the table of the whole run so
 * far, so the last one printed holds every figure. Files run serially in separate workers, so the
 * figures travel through a small JSON file keyed by the vitest run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './env.js';

type Figures = Record<string, number | string>;
interface Store {
  run: string;
  sections: Record<string, Figures>;
}

const FILE = join(ROOT, '.cache', 'hardening-figures.json');
// Workers are children of the vitest process (pool "forks"); under "threads" the pid itself is vitest's.
const RUN = String(process.env['VITEST_POOL_ID'] === undefined ? process.pid : process.ppid);

function load(): Store {
  try {
    const store = JSON.parse(readFileSync(FILE, 'utf8')) as Store;
    if (store.run === RUN) return store;
  } catch {
    // First file of the run.
  }
  return { run: RUN, sections: {} };
}

/** Records (merges) the figures of one section. */
export function recordFigures(section: string, figures: Figures): void {
  const store = load();
  store.sections[section] = { ...(store.sections[section] ?? {}), ...figures };
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  writeFileSync(FILE, JSON.stringify(store, null, 2));
}

/** Prints the summary line and the table of every section recorded in this run. */
export function printFigures(): void {
  const { sections } = load();
  const rows = Object.entries(sections).flatMap(([section, figures]) =>
    Object.entries(figures).map(([name, value]) => [section, name, String(value)] as const),
  );
  const widths = [0, 1, 2].map((i) => Math.max(8, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  const n = (section: string, ...names: string[]) => names.reduce((sum, name) => sum + Number(sections[section]?.[name] ?? 0), 0);
  // Only the parts whose sections ran in this run (a partial run must not claim "0 found").
  const parts: Array<[string[], () => string]> = [
    [['leak'], () => `secrets found ${n('leak', 'secrets found')}`],
    [['crash'], () => `kills ${n('crash', 'kills')}, writes lost ${n('crash', 'writes lost')}`],
    [
      ['fuzz', 'api fuzz'],
      () =>
        `fuzz cases ${n('fuzz', 'fuzz cases') + n('api fuzz', 'api requests', 'raw requests')}, ` +
        `failures ${n('fuzz', 'failures') + n('api fuzz', '5xx', 'hangs', 'data changed on rejection', 'bad error bodies')}`,
    ],
    [['load'], () => `load requests ${n('load', 'load requests')}, errors ${n('load', 'errors')}, torn ${n('load', 'torn')}`],
    [['helper faults'], () => `helper fault runs ${n('helper faults', 'runs')}, failed ${n('helper faults', 'failures')}`],
    [['tamper'], () => `tampered rows served ${n('tamper', 'secrets served after tamper')}`],
  ];
  const headline = `hardening: ${parts
    .filter(([names]) => names.some((name) => sections[name] !== undefined))
    .map(([, text]) => text())
    .join('; ')}`;
  const summary = Object.entries(sections)
    .map(([section, figures]) => `${section}: ${Object.entries(figures).map(([k, v]) => `${k} ${v}`).join(', ')}`)
    .join('; ');
  console.log(
    [headline, `sections so far: ${summary}`, '', line(['section', 'figure', 'value']), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'),
  );
}
