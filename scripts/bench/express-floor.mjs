#!/usr/bin/env node
// An informational reference for `npm run bench`: the daemon's HTTP framework alone. An express 5 app
// with the JSON body parser the daemon uses answers a lookup with the same JSON as the baseline server
// (no auth, no database, no audit). It shows how much of the gap to the bare node:http baseline is
// the framework's, which no change to the daemon's own code can win back.
// Usage: node scripts/bench/express-floor.mjs   → prints `listening on http://127.0.0.1:PORT`.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
// Resolve express as the daemon does.
const express = createRequire(join(root, 'daemon/package.json'))('express');

const USERNAME = process.env.BENCH_USERNAME ?? 'bench-user';
const SECRET = process.env.BENCH_SECRET ?? 'bench-secret-value';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ limit: 64 * 1024, strict: true, type: 'application/json' }));
app.post('/v1/credentials/get', (req, res) => {
  const serverUrl = req.body?.serverURL;
  if (typeof serverUrl !== 'string') {
    res.status(400).json({ error: { code: 'invalid_request' } });
    return;
  }
  res.json({ ServerURL: serverUrl.trim(), Username: USERNAME, Secret: SECRET });
});

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => server.close(() => process.exit(0)));
