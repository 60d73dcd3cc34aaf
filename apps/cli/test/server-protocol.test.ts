import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, UNKNOWN_ORGANIZATION_ID } from './support/run-cli.js';

/** A provision public key of the right form: 43 base64url characters. */
const PUBLIC_KEY = 'A'.repeat(43);

let plainHttp: HttpServer;
let smtpLike: Server;
const smtpLikeSockets = new Set<Socket>();

beforeAll(async () => {
  plainHttp = createHttpServer((_request, response) => response.end('plain HTTP'));
  await new Promise<void>((resolve) => plainHttp.listen(0, '127.0.0.1', resolve));

  // Greets like an SMTP server, which is not an HTTP response.
  smtpLike = createServer((socket) => {
    smtpLikeSockets.add(socket);
    socket.on('close', () => smtpLikeSockets.delete(socket));
    socket.on('error', () => undefined);
    socket.end('220 mail.example.com ESMTP\r\n');
  });
  await new Promise<void>((resolve) => smtpLike.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => plainHttp.close(() => resolve()));
  // close() waits for open connections, so they are destroyed first.
  for (const socket of smtpLikeSockets) {
    socket.destroy();
  }
  await new Promise<void>((resolve) => smtpLike.close(() => resolve()));
});

/** Runs `provisions revoke` against `server`, which fails at its first request, for a token. */
function revokeAt(server: string) {
  return runCli(['revoke', PUBLIC_KEY, '--server', server, '--org-id', UNKNOWN_ORGANIZATION_ID], {
    env: { PROVISIONS_CLIENT_SECRET: 'secret' },
  });
}

describe('a server in another protocol', () => {
  it('names TLS for https to plain HTTP', async () => {
    const origin = `https://127.0.0.1:${(plainHttp.address() as AddressInfo).port}`;

    const result = await revokeAt(origin);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: the server at ${origin} did not respond with TLS (EPROTO): check whether the server URL should start with http://\n`,
    );
  });

  it('names HTTP for a port of another service', async () => {
    const origin = `http://127.0.0.1:${(smtpLike.address() as AddressInfo).port}`;

    const result = await revokeAt(origin);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: the server at ${origin} did not respond with HTTP (HPE_INVALID_CONSTANT): check the port of the server URL, where another kind of service listens\n`,
    );
  });
});
