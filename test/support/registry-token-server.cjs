// Registry v2 token server for tests, copied from shared/tools/token-server.js (see shared/docs/real-clients.md §1).
// Usage: node registry-token-server.cjs PORT KEY CERT ISSUER SERVICE USER PASS
const http = require('http'), crypto = require('crypto'), fs = require('fs');
const [port, keyPath, certPath, issuer, service, user, pass] = process.argv.slice(2);
const key = fs.readFileSync(keyPath, 'utf8');
const certDerB64 = new crypto.X509Certificate(fs.readFileSync(certPath)).raw.toString('base64');
const b64u = (b) => Buffer.from(b).toString('base64url');
http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const auth = req.headers.authorization || '';
  let who = '';
  if (auth.startsWith('Basic ')) {
    const [u1, p1] = Buffer.from(auth.slice(6), 'base64').toString().split(/:(.*)/s);
    if (u1 !== user || p1 !== pass) { res.writeHead(401, {'WWW-Authenticate': 'Basic realm="token"'}); return res.end('{"details":"bad credentials"}'); }
    who = u1;
  }
  const scopes = u.searchParams.getAll('scope');
  const access = who ? scopes.map((s) => { const [type, name, actions] = s.split(':'); return { type, name, actions: actions.split(',') }; }) : [];
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', x5c: [certDerB64] };
  const claims = { iss: issuer, sub: who, aud: u.searchParams.get('service') || service, exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access };
  const input = b64u(JSON.stringify(header)) + '.' + b64u(JSON.stringify(claims));
  const sig = crypto.sign('sha256', Buffer.from(input), key).toString('base64url');
  const token = input + '.' + sig;
  console.log(new Date().toISOString(), req.method, req.url, 'user=' + (who || '-'), JSON.stringify(access));
  res.writeHead(200, {'Content-Type': 'application/json'});
  res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
}).listen(Number(port), '127.0.0.1', () => console.log('token server on 127.0.0.1:' + port));
