import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli, UNKNOWN_ORGANIZATION_ID } from './support/run-cli.js';

/** A provision public key of the right form: 43 base64url characters. */
const PUBLIC_KEY = 'A'.repeat(43);

/**
 * A self-signed certificate for 127.0.0.1 and localhost, valid until 2126, and its key, made with
 * `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500
 * -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost`.
 */
const CERTIFICATE_PATH = fileURLToPath(new URL('fixtures/self-signed-cert.pem', import.meta.url));
const KEY_PATH = fileURLToPath(new URL('fixtures/self-signed-key.pem', import.meta.url));

let plainHttp: HttpServer;
let selfSigned: HttpsServer;
let smtpLike: Server;
const smtpLikeSockets = new Set<Socket>();

beforeAll(async () => {
  plainHttp = createHttpServer((_request, response) => response.end('plain HTTP'));
  await new Promise<void>((resolve) => plainHttp.listen(0, '127.0.0.1', resolve));

  selfSigned = createHttpsServer(
    { cert: await readFile(CERTIFICATE_PATH), key: await readFile(KEY_PATH) },
    (_request, response) => response.end('self-signed HTTPS'),
  );
  await new Promise<void>((resolve) => selfSigned.listen(0, '127.0.0.1', resolve));

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
  await new Promise<void>((resolve) => selfSigned.close(() => resolve()));
  // close() waits for open connections, so they are destroyed first.
  for (const socket of smtpLikeSockets) {
    socket.destroy();
  }
  await new Promise<void>((resolve) => smtpLike.close(() => resolve()));
});

/**
 * Runs `provisions revoke` against `server`, which fails at its first request, for a token, with
 * `env` added to the environment.
 */
function revokeAt(server: string, env: Record<string, string> = {}) {
  return runCli(['revoke', PUBLIC_KEY, '--server', server, '--org-id', UNKNOWN_ORGANIZATION_ID], {
    env: { PROVISIONS_CLIENT_SECRET: 'secret', ...env },
  });
}

/** Returns the port that `server` listens on. */
function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

describe('a server in another protocol', () => {
  it.each([
    ['plain HTTP', () => plainHttp],
    ['SMTP', () => smtpLike],
  ])('names TLS for https to %s', async (_kind, server) => {
    const origin = `https://127.0.0.1:${portOf(server())}`;

    const result = await revokeAt(origin);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: the server at ${origin} did not respond with TLS (EPROTO): it may be a plain HTTP server, or no HTTP server at all: check the scheme (http:// or https://) and the port of the server URL\n`,
    );
  });

  it('suggests https for http to TLS', async () => {
    const origin = `http://127.0.0.1:${portOf(selfSigned)}`;

    const result = await revokeAt(origin);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: cannot reach the server at ${origin} (connection reset): check the server URL given with --server and that the server is running, and if its port expects TLS, use an https:// URL\n`,
    );
  });

  it('names HTTP for a port of another service', async () => {
    const origin = `http://127.0.0.1:${portOf(smtpLike)}`;

    const result = await revokeAt(origin);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: the server at ${origin} did not respond with HTTP (HPE_INVALID_CONSTANT): check the port of the server URL, where another kind of service listens\n`,
    );
  });
});

describe('a server with a self-signed certificate', () => {
  it('names the untrusted certificate', async () => {
    const origin = `https://127.0.0.1:${portOf(selfSigned)}`;

    const result = await revokeAt(origin);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `provisions: the TLS certificate of the server at ${origin} is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT), because it is self-signed or its issuer is unknown: to trust a private certificate authority, set NODE_EXTRA_CA_CERTS to the path of its certificate in PEM\n`,
    );
  });

  it('is trusted through NODE_EXTRA_CA_CERTS', async () => {
    const origin = `https://127.0.0.1:${portOf(selfSigned)}`;

    const result = await revokeAt(origin, { NODE_EXTRA_CA_CERTS: CERTIFICATE_PATH });

    // The TLS handshake succeeds, so the request fails on the body, which is not a token.
    expect(result.code).toBe(1);
    expect(result.stderr).not.toContain('certificate');
    expect(result.stderr).toContain('POST /oauth/token: the server responded 200');
  });
});
