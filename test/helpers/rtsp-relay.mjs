/**
 * A minimal RTSP relay for tests, as a media server is in front of cameras and encoders: one
 * publisher per path pushes (ANNOUNCE, SETUP, RECORD, RTP interleaved over TCP: what FFmpeg's
 * rtsp muxer sends, the simulator's `rtsp` output), and players pull it (DESCRIBE, SETUP, PLAY,
 * RTP interleaved over TCP: what FFmpeg's rtsp demuxer does with rtsp_transport tcp). RTP and
 * RTCP packets are passed on as they come, on the channels each player asked for.
 *
 * Plain JavaScript, run as a child process (`node test/helpers/rtsp-relay.mjs <port>`): FFmpeg's
 * RTSP client and muxer wait for replies synchronously, so a server on the test's own event loop
 * would never answer. Prints `listening <port>` once it accepts connections. Not a general server:
 * no UDP transport, no authentication, no PAUSE or seeking.
 */
import { createServer } from 'node:net';

const port = Number(process.argv[2] ?? 0);
/** path -> { sdp, players: Set<{ socket, channels: Map<publisherChannel, playerChannel>, playing }> } */
const paths = new Map();

function pathOf(url) {
  try {
    return new URL(url).pathname.replace(/\/(streamid|trackID)=\d+$/, '').replace(/\/$/, '');
  } catch {
    return '';
  }
}

function reply(socket, cseq, status, headers = {}, body = '') {
  const lines = [`RTSP/1.0 ${status}`, `CSeq: ${cseq}`, 'Server: vigil-test-relay'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** Splits what a connection sends into RTSP requests and interleaved frames. */
function parser(onRequest, onFrame) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length === 0) return;
      if (buf[0] === 0x24) {
        if (buf.length < 4) return;
        const len = buf.readUInt16BE(2);
        if (buf.length < 4 + len) return;
        onFrame(buf[1], buf.subarray(4, 4 + len));
        buf = buf.subarray(4 + len);
        continue;
      }
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (buf.length < end + 4 + length) return;
      const body = buf.subarray(end + 4, end + 4 + length).toString('latin1');
      buf = buf.subarray(end + 4 + length);
      const [method, url] = head[0].split(' ');
      onRequest({ method, url, headers, body });
    }
  };
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  let publishing;
  let player;
  const session = String(Math.floor(Math.random() * 1e9));
  socket.on(
    'data',
    parser(
      ({ method, url, headers, body }) => {
        const cseq = headers.cseq ?? '0';
        const path = pathOf(url);
        switch (method) {
          case 'OPTIONS':
          case 'GET_PARAMETER':
          case 'SET_PARAMETER':
            return reply(socket, cseq, '200 OK', { Public: 'OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, RECORD, TEARDOWN, GET_PARAMETER' });
          case 'ANNOUNCE': {
            const entry = paths.get(path) ?? { sdp: '', players: new Set() };
            entry.sdp = body;
            paths.set(path, entry);
            publishing = entry;
            return reply(socket, cseq, '200 OK');
          }
          case 'DESCRIBE': {
            const entry = paths.get(path);
            if (!entry?.sdp) return reply(socket, cseq, '404 Not Found');
            return reply(socket, cseq, '200 OK', { 'Content-Base': `${url.replace(/\/$/, '')}/`, 'Content-Type': 'application/sdp' }, entry.sdp);
          }
          case 'SETUP': {
            const transport = headers.transport ?? '';
            const m = /interleaved=(\d+)-(\d+)/.exec(transport);
            if (!/TCP/.test(transport) || !m) return reply(socket, cseq, '461 Unsupported Transport');
            const stream = Number(/(?:streamid|trackID)=(\d+)/.exec(url)?.[1] ?? 0);
            if (!publishing) {
              const entry = paths.get(path);
              if (!entry) return reply(socket, cseq, '404 Not Found');
              player ??= { socket, channels: new Map(), playing: false, entry };
              // The publisher sends stream s on channels 2s (RTP) and 2s + 1 (RTCP).
              player.channels.set(2 * stream, Number(m[1]));
              player.channels.set(2 * stream + 1, Number(m[2]));
            }
            return reply(socket, cseq, '200 OK', { Transport: transport, Session: `${session};timeout=60` });
          }
          case 'RECORD':
            return reply(socket, cseq, '200 OK', { Session: session });
          case 'PLAY':
            if (!player) return reply(socket, cseq, '455 Method Not Valid in This State');
            player.playing = true;
            player.entry.players.add(player);
            return reply(socket, cseq, '200 OK', { Session: session, Range: 'npt=0.000-' });
          case 'TEARDOWN':
            reply(socket, cseq, '200 OK', { Session: session });
            return void socket.end();
          default:
            return reply(socket, cseq, '501 Not Implemented');
        }
      },
      (channel, data) => {
        if (!publishing) return;
        for (const p of publishing.players) {
          const to = p.channels.get(channel);
          if (to === undefined || !p.playing || p.socket.destroyed) continue;
          const head = Buffer.from([0x24, to, data.length >> 8, data.length & 0xff]);
          p.socket.write(Buffer.concat([head, data]));
        }
      },
    ),
  );
  const gone = () => {
    if (player) player.entry.players.delete(player);
    // A publisher that leaves ends its players' streams, as a media server does.
    if (publishing) {
      for (const p of publishing.players) p.socket.destroy();
      publishing.players.clear();
      publishing.sdp = '';
    }
  };
  socket.on('close', gone);
  socket.on('error', gone);
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
