import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { HttpProblem } from '../errors/http-problem.js';

/** Path of the API reference page. */
export const REFERENCE_PAGE_PATH = '/docs';

/** Hash sources of the page's inline scripts and styles, as `@provisions/openapi` writes them. */
export interface ReferencePageHashes {
  'script-src': string[];
  'style-src': string[];
  'style-src-attr': string[];
}

/**
 * Builds the Content-Security-Policy of the reference page. Scripts and styles run
 * only when their hash is listed, style attributes need `'unsafe-hashes'` with the
 * hash of each, and the only other sources are the `data:` URLs of the page's own
 * font and images. The page makes no request, so `connect-src` is `'none'`.
 */
export function referencePagePolicy(hashes: ReferencePageHashes): string {
  return [
    "default-src 'none'",
    `script-src ${hashes['script-src'].join(' ')}`,
    `style-src ${hashes['style-src'].join(' ')}`,
    `style-src-attr ${hashes['style-src-attr'].join(' ')}`,
    'font-src data:',
    'img-src data:',
    "connect-src 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * Serves the API reference at `GET /docs`: the page Redoc renders from the API
 * description when `@provisions/openapi` is built, with everything inlined, and a
 * Content-Security-Policy made of the hashes the same build lists. The files are
 * read once, when the server starts.
 *
 * When the page was not built, the server still starts, and `/docs` returns 404 with
 * a problem whose detail names the build command.
 */
export async function registerReferencePage(app: FastifyInstance): Promise<void> {
  const page = await loadReferencePage();
  if (page === undefined) {
    app.log.warn('API reference page is not built, so /docs returns 404');
  }

  app.get(REFERENCE_PAGE_PATH, async (_request, reply) => {
    if (page === undefined) {
      throw new HttpProblem(
        'notFound',
        'the API reference page is not built; run pnpm --filter @provisions/openapi build',
      );
    }
    return reply
      .headers({
        'content-security-policy': page.policy,
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
        'cross-origin-opener-policy': 'same-origin',
        'cache-control': 'no-cache',
      })
      .type('text/html; charset=utf-8')
      .send(page.html);
  });
}

async function loadReferencePage(): Promise<{ html: Buffer; policy: string } | undefined> {
  try {
    const html = await readFile(resolvePackageFile('@provisions/openapi/reference.html'));
    const hashes = JSON.parse(
      await readFile(resolvePackageFile('@provisions/openapi/reference-csp.json'), 'utf8'),
    ) as ReferencePageHashes;
    return { html, policy: referencePagePolicy(hashes) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
}

function resolvePackageFile(specifier: string): string {
  return fileURLToPath(import.meta.resolve(specifier));
}
