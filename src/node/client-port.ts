// One TCP port for all of a peer's client traffic, as etcd's does: a connection that opens with the HTTP/2
// preface is gRPC, anything else is plain HTTP (/health, /version, /metrics). The first bytes are looked at and
// put back, then the connection is handed to the server that speaks its protocol.
import { createServer as createNetServer, type Socket } from 'node:net';

const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0', 'latin1');

export interface ClientPortRoutes {
  /** Takes a connection whose unread bytes start with the HTTP/2 preface. */
  http2(socket: Socket): void;
  /** Takes any other connection (HTTP/1.x). */
  http1(socket: Socket): void;
}

export interface ClientPort {
  readonly port: number;
  close(): Promise<void>;
}

export interface ClientPortTimeouts {
  /** A connection that has not shown its protocol by then is closed. */
  routeMs: number;
  /** An HTTP/1 connection idle this long without a request under way is closed (slow or stalled clients). */
  http1IdleMs: number;
}

export function listenClientPort(host: string, port: number, routes: ClientPortRoutes, timeouts: ClientPortTimeouts): Promise<ClientPort> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    const unrouted = setTimeout(() => socket.destroy(), timeouts.routeMs);
    socket.once('close', () => (clearTimeout(unrouted), sockets.delete(socket)));
    // A client that resets the connection must not take the peer down, whichever server has it by then.
    socket.on('error', () => socket.destroy());
    route(socket, {
      http2: (s) => (clearTimeout(unrouted), routes.http2(s)),
      // Node's HTTP server closes a socket whose timeout fires; the request handler lifts it while it serves.
      http1: (s) => (clearTimeout(unrouted), s.setTimeout(timeouts.http1IdleMs), routes.http1(s)),
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

function route(socket: Socket, routes: ClientPortRoutes): void {
  let seen: Buffer | undefined;
  const onData = (chunk: Buffer) => {
    seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, HTTP2_PREFACE.length);
    const http2 = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
    if (http2 && seen.length < HTTP2_PREFACE.length) return; // the preface may arrive in pieces
    socket.off('data', onData);
    socket.pause();
    socket.unshift(seen);
    if (http2) {
      // Node's HTTP/2 session reads what is buffered on the socket when it starts; the socket stays paused.
      routes.http2(socket);
    } else {
      routes.http1(socket);
      socket.resume();
    }
  };
  socket.on('data', onData);
}
