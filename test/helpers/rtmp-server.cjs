// An RTMP server for the pull tests (node-media-server, a dev dependency), in its own process:
// FFmpeg's RTMP client opens and handshakes synchronously on the calling thread, so a server in
// the test's own event loop would never answer it. Usage: node rtmp-server.cjs <port> <store dir>
const NodeMediaServer = require('node-media-server');

const nms = new NodeMediaServer({
  bind: '127.0.0.1',
  rtmp: { port: Number(process.argv[2]), chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 },
  store: { path: process.argv[3] },
});
nms.run();
process.on('SIGTERM', () => {
  void nms.stop().finally(() => process.exit(0));
});
