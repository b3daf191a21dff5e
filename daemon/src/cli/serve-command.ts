import { parseArgs } from 'node:util';
import { isLoopbackHost } from '@dcs/shared';
import { buildServiceApp } from '../http/app.js';
import { formatListenAddress, loadDaemonConfig } from '../daemon-config.js';
import { createExpiryWarner } from '../services/expiry-warner.js';
import { createFailureLimiter } from '../http/failure-limiter.js';
import { writeFailureSummaries } from '../http/authenticate.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { listenAll, type RunningServers } from '../http/server.js';
import { createSourceOf } from '../http/client-address.js';
import { loadConsoleAssets } from '../http/console-routes.js';
import { initStore } from '../lifecycle/init-store.js';
import { openStore } from '../lifecycle/open-store.js';
import { isEmptyStore, ensureDataDir } from '../lifecycle/store-paths.js';
import { isSqliteStore } from '../store/sqlite-store.js';
import { VERSION } from '../version.js';
import { acquireServeLock } from '../lifecycle/serve-lock.js';
import { handOverAdminToken, initBanner } from './init-command.js';
import type { CliIo } from './io.js';

/** Help text of `scalr-credd serve`. */
export const SERVE_HELP = `Usage: scalr-credd serve [--data-dir DIR] [--store URL] [--root-key-file FILE] [--listen ADDR]... [--log-level LEVEL] [--print-token]
         [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE [--tls-require-client-cert]]]
         [--insecure-listen] [--trust-proxy CIDR]... [--no-ui]

Serves the API. ADDR is https://HOST:PORT, http://HOST:PORT (or HOST:PORT), [::1]:PORT forms of
both, or unix:PATH; the default is unix:DIR/credd.sock (created 0600). Plain http is refused on a
non-loopback address unless --insecure-listen is given. An https address needs --tls-cert and
--tls-key (PEM); SIGHUP reloads both without dropping connections. --tls-client-ca asks TLS clients
for a certificate from that CA (refusing invalid ones), and --tls-require-client-cert refuses
clients without one. --trust-proxy (an address or CIDR block, repeatable) believes X-Forwarded-For
from those proxies for the source address (failure limiter, logs). The admin console is served at
/ui/ on every listener (a browser page over the same API, signed in with a token); --no-ui turns
it off.

--store postgres://USER@HOST/DB (or SCALR_CREDD_STORE) serves a PostgreSQL store, which several
daemons may serve at once (each with the store's root key file); serve never creates one: run
'scalr-credd init --store URL' once, and 'scalr-credd migrate --store URL' after upgrades.
Without --store, on an empty data dir the first serve creates an SQLite store and writes the admin token to
DIR/initial-admin.token (0600), printing only its path (--print-token: print the token itself,
once). It holds DIR/serve.lock while it runs: a second serve of DIR and a restore into DIR refuse.
Logs are JSON lines on stderr. SIGTERM or SIGINT stops gracefully. GET /healthz is liveness,
GET /readyz readiness (the store answers, the keyring is loaded).

Environment: SCALR_CREDD_DATA_DIR, SCALR_CREDD_STORE, SCALR_CREDD_ROOT_KEY_FILE, SCALR_CREDD_LISTEN (comma-separated),
SCALR_CREDD_LOG_LEVEL, SCALR_CREDD_TLS_CERT_FILE, SCALR_CREDD_TLS_KEY_FILE,
SCALR_CREDD_TLS_CLIENT_CA_FILE, SCALR_CREDD_TLS_REQUIRE_CLIENT_CERT (1/0),
SCALR_CREDD_INSECURE_LISTEN (1/0), SCALR_CREDD_TRUST_PROXY (comma-separated), SCALR_CREDD_NO_UI (1/0).
Cloud provider integrations (docs/cloud-registries.md) honour AWS_ENDPOINT_URL_ECR,
AWS_ENDPOINT_URL_ECR_PUBLIC, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, AZURE_AUTHORITY_HOST,
HTTPS_PROXY and NO_PROXY. SCALR_CREDD_OUTBOUND_TIMEOUT_MS (100-60000) bounds each call to a cloud,
connect included (default 5 s to connect, 15 s in all); keep it under the helpers'
SCALR_CREDD_TIMEOUT_MS so that a slow provider is reported as such.
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
      store: { type: 'string' },
      'root-key-file': { type: 'string' },
      listen: { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      'print-token': { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-client-ca': { type: 'string' },
      'tls-require-client-cert': { type: 'boolean' },
      'insecure-listen': { type: 'boolean' },
      'trust-proxy': { type: 'string', multiple: true },
      'no-ui': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return (io.stdout(SERVE_HELP), 0);
  const config = loadDaemonConfig(
    {
      dataDir: values['data-dir'],
      store: values.store,
      rootKeyFile: values['root-key-file'],
      listen: values.listen,
      logLevel: values['log-level'],
      tlsCert: values['tls-cert'],
      tlsKey: values['tls-key'],
      tlsClientCa: values['tls-client-ca'],
      tlsRequireClientCert: values['tls-require-client-cert'],
      insecureListen: values['insecure-listen'],
      trustProxy: values['trust-proxy'],
      noUi: values['no-ui'],
    },
    io.env,
    io.homeDir,
  );
  const logger = createLogger(io.stderr, config.logLevel);

  ensureDataDir(config.paths.dataDir, true);
  const lock = acquireServeLock(config.paths);
  let store;
  let firstToken;
  const metrics = createMetrics(VERSION);
  try {
    firstToken = isEmptyStore(config.paths) ? handOverAdminToken(config.paths, await initStore(config.paths), values['print-token'] ?? false) : undefined;
    store = await openStore(config.paths, {
      // The cloud providers' endpoint overrides and proxies come from the daemon's own environment.
      env: io.env,
      ...(config.outboundTimeoutMs === undefined ? {} : { outboundTimeoutMs: config.outboundTimeoutMs }),
      mintObserver: metrics.mints,
      onExpiring: createExpiryWarner(logger),
      onKeyringReload: (info) => logger.info('keyring reloaded after a change by another process', info),
      onKeyringFailure: (reason) => logger.warn('keyring reload failed; serving with the keys already in memory', { reason }),
      onRowFailure: (failure) => logger.error('row failed authentication: it was changed without the root key; run scalr-credd verify', failure),
    });
  } catch (error) {
    lock.release();
    throw error;
  }
  // Opening may wait for another process (the offline CLI) as long as it takes; serving must not:
  // better-sqlite3 waits on the event loop, so a lock held elsewhere would stall every request.
  if (isSqliteStore(store.store)) store.store.db.pragma(`busy_timeout = ${SERVING_BUSY_TIMEOUT_MS}`);
  if (store.recoveredRekey) logger.warn('finished an interrupted rekey: moved the staged root key into place', { rootKeyFile: config.paths.rootKeyPath });
  const limiter = createFailureLimiter({ maxFailures: 30, windowMs: FAILURE_WINDOW_MS, now: Date.now });
  const auditSummaries = (all = false) =>
    writeFailureSummaries({ limiter, audit: store.audit }, all).catch((error: unknown) =>
      logger.error('could not audit the summary of failed authentications', { error }),
    );
  const summaryTimer = setInterval(() => void auditSummaries(), FAILURE_WINDOW_MS).unref();
  const consoleAssets = config.ui ? loadConsoleAssets() : undefined;
  if (config.ui && !consoleAssets) logger.warn('the admin console is not built (run npm run build); /ui/ is not served');
  const app = buildServiceApp(store, {
    version: VERSION,
    logger,
    limiter,
    metrics,
    beforeMetrics: () => store.keyringSync.refresh(),
    sourceOf: createSourceOf(config.trustProxy),
    console: consoleAssets,
  });

  let servers: RunningServers;
  try {
    servers = await listenAll(app, config.listen, { tls: config.tls });
  } catch (error) {
    clearInterval(summaryTimer);
    await store.close();
    lock.release();
    throw error;
  }
  const urls = servers.addresses.map(formatListenAddress);
  for (const address of servers.addresses) {
    if (address.kind === 'tcp' && !address.tls && !isLoopbackHost(address.host)) {
      logger.warn('listening with plain http on a non-loopback address (--insecure-listen): tokens and secrets cross the network in clear', {
        address: formatListenAddress(address),
      });
    }
  }
  if (firstToken) io.stdout(initBanner(config.paths, firstToken, urls[0]!));
  logger.info('listening', { addresses: urls, dataDir: config.paths.dataDir, version: VERSION });
  io.stdout(`scalr-credd ${VERSION} listening on ${urls.join(', ')}\n`);

  io.onReloadSignal?.(() => {
    if (!config.tls) return logger.info('SIGHUP: nothing to reload (no TLS listener)');
    try {
      servers.reloadTls();
      logger.info('reloaded the TLS certificate and key', { certFile: config.tls.certFile });
    } catch (error) {
      logger.error('TLS reload failed; still serving the previous certificate', { error: (error as Error).message });
    }
  });

  return new Promise<number>((resolve) => {
    let stopping = false;
    io.onShutdownSignal((signal) => {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down', { signal });
      servers
        .close()
        .catch((error: unknown) => logger.error('error while closing listeners', { error }))
        .then(async () => {
          clearInterval(summaryTimer);
          await auditSummaries(true);
          await store.close().catch((error: unknown) => logger.error('error while closing the store', { error }));
          lock.release();
          logger.info('stopped');
          resolve(0);
        });
    });
  });
}
