// Renders the API reference page with Redoc, through `redocly build-docs`, into
// dist/reference.html, with Redoc's script inlined so the page loads nothing from a
// CDN. It also writes dist/reference-csp.json: the hashes of the page's inline
// scripts, style elements and style attributes, as Content-Security-Policy sources
// for the server that serves the page.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));
const pagePath = fileURLToPath(new URL('../dist/reference.html', import.meta.url));
const policyPath = fileURLToPath(new URL('../dist/reference-csp.json', import.meta.url));
const redoclyPath = fileURLToPath(new URL('../node_modules/.bin/redocly', import.meta.url));

// Redoc's styled-components appends empty <style> elements and fills them through
// the CSSOM, which CSP does not check, so only the empty content needs allowing.
const EMPTY_STYLE_HASH = hashSource('');

// Redoc 3.0 loads the Redocly logo from this CDN; see withoutRemoteLogo.
const REMOTE_LOGO_URLS = [
  'https://cdn.redoc.ly/redoc/logo-mini-full.svg',
  'https://cdn.redoc.ly/redoc/logo-mini.svg',
];

// A data: URL without quotes, backticks or `$`, because it replaces a string in a
// template literal of Redoc's script.
const LOCAL_LOGO =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='56' height='16'%3E" +
  "%3Ctext x='0' y='12' font-family='sans-serif' font-size='12' fill='%23555'%3ERedocly%3C/text%3E%3C/svg%3E";

// The CLI prints a banner on every run, so its output is shown only when it fails.
try {
  execFileSync(
    redoclyPath,
    ['build-docs', 'openapi.yaml', '--inlineBundle', '--output', pagePath],
    {
      cwd: packageDirectory,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      stdio: 'pipe',
    },
  );
} catch (error) {
  process.stderr.write(error.stdout ?? '');
  process.stderr.write(error.stderr ?? '');
  throw new Error('redocly build-docs failed; its output is above');
}
const html = withoutRemoteLogo(await readFile(pagePath, 'utf8'));
await writeFile(pagePath, html);

checkSelfContained(html);
const { scripts, styles, markup } = splitRawText(html);
const policy = {
  'script-src': uniqueSorted(scripts.map(hashSource)),
  'style-src': uniqueSorted([...styles.map(hashSource), EMPTY_STYLE_HASH]),
  'style-src-attr': ["'unsafe-hashes'", ...uniqueSorted(styleAttributes(markup).map(hashSource))],
};
await writeFile(policyPath, `${JSON.stringify(policy, null, 2)}\n`);

/**
 * Replaces the Redocly logo that Redoc 3.0 shows under its menu, which it loads from
 * cdn.redoc.ly, with an inline SVG of the word "Redocly", so the "API docs by" credit
 * stays and the page makes no request to another origin.
 */
function withoutRemoteLogo(page) {
  let result = page;
  for (const url of REMOTE_LOGO_URLS) {
    const count = result.split(url).length - 1;
    if (count !== 1) {
      throw new Error(`${pagePath}: expected the logo URL ${url} once, found it ${count} times`);
    }
    result = result.replace(url, LOCAL_LOGO);
  }
  return result;
}

/** Throws unless the page turns telemetry off and loads no script, style or font from elsewhere. */
function checkSelfContained(page) {
  if (!page.includes('"disableTelemetry":true')) {
    throw new Error(`${pagePath}: Redoc telemetry is not disabled; run with REDOCLY_TELEMETRY=off`);
  }
  if (/<link\b/i.test(page.slice(0, page.indexOf('<body')))) {
    throw new Error(`${pagePath}: the page links a resource; build with --inlineBundle`);
  }
  if (page.includes('fonts.googleapis.com') || page.includes('fonts.gstatic.com')) {
    throw new Error(`${pagePath}: the page loads Google Fonts`);
  }
}

/**
 * Splits the page into the contents of its <script> and <style> elements and the
 * markup around them. Redoc escapes `</script` inside its inline script, so the
 * first closing tag after an opening tag ends the element.
 */
function splitRawText(page) {
  const scripts = [];
  const styles = [];
  const markup = [];
  const openingTag = /<(script|style)\b([^>]*)>/gi;
  let markupStart = 0;
  let match = openingTag.exec(page);

  while (match !== null) {
    const tag = match[1].toLowerCase();
    if (/\bsrc\s*=/i.test(match[2])) {
      throw new Error(`${pagePath}: a <script> element loads an external file`);
    }
    const contentStart = openingTag.lastIndex;
    const closing = new RegExp(`</${tag}`, 'gi');
    closing.lastIndex = contentStart;
    const end = closing.exec(page);
    if (end === null) {
      throw new Error(`${pagePath}: a <${tag}> element is not closed`);
    }

    markup.push(page.slice(markupStart, match.index));
    (tag === 'script' ? scripts : styles).push(page.slice(contentStart, end.index));
    markupStart = end.index;
    openingTag.lastIndex = end.index;
    match = openingTag.exec(page);
  }

  markup.push(page.slice(markupStart));
  return { scripts, styles, markup: markup.join('') };
}

/** Returns the decoded values of the `style` attributes of every tag in the markup. */
function styleAttributes(markup) {
  const values = [];
  for (const [tag] of markup.matchAll(/<[a-zA-Z][^>]*>/g)) {
    for (const [, value] of tag.matchAll(/\sstyle="([^"]*)"/g)) {
      values.push(decodeEntities(value));
    }
  }
  return values;
}

/** Decodes the character references that React writes in attribute values. */
function decodeEntities(text) {
  const named = { amp: '&', quot: '"', lt: '<', gt: '>', apos: "'" };
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (reference, name) => {
    if (name.startsWith('#x')) {
      return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    }
    if (name.startsWith('#')) {
      return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    }
    return named[name] ?? reference;
  });
}

/** Returns the CSP hash source (`'sha256-…'`) of a text, as browsers hash it: its UTF-8 bytes. */
function hashSource(text) {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function uniqueSorted(values) {
  return [...new Set(values)].sort();
}
