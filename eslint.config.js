// Lint keeps the layout: where process.env may be read, and which layer may import which.
// `npm run lint` runs it with --max-warnings 0; `npm test` runs it before the tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A restricted-import pattern: `from` may not import anything matching `target` (paths relative to the file). */
const forbid = (group, message) => ({ group, message });

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.cache/**', 'release/**', 'bench-results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly', structuredClone: 'readonly' } },
    rules: {
      // Validation regexes match control characters on purpose, to refuse them.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The admin console runs in a browser: DOM globals, and no Node module or package but the daemon's pure tables.
    files: ['daemon/ui/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', location: 'readonly', navigator: 'readonly', sessionStorage: 'readonly', localStorage: 'readonly', fetch: 'readonly', crypto: 'readonly', HTMLElement: 'readonly', HTMLInputElement: 'readonly', HTMLTextAreaElement: 'readonly', Intl: 'readonly' } },
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: String.raw`^node:|^(zod|express|better-sqlite3)(/|$)|(?<!shared/)src/(?!auth/permissions\.js$|audit/chain\.js$)`, message: 'the console runs in a browser: of the daemon it imports only the permissions table and the audit chain text' }] }],
      'no-restricted-globals': ['error', { name: 'process', message: 'the console runs in a browser' }, { name: 'Buffer', message: 'the console runs in a browser' }],
    },
  },
  {
    // Only the programs' entry points and the helper's platform layers (its shell) read the environment (style guide §7).
    files: ['daemon/src/**/*.ts', 'helper/src/**/*.ts', 'shared/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'daemon/src/main.ts', 'helper/src/bin.ts', 'helper/src/bin-*.ts', 'helper/src/*-platform.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read the environment in main.ts/bin.ts and pass it down' }],
    },
  },
  {
    files: ['shared/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [forbid(['**/daemon/**', '**/helper/**', '@dcs/daemon', '@dcs/helper'], 'shared/ is below the helper and the daemon')] }],
    },
  },
  {
    files: ['helper/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [forbid(['**/daemon/**', '@dcs/daemon', 'express', 'better-sqlite3', 'zod'], 'the helper stays lean and never imports the daemon')] }],
    },
  },
  // The daemon's layers, top to bottom: main → cli → lifecycle, http → services → auth, audit, barrier,
  // registry, providers, store, observability → errors, ids, version, daemon-config. A file may import its own
  // layer and the ones below it.
  ...layer('daemon/src/services/**/*.ts', ['../http/**', '../cli/**', '../lifecycle/**'], 'services sit below http, cli and lifecycle'),
  ...layer('daemon/src/http/**/*.ts', ['../cli/**', '../lifecycle/**'], 'http sits below cli and lifecycle'),
  ...layer('daemon/src/lifecycle/**/*.ts', ['../cli/**', '../http/**'], 'lifecycle sits below cli and beside http'),
  // audit/chain.ts is pure (what a row's hash covers): the store assigns seqs and hashes with it.
  ...layer('daemon/src/store/**/*.ts', ['../barrier/**', '../services/**', '../http/**', '../cli/**', '../lifecycle/**', '../auth/**', '../audit/**', '!../audit/chain.js', '../../audit/**', '!../../audit/chain.js'], 'the store sees only bytes: it imports no barrier and nothing above it (of audit/, only the chain definition)'),
  ...layer('daemon/src/barrier/**/*.ts', ['../store/**', '../services/**', '../http/**', '../cli/**', '../lifecycle/**', '../audit/**'], 'the barrier imports nothing above it'),
  ...layer('daemon/src/{auth,audit,registry,providers,observability}/**/*.ts', ['../services/**', '../http/**', '../cli/**', '../lifecycle/**'], 'auth, audit, registry, providers and observability sit below services'),
  ...layer('daemon/src/{errors,ids,version}.ts', ['./*/**'], 'errors, ids and version are the bottom layer'),
  // The config loader knows where a store's files are, and nothing else of the layers.
  ...layer('daemon/src/daemon-config.ts', ['./*/**', '!./lifecycle/store-paths.js'], 'daemon-config reads settings; it does not assemble the daemon'),
);

function layer(files, targets, message) {
  return [{ files: [files], ignores: ['**/*.test.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [forbid(targets, message)] }] } }];
}
