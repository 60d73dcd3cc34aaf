import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HttpProblem } from '../errors/http-problem.js';

/** Path of the recipient page; invitation links are `{app URL}/join#provision:{share}`. */
export const RECIPIENT_PAGE_PATH = '/join';

/** Path of the recipient page with a trailing slash, redirected to {@link RECIPIENT_PAGE_PATH}. */
export const RECIPIENT_PAGE_SLASH_PATH = `${RECIPIENT_PAGE_PATH}/`;

/** URL prefix of the page's scripts and style sheets, whose file names carry a content hash. */
export const RECIPIENT_ASSETS_PATH = '/assets/';

/**
 * Content-Security-Policy of the page and its assets: only scripts, styles and API calls
 * from this origin, no forms posted anywhere, no framing, no `<base>`. The page builds its
 * DOM from text nodes only, so it requires Trusted Types and allows no policy. Every HTML
 * and script sink (`innerHTML`, `document.write`, a script's `src`) then rejects strings.
 */
export const RECIPIENT_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Permissions-Policy of the page: it uses no device, sensor or payment feature. */
export const RECIPIENT_PAGE_PERMISSIONS_POLICY = [
  'accelerometer=()',
  'camera=()',
  'display-capture=()',
  'geolocation=()',
  'gyroscope=()',
  'hid=()',
  'magnetometer=()',
  'microphone=()',
  'midi=()',
  'payment=()',
  'serial=()',
  'usb=()',
].join(', ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': RECIPIENT_PAGE_CSP,
  'permissions-policy': RECIPIENT_PAGE_PERMISSIONS_POLICY,
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cross-origin-opener-policy': 'same-origin',
};

const MEDIA_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

// dist/http/ and src/http/ are both two levels below the package root, so this
// finds the bundle whether the server runs from dist or from source in tests.
const DEFAULT_WEB_DIRECTORY = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/** The built page: its HTML and its assets by file name. */
interface RecipientPageFiles {
  html: Buffer;
  assets: Map<string, { body: Buffer; mediaType: string }>;
}

/**
 * Serves the recipient page, built by `web/build.mjs` into `dist/web/`: `GET /join`
 * returns `join.html`, `GET /join/` redirects there with a 301, and `GET /assets/<name>`
 * returns its hashed script, style sheet and icon. Every response carries
 * {@link RECIPIENT_PAGE_CSP}, {@link RECIPIENT_PAGE_PERMISSIONS_POLICY},
 * `Referrer-Policy: no-referrer`, `X-Content-Type-Options: nosniff` and
 * `Cross-Origin-Opener-Policy: same-origin`. The files are read once, when the server
 * starts. A name not in `dist/web/assets/` gets a 404.
 *
 * When the page was not built, the server still starts, and `/join` answers 404
 * with a problem that says to run the build.
 *
 * @param webDirectory - directory of `join.html` and `assets/`; default the package's `dist/web/`.
 */
export async function registerRecipientPage(
  app: FastifyInstance,
  webDirectory: string = DEFAULT_WEB_DIRECTORY,
): Promise<void> {
  const files = await loadPageFiles(webDirectory);
  if (files === undefined) {
    app.log.warn(
      { web_directory: webDirectory },
      'recipient page is not built, so /join returns 404',
    );
  }

  app.get(RECIPIENT_PAGE_PATH, async (_request, reply) => {
    if (files === undefined) {
      throw new HttpProblem(
        'notFound',
        'the recipient page is not built; run pnpm --filter @provisions/server build',
      );
    }
    return sendWithSecurityHeaders(reply, files.html, 'text/html; charset=utf-8', 'no-cache');
  });

  // A link typed or pasted with a trailing slash would otherwise get a 404 with the
  // share still in the address bar. The fragment never reaches the server, and browsers
  // keep it across a redirect whose Location has none. The query stays, so that the page
  // still reports a link with one as damaged.
  app.get(RECIPIENT_PAGE_SLASH_PATH, async (request, reply) => {
    const queryStart = request.url.indexOf('?');
    const query = queryStart === -1 ? '' : request.url.slice(queryStart);
    return reply.headers(SECURITY_HEADERS).redirect(`${RECIPIENT_PAGE_PATH}${query}`, 301);
  });

  app.get<{ Params: { name: string } }>(`${RECIPIENT_ASSETS_PATH}:name`, async (request, reply) => {
    const asset = files?.assets.get(request.params.name);
    if (asset === undefined) {
      throw new HttpProblem('notFound', 'no page asset has this name');
    }
    // Asset names change with their content, so browsers may keep them for a year.
    return sendWithSecurityHeaders(
      reply,
      asset.body,
      asset.mediaType,
      'public, max-age=31536000, immutable',
    );
  });
}

async function loadPageFiles(webDirectory: string): Promise<RecipientPageFiles | undefined> {
  let html: Buffer;
  let names: string[];
  try {
    html = await readFile(join(webDirectory, 'join.html'));
    names = await readdir(join(webDirectory, 'assets'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }

  const assets = new Map<string, { body: Buffer; mediaType: string }>();
  for (const name of names) {
    const mediaType = MEDIA_TYPES[extname(name)];
    if (mediaType !== undefined) {
      assets.set(name, { body: await readFile(join(webDirectory, 'assets', name)), mediaType });
    }
  }

  return { html, assets };
}

function sendWithSecurityHeaders(
  reply: FastifyReply,
  body: Buffer,
  mediaType: string,
  cacheControl: string,
): FastifyReply {
  return reply
    .headers(SECURITY_HEADERS)
    .header('cache-control', cacheControl)
    .type(mediaType)
    .send(body);
}
