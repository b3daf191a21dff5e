// A keep-alive JSON client for the bench's own calls: seeding through the API, list latency and
// single-connection lookup latency. One socket per agent, so sequential timings measure the server.
import { Agent, request } from 'node:http';

/** A client for one base URL (`http://127.0.0.1:PORT`) with one keep-alive connection. */
export function createClient(baseUrl) {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  /** Sends one request; resolves with { status, body (parsed JSON or text), bytes, ms }. Bounded by `timeoutMs`. */
  function send(method, path, { token, body, timeoutMs = 30_000 } = {}) {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(payload.length) });
    return new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request({ host: url.hostname, port: url.port, method, path, headers, agent, timeout: timeoutMs }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          const raw = Buffer.concat(chunks);
          let parsed = raw.toString('utf8');
          try {
            parsed = JSON.parse(parsed);
          } catch {
            // Not JSON: keep the text.
          }
          resolve({ status: res.statusCode, body: parsed, bytes: raw.length, ms });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} got no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  return { send, close: () => agent.destroy() };
}

/** Sends and insists on the expected status; returns the body. */
export async function expectStatus(client, status, method, path, options) {
  const response = await client.send(method, path, options);
  if (response.status !== status) {
    throw new Error(`${method} ${path} answered ${response.status}, expected ${status}: ${JSON.stringify(response.body).slice(0, 300)}`);
  }
  return response.body;
}
