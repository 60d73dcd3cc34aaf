import { setTimeout as delay } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installPipelinedRequestOrder } from '../src/http/pipelined-requests.js';
import { RawConnection } from './support/raw-http.js';

/**
 * The pipelining hook on a bare Fastify app whose handlers record when they run, so that
 * handlers running side by side, or running behind a closed connection, show in the record.
 */

/** Time each handler takes, so that a handler started early would overlap it. */
const HANDLER_MS = 30;

let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function startApp(configure: (app: FastifyInstance, events: string[]) => void) {
  const events: string[] = [];
  app = Fastify();
  installPipelinedRequestOrder(app);
  configure(app, events);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, events };
}

function getRequest(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let waited = 0; waited < 5000 && !condition(); waited += 10) {
    await delay(10);
  }
}

describe('installPipelinedRequestOrder', () => {
  it('runs pipelined handlers one at a time', async () => {
    const { url, events } = await startApp((app, events) => {
      app.get('/slow/:n', async (request) => {
        const { n } = request.params as { n: string };
        events.push(`start ${n}`);
        await delay(HANDLER_MS);
        events.push(`end ${n}`);
        return { n };
      });
    });

    const connection = await RawConnection.open(url);
    connection.write(getRequest('/slow/0') + getRequest('/slow/1') + getRequest('/slow/2'));
    await waitFor(() => events.length === 6);
    connection.destroy();

    expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('skips requests behind a response that closes', async () => {
    const { url, events } = await startApp((app, events) => {
      app.get('/close', async (_request, reply) => {
        events.push('close');
        return reply.header('connection', 'close').send({});
      });
      app.get('/other', async () => {
        events.push('other');
        return {};
      });
    });

    const connection = await RawConnection.open(url);
    connection.write(getRequest('/close') + getRequest('/other') + getRequest('/other'));
    await connection.closedByServer(5000);
    await delay(HANDLER_MS);

    expect(events).toEqual(['close']);
  });

  it('skips queued requests once the client closed', async () => {
    const { url, events } = await startApp((app, events) => {
      app.get('/slow/:n', async (request) => {
        const { n } = request.params as { n: string };
        events.push(`start ${n}`);
        await delay(HANDLER_MS);
        return { n };
      });
    });

    const connection = await RawConnection.open(url);
    connection.write(getRequest('/slow/0') + getRequest('/slow/1') + getRequest('/slow/2'));
    await waitFor(() => events.length === 1);
    connection.destroy();
    await delay(3 * HANDLER_MS);

    expect(events).toEqual(['start 0']);
  });

  it('runs a request sent after the previous response', async () => {
    const { url, events } = await startApp((app, events) => {
      app.get('/slow/:n', async (request) => {
        const { n } = request.params as { n: string };
        events.push(`start ${n}`);
        return { n };
      });
    });

    const connection = await RawConnection.open(url);
    connection.write(getRequest('/slow/0'));
    await waitFor(() => connection.received.includes('{"n":"0"}'));
    connection.write(getRequest('/slow/1'));
    await waitFor(() => connection.received.includes('{"n":"1"}'));
    connection.destroy();

    expect(events).toEqual(['start 0', 'start 1']);
  });
});
