import rateLimit from '@fastify/rate-limit';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { OperationRouter } from '../src/http/operation-router.js';
import { loadOpenApiDocument } from '../src/openapi/openapi-document.js';
import { listOperations } from '../src/openapi/operation-schema.js';

const handler = async () => null;

describe('OperationRouter', () => {
  it('rejects a route whose path differs from the description', async () => {
    const router = new OperationRouter(Fastify(), await loadOpenApiDocument());

    expect(() =>
      router.add({ operationId: 'getBox', method: 'GET', url: '/box/:id', access: 'any', handler }),
    ).toThrow('operation getBox is GET /boxes/:id in the API description, not GET /box/:id');
  });

  it('rejects an operation the description does not have', async () => {
    const router = new OperationRouter(Fastify(), await loadOpenApiDocument());

    expect(() =>
      router.add({
        operationId: 'deleteBox',
        method: 'DELETE',
        url: '/boxes/:id',
        access: 'any',
        handler,
      }),
    ).toThrow('operation deleteBox is not in the API description');
  });

  it('names the operations left without a route', async () => {
    const router = new OperationRouter(Fastify(), await loadOpenApiDocument());
    router.add({ operationId: 'getBox', method: 'GET', url: '/boxes/:id', access: 'any', handler });

    expect(() => router.assertComplete()).toThrow(/createToken/);
    expect(() => router.assertComplete()).not.toThrow(/getBox/);
  });
});

describe('OperationRouter rate limit', () => {
  it('counts HEAD toward the limit of GET', async () => {
    const app = Fastify();
    await app.register(rateLimit, { global: false });
    // Only the limit is under test, so the schemas of the description are not compiled.
    app.setValidatorCompiler(() => () => true);
    app.setSerializerCompiler(() => (data) => JSON.stringify(data));
    const router = new OperationRouter(app, await loadOpenApiDocument());
    router.add({
      operationId: 'getHealth',
      method: 'GET',
      url: '/health',
      access: 'public',
      requestsPerMinute: 2,
      handler: async () => ({ status: 'ok' }),
    });

    const statuses: number[] = [];
    for (const method of ['GET', 'HEAD', 'GET', 'HEAD'] as const) {
      statuses.push((await app.inject({ method, url: '/health' })).statusCode);
    }

    expect(statuses).toEqual([200, 200, 429, 429]);
  });

  it('rejects a limit without the rate limit plugin', async () => {
    const router = new OperationRouter(Fastify(), await loadOpenApiDocument());

    expect(() =>
      router.add({
        operationId: 'getHealth',
        method: 'GET',
        url: '/health',
        access: 'public',
        requestsPerMinute: 2,
        handler,
      }),
    ).toThrow('register @fastify/rate-limit before adding getHealth, which has a rate limit');
  });
});

describe('listOperations', () => {
  it('takes schemas from the description', async () => {
    const document = await loadOpenApiDocument();
    const createBox = listOperations(document).find(
      (operation) => operation.operationId === 'createBox',
    );

    expect(createBox?.method).toBe('POST');
    expect(createBox?.requestContentTypes).toEqual(['application/json']);
    expect(createBox?.schema.body).toEqual({ $ref: '#/components/schemas/BoxCreation' });
    expect(createBox?.headerNames).toEqual({ 'idempotency-key': 'Idempotency-Key' });
    expect(Object.keys(createBox?.schema.response ?? {})).toContain('409');
  });

  it('lists every operation once', async () => {
    const document = await loadOpenApiDocument();
    const ids = listOperations(document).map((operation) => operation.operationId);

    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(17);
  });
});
