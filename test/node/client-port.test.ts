// One port, two protocols: connections are told apart by their first bytes, and ones that stall are closed.
import assert from 'node:assert/strict';
import { createServer as createHttpServer, get } from 'node:http';
import { connect as connectHttp2, createServer as createHttp2Server } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { listenClientPort, type ClientPort } from '../../src/node/client-port.ts';

async function start(timeouts = { routeMs: 300, http1IdleMs: 300 }): Promise<ClientPort> {
  const h2 = createHttp2Server();
  h2.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200 });
    stream.end(`h2 ${headers[':path']}`);
  });
  const h1 = createHttpServer((req, res) => res.end(`h1 ${req.url}`));
  return listenClientPort('127.0.0.1', 0, { http2: (s) => h2.emit('connection', s), http1: (s) => h1.emit('connection', s) }, timeouts);
}

function http2Get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = connectHttp2(`http://127.0.0.1:${port}`);
    client.on('error', reject);
    const req = client.request({ ':path': path });
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => (client.close(), resolve(body)));
    req.on('error', reject);
    req.end();
  });
}

function http1Get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Opens a raw connection, writes the given pieces with pauses, and resolves when the server closes it (ms). */
function stallUntilClosed(port: number, pieces: string[]): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket: Socket = connect(port, '127.0.0.1', () => {
      pieces.forEach((p, i) => setTimeout(() => socket.write(p), i * 50));
    });
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now() - started));
  });
}

test('HTTP/2 and HTTP/1 share the port, each reaching its own server', async () => {
  const port = await start();
  try {
    assert.equal(await http2Get(port.port, '/grpc'), 'h2 /grpc');
    assert.equal(await http1Get(port.port, '/health'), 'h1 /health');
  } finally {
    await port.close();
  }
});

test('an HTTP/2 preface that arrives in pieces is still recognised', async () => {
  const port = await start({ routeMs: 2000, http1IdleMs: 2000 });
  try {
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(port.port, '127.0.0.1', () => {
        socket.write('PRI * HT');
        // The rest of the preface and an empty SETTINGS frame: an HTTP/2 server answers with its own SETTINGS.
        setTimeout(() => socket.write(Buffer.concat([Buffer.from('TP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])])), 50);
      });
      socket.once('data', (d: Buffer) => (socket.destroy(), resolve(d.subarray(3, 4).toString('hex'))));
    });
    assert.equal(answer, '04', 'the first frame back is a SETTINGS frame');
  } finally {
    await port.close();
  }
});

test('a connection that never shows its protocol, or stalls inside an HTTP/1 request, is closed', { timeout: 10_000 }, async () => {
  const port = await start();
  try {
    const silent = await stallUntilClosed(port.port, []);
    assert.ok(silent >= 250 && silent < 3000, `a silent connection closed after ${silent} ms`);
    const slow = await stallUntilClosed(port.port, ['GET /health HTTP/1.1\r\n', 'Host: x\r\n']);
    assert.ok(slow >= 250 && slow < 3000, `a stalled request closed after ${slow} ms`);
    assert.equal(await http1Get(port.port, '/still'), 'h1 /still', 'the port still serves');
  } finally {
    await port.close();
  }
});
