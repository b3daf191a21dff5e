import { parseArgs } from 'node:util';
import { buildServiceApp } from '../http/app.js';
import { formatListenAddress, isLoopback, loadDaemonConfig } from '../daemon-config.js';
import { createExpiryWarner } from '../services/expiry-warner.js';
import { createFailureLimiter } from '../http/failure-limiter.js';
import { writeFailureSummaries } from '../http/authenticate.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { listenAll } from '../http/server.js';
import { initStore } from '../lifecycle/init-store.js';
import { openStore } from '../lifecycle/open-store.js';
import { isEmptyStore, ensureDataDir } from '../lifecycle/store-paths.js';
import { VERSION } from '../version.js';
import { initBanner } from './init-command.js';
import type { CliIo } from './io.js';

/** Help text of `scalr-credd serve`. */
export const SERVE_HELP = `Usage: scalr-credd serve [--data-dir DIR] [--root-key-file FILE] [--listen ADDR]... [--log-level LEVEL]

Serves the API. ADDR is HOST:PORT (e.g. 127.0.0.1:8700), [::1]:PORT or unix:PATH; the default is
unix:DIR/credd.sock (created 0600). On an empty data dir the first serve creates the store and
prints the admin token once. Logs are JSON lines on stderr. SIGTERM or SIGINT stops gracefully.

Environment: SCALR_CREDD_DATA_DIR, SCALR_CREDD_ROOT_KEY_FILE, SCALR_CREDD_LISTEN (comma-separated),
SCALR_CREDD_LOG_LEVEL.
`;

/** The failure limiter's window: failed authentications are counted, limited and summarised per minute. */
const FAILURE_WINDOW_MS = 60_000;

/** How long a request waits for an SQLite lock another process holds before it is answered 503. */
const SERVING_BUSY_TIMEOUT_MS = 100;

/** Runs `scalr-credd serve` until a shutdown signal; resolves with the exit code. */
export async function runServe(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      'root-key-file': { type: 'string' },
      listen: { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return (io.stdout(SERVE_HELP), 0);
  const config = loadDaemonConfig(
    { dataDir: values['data-dir'], rootKeyFile: values['root-key-file'], listen: values.listen, logLevel: values['log-level'] },
    io.env,
    io.homeDir,
  );
  const logger = createLogger(io.stderr, config.logLevel);

  ensureDataDir(config.paths.dataDir, true);
  const firstToken = isEmptyStore(config.paths) ? initStore(config.paths) : undefined;
  const metrics = createMetrics(VERSION);
  const store = openStore(config.paths, {
    onLookup: (outcome) => metrics.observeLookup(outcome),
    onExpiring: createExpiryWarner(logger),
    onKeyringReload: (info) => logger.info('keyring reloaded after a change by another process', info),
    onKeyringFailure: (reason) => logger.warn('keyring reload failed; serving with the keys already in memory', { reason }),
  });
  // Opening may wait for another process (the offline CLI) as long as it takes; serving must not:
  // better-sqlite3 waits on the event loop, so a lock held elsewhere would stall every request.
  store.db.pragma(`busy_timeout = ${SERVING_BUSY_TIMEOUT_MS}`);
  if (store.recoveredRekey) logger.warn('finished an interrupted rekey: moved the staged root key into place', { rootKeyFile: config.paths.rootKeyPath });
  const limiter = createFailureLimiter({ maxFailures: 30, windowMs: FAILURE_WINDOW_MS, now: Date.now });
  const auditSummaries = (all = false) => {
    try {
      writeFailureSummaries({ limiter, audit: store.audit }, all);
    } catch (error) {
      logger.error('could not audit the summary of failed authentications', { error });
    }
  };
  const summaryTimer = setInterval(auditSummaries, FAILURE_WINDOW_MS).unref();
  const app = buildServiceApp(store, {
    version: VERSION,
    logger,
    limiter,
    metrics,
    beforeMetrics: () => store.keyringSync.refresh(),
  });

  let servers;
  try {
    servers = await listenAll(app, config.listen);
  } catch (error) {
    clearInterval(summaryTimer);
    store.close();
    throw error;
  }
  const urls = servers.addresses.map(formatListenAddress);
  for (const address of servers.addresses) {
    if (address.kind === 'tcp' && !isLoopback(address.host)) {
      logger.warn('listening on a non-loopback address without TLS; put a TLS proxy in front', { address: formatListenAddress(address) });
    }
  }
  if (firstToken) io.stdout(initBanner(config.paths, firstToken, urls[0]!));
  logger.info('listening', { addresses: urls, dataDir: config.paths.dataDir, version: VERSION });
  io.stdout(`scalr-credd ${VERSION} listening on ${urls.join(', ')}\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    io.onShutdownSignal((signal) => {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down', { signal });
      servers
        .close()
        .catch((error: unknown) => logger.error('error while closing listeners', { error }))
        .finally(() => {
          clearInterval(summaryTimer);
          auditSummaries(true);
          store.close();
          logger.info('stopped');
          resolve(0);
        });
    });
  });
}
