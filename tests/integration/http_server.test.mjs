// HTTP server behaviour of the real binary: limits, errors, timeouts, graceful shutdown.
// Runs `$TEMPOVOICE_BIN serve --port 0 ...` and talks to it over raw TCP and node:http.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.TEMPOVOICE_BIN;
if (!BIN) throw new Error('set TEMPOVOICE_BIN to the tempovoice binary');

/** Starts `tempovoice serve` on an ephemeral port; resolves once it prints its address. */
function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'tempo-http-'));
  const child = spawn(BIN, ['serve', '--port', '0', '--data-dir', dataDir,
    '--request-timeout-ms', '1000', '--shutdown-grace-ms', '5000'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const ready = new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on http:\/\/([0-9.]+):(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ host: m[1], port: Number(m[2]) });
      }
    });
    exited.then(({ code }) => reject(new Error(`server exited early (${code}):\n${stderr}`)));
  });
  return { child, exited, ready, dataDir, stderr: () => stderr };
}

/** Parses one HTTP/1.1 response from `buf` (Content-Length framing); null if incomplete. */
function parseResponse(buf) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buf.length < headEnd + 4 + length) return null;
  return { status, headers, body: buf.subarray(headEnd + 4, headEnd + 4 + length).toString() };
}

/**
 * Opens a raw TCP connection. `response()` resolves with the first response; `closed()`
 * resolves (with the time it took from the call) when the server closes the connection.
 */
function rawConnection(port) {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  let buf = Buffer.alloc(0);
  let responseResolve;
  const response = new Promise((resolve) => { responseResolve = resolve; });
  const closed = new Promise((resolve) => {
    socket.on('close', () => resolve(Date.now()));
    socket.on('error', () => {});
  });
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    const r = parseResponse(buf);
    if (r) responseResolve(r);
  });
  const connected = new Promise((resolve) => socket.on('connect', resolve));
  return {
    socket,
    connected,
    send: (data) => new Promise((resolve) => socket.write(data, resolve)),
    response: () => withTimeout(response, 10000, 'no response'),
    closed: () => withTimeout(closed, 10000, 'connection not closed'),
  };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(what)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

function get(port, path, agent) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe('http server', () => {
  let server;
  let port;

  before(async () => {
    server = startServer();
    ({ port } = await server.ready);
    // Ready (200) once the demo agent's speech model is built; 503 until then.
    for (let i = 0; i < 200 && (await get(port, '/health')).status !== 200; i++) await sleep(50);
  });

  after(async () => {
    server.child.kill('SIGTERM');
    await withTimeout(server.exited, 10000, 'server did not exit');
    rmSync(server.dataDir, { recursive: true, force: true });
  });

  test('GET /health answers 200 JSON', async () => {
    const res = await get(port, '/health');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /application\/json/);
    assert.equal(res.headers.server, 'tempovoice');
    const body = JSON.parse(res.body);
    assert.equal(body.status, 'ok');
    assert.equal(typeof body.version, 'string');
    assert.equal(typeof body.uptime_seconds, 'number');
    assert.equal(body.checks.object_store, 'ok');
  });

  test('GET /health/live answers 200 JSON (liveness)', async () => {
    const res = await get(port, '/health/live');
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).status, 'ok');
  });

  test('tempovoice probe (the container health check) exits 0 on 2xx only', async () => {
    const probe = (url) => new Promise((resolve) => {
      const child = spawn(BIN, ['probe', url, '--timeout-ms', '2000'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => { err += d; });
      child.on('exit', (code) => resolve({ code, err }));
    });
    assert.equal((await probe(`http://127.0.0.1:${port}/health/live`)).code, 0);
    const missing = await probe(`http://127.0.0.1:${port}/no-such-page`);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /HTTP 404/);
    const closed = await new Promise((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    });
    const refused = await probe(`http://127.0.0.1:${closed}/health/live`);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /probe: /);
  });

  test('GET /metrics answers Prometheus text with the HTTP metrics', async () => {
    await get(port, '/health');
    const res = await get(port, '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /text\/plain/);
    assert.match(res.body, /tempo_http_requests_total\{[^}]*route="\/health"[^}]*\} [1-9]/);
    assert.match(res.body, /tempo_http_connections_active/);
  });

  test('keep-alive serves several requests on one connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set();
    for (let i = 0; i < 3; i++) {
      const res = await get(port, '/health', agent);
      assert.equal(res.status, 200);
      for (const list of Object.values(agent.freeSockets)) list.forEach((s) => sockets.add(s));
    }
    assert.equal(sockets.size, 1);
    agent.destroy();
  });

  test('malformed HTTP is 400 and the connection closes', async () => {
    const c = rawConnection(port);
    await c.send('\x01\x02 this is not http\r\n\r\n');
    const res = await c.response();
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).error.code, 'bad_request');
    await c.closed();
  });

  test('oversized header is 431', async () => {
    const c = rawConnection(port);
    await c.send(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
    const res = await c.response();
    assert.equal(res.status, 431);
    assert.equal(JSON.parse(res.body).error.code, 'header_too_large');
    await c.closed();
  });

  test('oversized body is 413', async () => {
    const c = rawConnection(port);
    await c.send(`POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`);
    const res = await c.response();
    assert.equal(res.status, 413);
    const error = JSON.parse(res.body).error;
    assert.equal(error.code, 'body_too_large');
    assert.equal(typeof error.message, 'string');
    await c.closed();
  });

  test('unknown route is a 404 JSON error', async () => {
    const res = await get(port, '/no/such/route');
    assert.equal(res.status, 404);
    assert.deepEqual(Object.keys(JSON.parse(res.body)), ['error']);
    assert.equal(JSON.parse(res.body).error.code, 'not_found');
  });

  test('wrong method is 405 with Allow', async () => {
    const c = rawConnection(port);
    await c.send('POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    const res = await c.response();
    assert.equal(res.status, 405);
    assert.match(res.headers.allow, /\bGET\b/);
    assert.equal(JSON.parse(res.body).error.code, 'method_not_allowed');
    c.socket.destroy();
  });

  test('a stalled request is closed after the request timeout while others are served', async () => {
    const slow = rawConnection(port);
    await slow.connected;
    const started = Date.now();
    await slow.send('POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf');
    const closedAt = slow.closed();

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let served = 0;
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const res = await get(port, '/health', agent);
        assert.equal(res.status, 200);
        served++;
        await sleep(50);
      }
    })();
    const elapsed = (await closedAt) - started;
    stop = true;
    await loop;
    agent.destroy();
    // --request-timeout-ms 1000: closed after about a second, never much earlier or later.
    assert.ok(elapsed >= 800, `closed too early (${elapsed} ms)`);
    assert.ok(elapsed < 5000, `closed too late (${elapsed} ms)`);
    assert.ok(served >= 5, `only ${served} requests served meanwhile`);
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM while a request body is half-sent: the request completes, exit code 0', async () => {
    const server = startServer();
    try {
      const { port } = await server.ready;
      const c = rawConnection(port);
      await c.connected;
      // The server is serving before the signal arrives.
      const health = http.get({ host: '127.0.0.1', port, path: '/health' });
      await new Promise((resolve) => health.on('response', (r) => { r.resume(); r.on('end', resolve); }));
      await c.send('POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234');
      await sleep(300);
      server.child.kill('SIGTERM');
      await sleep(300);
      assert.equal(server.child.exitCode, null, 'exited before the in-flight request finished');
      await c.send('56789');
      const res = await c.response();
      // POST /health is answered (405): what matters is that the request was read and answered.
      assert.equal(res.status, 405);
      assert.equal(res.headers.connection, 'close');
      const { code, signal } = await withTimeout(server.exited, 10000, 'server did not exit');
      assert.equal(signal, null);
      assert.equal(code, 0, server.stderr());
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  });
});
