// An HTTP proxy in front of moto_server that keeps its clients' connections alive, as S3 does.
// moto's server (Werkzeug) closes every connection after one answer, so against moto alone no
// client can reuse a connection; behind this proxy, the connections a client opens are the
// ones it chose to open. Each request goes to moto on a connection of its own, with its Host
// header unchanged (the signature covers it). The proxy counts the connections clients opened.
//
// Imported by tests (startKeepAliveProxy), or run alone by a benchmark:
//   node keepalive_proxy.mjs <moto port>   prints "listening <port>", then "connections <n>"
//                                          on each new connection.
import http from 'node:http';
import { pathToFileURL } from 'node:url';

// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not the message.
const kHopByHop = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade'];

function endToEnd(headers) {
  const out = { ...headers };
  for (const name of kHopByHop) delete out[name];
  return out;
}

/** Starts the proxy; resolves with its url, connections() opened so far, and close(). */
export async function startKeepAliveProxy(targetPort, onConnection = () => {}) {
  let connections = 0;
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const upstream = http.request({
      host: '127.0.0.1', port: targetPort, method: req.method, path: req.url,
      headers: endToEnd(req.headers), agent: false,
    }, (answer) => {
      res.writeHead(answer.statusCode, endToEnd(answer.headers));
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
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
    close() { for (const s of sockets) s.destroy(); server.close(); },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const proxy = await startKeepAliveProxy(Number(process.argv[2]), (n) => console.log(`connections ${n}`));
  console.log(`listening ${proxy.port}`);
  process.on('SIGTERM', () => { proxy.close(); process.exit(0); });
}
