#!/usr/bin/env node
// The throughput baseline of `npm run bench`: a bare node:http server that answers a lookup with the
// same JSON the daemon sends (no express, no auth, no database, no audit). It reads and parses the
// request body like the daemon does, so only the daemon's own work separates the two.
// Usage: node scripts/bench/baseline-server.mjs   → prints `listening on http://127.0.0.1:PORT`; SIGTERM stops it.
import { createServer } from 'node:http';

const USERNAME = process.env.BENCH_USERNAME ?? 'bench-user';
const SECRET = process.env.BENCH_SECRET ?? 'bench-secret-value';

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let serverUrl;
    try {
      serverUrl = JSON.parse(Buffer.concat(chunks).toString('utf8')).serverURL;
    } catch {
      serverUrl = undefined;
    }
    if (req.method !== 'POST' || typeof serverUrl !== 'string') {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"code":"invalid_request"}}');
      return;
    }
    const body = JSON.stringify({ ServerURL: serverUrl.trim(), Username: USERNAME, Secret: SECRET });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body);
  });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => server.close(() => process.exit(0)));
