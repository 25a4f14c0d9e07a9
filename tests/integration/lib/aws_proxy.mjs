// An HTTP proxy in front of moto_server that plays the parts of AWS moto does not:
// - it keeps its clients' connections alive, as AWS does (moto's server closes every connection
//   after one answer), and counts the connections clients opened;
// - it takes a service through the states of a real rollout: moto starts no containers, so its
//   DescribeServices says IN_PROGRESS with no task running forever, and DescribeTargetHealth
//   has no target. The proxy rewrites both answers: a rollout goes IN_PROGRESS (one task
//   pending, the target "initial") for a few polls, then COMPLETED with the tasks running and
//   the target healthy; or, when asked, FAILED as the deployment circuit breaker reports it;
// - it injects throttling, 5xx and connection resets on demand, per operation;
// - it keeps the operations and bodies it forwarded, for checks moto cannot make (it does not
//   keep a service's capacity provider strategy): they are then checked with botocore.
// Each request goes to moto on a connection of its own, with its Host header unchanged (the
// signature covers it).
//
// Control, on the proxy's own port (never forwarded): POST /__proxy/faults
// {"operation": "CreateService", "status": 503 | 429 | 0 (reset), "times": 2},
// POST /__proxy/rollout {"mode": "healthy" | "fail", "polls": 2}, GET /__proxy/requests.
//
// Imported by tests (startAwsProxy), or run alone:
//   node aws_proxy.mjs <moto port>   prints "listening <port>", then "connections <n>" on each
//                                    new connection.
import http from 'node:http';
import { pathToFileURL } from 'node:url';

// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not the message.
const kHopByHop = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade'];

function endToEnd(headers) {
  const out = { ...headers };
  for (const name of kHopByHop) delete out[name];
  return out;
}

// The operation of a request: JSON 1.1 (X-Amz-Target), Query (Action=), or S3 (method path).
function operationOf(req, body) {
  const target = req.headers['x-amz-target'];
  if (target) return target.split('.').pop();
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body);
  if (action) return action[1];
  return `${req.method} ${req.url}`;
}

// The error answers of the JSON and Query protocols, as AWS words them.
function faultAnswer(fault, req) {
  const throttled = fault.status === 429 || fault.status === 400;
  const code = throttled ? 'ThrottlingException' : 'ServiceUnavailable';
  const message = throttled ? 'Rate exceeded' : 'Service is unavailable (injected)';
  const status = throttled ? 400 : fault.status;
  if (req.headers['x-amz-target']) {
    return { status, type: 'application/x-amz-json-1.1', body: JSON.stringify({ __type: code, message }) };
  }
  const xmlCode = throttled ? 'Throttling' : code;
  return {
    status, type: 'text/xml',
    body: `<ErrorResponse><Error><Type>Sender</Type><Code>${xmlCode}</Code><Message>${message}</Message></Error>` +
      '<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>',
  };
}

/** Starts the proxy; resolves with its url, connections(), requests(), control functions, close(). */
export async function startAwsProxy(targetPort, onConnection = () => {}) {
  let connections = 0;
  const sockets = new Set();
  const faults = [];  // {operation, status, times}
  const forwarded = [];  // {operation, body}
  let rollout = { mode: 'healthy', polls: 2 };
  const polls = new Map();  // service name -> DescribeServices answers seen

  function rolloutStateOf(name) {
    const seen = polls.get(name) ?? 0;
    polls.set(name, seen + 1);
    if (seen < rollout.polls) return 'IN_PROGRESS';
    return rollout.mode === 'fail' ? 'FAILED' : 'COMPLETED';
  }

  function rewriteServices(text) {
    const answer = JSON.parse(text);
    for (const service of answer.services ?? []) {
      const state = rolloutStateOf(service.serviceName);
      const desired = service.desiredCount ?? 1;
      const running = state === 'COMPLETED' ? desired : 0;
      service.runningCount = running;
      service.pendingCount = state === 'IN_PROGRESS' ? desired : 0;
      for (const deployment of service.deployments ?? []) {
        if (deployment.status !== 'PRIMARY') continue;
        deployment.rolloutState = state;
        deployment.runningCount = running;
        deployment.pendingCount = service.pendingCount;
        deployment.failedTasks = state === 'FAILED' ? 3 : 0;
        deployment.rolloutStateReason = state === 'FAILED'
          ? 'ECS deployment circuit breaker: tasks failed to start.'
          : `ECS deployment ${state === 'COMPLETED' ? 'completed' : 'in progress'}.`;
      }
    }
    return JSON.stringify(answer);
  }

  // A target per running task: "initial" while the rollout runs, then "healthy".
  function rewriteTargetHealth(text) {
    if (!/<TargetHealthDescriptions\s*\/>|<TargetHealthDescriptions>\s*<\/TargetHealthDescriptions>/.test(text)) return text;
    const states = [...polls.values()];
    const done = states.length > 0 && Math.max(...states) > rollout.polls && rollout.mode === 'healthy';
    const state = done ? 'healthy' : 'initial';
    const member = '<member><Target><Id>10.0.1.23</Id><Port>3000</Port></Target>' +
      `<HealthCheckPort>3000</HealthCheckPort><TargetHealth><State>${state}</State></TargetHealth></member>`;
    return text.replace(/<TargetHealthDescriptions\s*\/>|<TargetHealthDescriptions>\s*<\/TargetHealthDescriptions>/,
      `<TargetHealthDescriptions>${member}</TargetHealthDescriptions>`);
  }

  function control(req, res, body) {
    const reply = (value) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(value)); };
    if (req.url === '/__proxy/faults' && req.method === 'POST') { faults.push(JSON.parse(body)); return reply({ ok: true }); }
    if (req.url === '/__proxy/rollout' && req.method === 'POST') { rollout = { ...rollout, ...JSON.parse(body) }; polls.clear(); return reply(rollout); }
    if (req.url === '/__proxy/requests') return reply(forwarded);
    res.writeHead(404); res.end();
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = raw.toString('utf8');
      if (req.url.startsWith('/__proxy/')) { control(req, res, body); return; }
      const operation = operationOf(req, body);
      const fault = faults.find((f) => f.operation === operation && f.times > 0);
      if (fault) {
        fault.times -= 1;
        if (fault.status === 0) { req.socket.destroy(); return; }
        const answer = faultAnswer(fault, req);
        res.writeHead(answer.status, { 'Content-Type': answer.type, 'Content-Length': Buffer.byteLength(answer.body) });
        res.end(answer.body);
        return;
      }
      forwarded.push({ operation, body });
      const upstream = http.request({
        host: '127.0.0.1', port: targetPort, method: req.method, path: req.url,
        headers: endToEnd(req.headers), agent: false,
      }, (answer) => {
        const rewrite = operation === 'DescribeServices' ? rewriteServices
          : operation === 'DescribeTargetHealth' ? rewriteTargetHealth : null;
        if (!rewrite || answer.statusCode !== 200) {
          res.writeHead(answer.statusCode, endToEnd(answer.headers));
          answer.pipe(res);
          return;
        }
        const parts = [];
        answer.on('data', (c) => parts.push(c));
        answer.on('end', () => {
          const text = rewrite(Buffer.concat(parts).toString('utf8'));
          const headers = endToEnd(answer.headers);
          delete headers['transfer-encoding'];
          headers['content-length'] = Buffer.byteLength(text);
          res.writeHead(200, headers);
          res.end(text);
        });
      });
      upstream.on('error', () => res.destroy());
      upstream.end(raw);
    });
  });
  // Longer than any pause between two requests of a run: a connection closed by the proxy
  // would count as the client's choice.
  server.keepAliveTimeout = 120000;
  server.on('connection', (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onConnection(connections);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    requests: () => forwarded,
    inject(fault) { faults.push(fault); },
    setRollout(value) { rollout = { ...rollout, ...value }; polls.clear(); },
    close() { for (const s of sockets) s.destroy(); server.close(); },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const proxy = await startAwsProxy(Number(process.argv[2]), (n) => console.log(`connections ${n}`));
  console.log(`listening ${proxy.port}`);
  process.on('SIGTERM', () => { proxy.close(); process.exit(0); });
}
