import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createNodeHttpFetch } from '../src/node-http-fetch.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  remotePort: number;
}

let server: Server;
let baseUrl: string;
const received: Received[] = [];
const transport = createNodeHttpFetch();

beforeAll(async () => {
  server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      received.push({
        method: incoming.method ?? '',
        url: incoming.url ?? '',
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: incoming.socket.remotePort ?? 0,
      });

      if (incoming.url === '/empty') {
        outgoing.writeHead(204, { 'x-kind': 'empty' });
        outgoing.end();
      } else if (incoming.url === '/slow') {
        setTimeout(() => outgoing.end('late'), 5_000);
      } else {
        outgoing.writeHead(201, { 'content-type': 'application/json', 'x-kind': 'echo' });
        outgoing.end(JSON.stringify({ echoed: Buffer.concat(chunks).toString('utf8') }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  transport.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('createNodeHttpFetch', () => {
  it('sends method, path, headers and body', async () => {
    const response = await transport.fetch(
      new Request(`${baseUrl}/boxes?limit=5`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'box-1' },
        body: '{"title":"été"}',
      }),
    );
    const last = received[received.length - 1] as Received;

    expect(last.method).toBe('POST');
    expect(last.url).toBe('/boxes?limit=5');
    expect(last.headers['idempotency-key']).toBe('box-1');
    expect(last.headers['content-length']).toBe(String(Buffer.byteLength('{"title":"été"}')));
    expect(last.body).toBe('{"title":"été"}');
    expect(response.status).toBe(201);
    expect(response.headers.get('x-kind')).toBe('echo');
    expect(await response.json()).toEqual({ echoed: '{"title":"été"}' });
  });

  it('accepts a URL string with init, as a retry sends it', async () => {
    const response = await transport.fetch(`${baseUrl}/again`, {
      method: 'POST',
      body: new TextEncoder().encode('bytes').buffer,
    });

    expect(received[received.length - 1]?.body).toBe('bytes');
    expect(await response.json()).toEqual({ echoed: 'bytes' });
  });

  it('returns a null body for a 204', async () => {
    const response = await transport.fetch(`${baseUrl}/empty`);

    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
    expect(response.headers.get('x-kind')).toBe('empty');
  });

  it('reuses a kept-alive connection', async () => {
    await (await transport.fetch(`${baseUrl}/first`)).text();
    await (await transport.fetch(`${baseUrl}/second`)).text();
    const [first, second] = received.slice(-2) as [Received, Received];

    expect(first.url).toBe('/first');
    expect(second.url).toBe('/second');
    expect(second.remotePort).toBe(first.remotePort);
  });

  it('rejects with a TypeError when no server listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const failure = await transport.fetch(`http://127.0.0.1:${port}/`).catch((error) => error);

    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects with a TypeError when the server stops answering', async () => {
    const silent = createServer(() => {
      // Reads the request and never responds.
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const impatient = createNodeHttpFetch({ timeoutMs: 200 });

    try {
      const failure = await impatient.fetch(`http://127.0.0.1:${port}/`).catch((error) => error);

      expect(failure).toBeInstanceOf(TypeError);
      expect((failure as TypeError).cause).toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      impatient.close();
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("rejects with the signal's reason on abort", async () => {
    const controller = new AbortController();
    const pending = transport.fetch(`${baseUrl}/slow`, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stopped by the test')), 50);

    await expect(pending).rejects.toThrow('stopped by the test');
  });

  it('rejects a URL that is not http or https', async () => {
    await expect(transport.fetch('file:///etc/hostname')).rejects.toThrow(
      'expected an http: or https: URL, received file:',
    );
  });
});
