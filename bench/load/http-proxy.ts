/**
 * A typical Node reverse proxy: a node:http server handing each request to the `http-proxy` package,
 * with a keep-alive http.Agent to the peer and X-Forwarded-* on (as rawproxy adds them too).
 *
 *   node dist/bench/load/http-proxy.js LISTEN_PORT PEER_PORT
 */
import http from 'node:http'
import httpProxy from 'http-proxy'

const [port, peerPort] = process.argv.slice(2).map(Number)
const agent = new http.Agent({ keepAlive: true })
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${peerPort}`, agent, xfwd: true })

proxy.on('error', (_err, _req, res) => {
  // Without a handler http-proxy throws; answer 502 as a proxy would.
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end()
  else res.destroy()
})

http.createServer((req, res) => proxy.web(req, res)).listen({ host: '127.0.0.1', port, backlog: 1024 })
process.on('SIGTERM', () => process.exit(0))
