import type { FastifyInstance } from 'fastify';
import { HttpProblem } from '../errors/http-problem.js';
import { toJsonPointer } from '../errors/json-pointer.js';
import { findDuplicateKey } from './json-duplicate-keys.js';

const JSON_MEDIA_TYPE = 'application/json';

/**
 * Replaces Fastify's JSON body parser with a stricter one. It rejects bytes that
 * are not valid UTF-8, which the default replaces with U+FFFD and so changes the
 * data, and a charset other than UTF-8. It names `__proto__` and `constructor`
 * keys, which the default reports as invalid JSON, and a key repeated in one object,
 * which the default accepts with the last value. Parsing itself stays Fastify's, so
 * prototype poisoning is still rejected.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

  app.removeContentTypeParser(JSON_MEDIA_TYPE);
  app.addContentTypeParser(JSON_MEDIA_TYPE, { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '');
    if (charset?.[1] !== undefined && charset[1].toLowerCase() !== 'utf-8') {
      done(
        new HttpProblem('unsupportedMediaType', 'send the request body as UTF-8 JSON', {
          errors: [{ header: 'Content-Type', detail: 'must have no charset or charset=utf-8' }],
        }),
      );
      return;
    }

    let text: string;
    try {
      text = decoder.decode(body as Buffer);
    } catch {
      done(
        new HttpProblem('malformedRequest', 'the request body is not valid UTF-8', {
          errors: [{ pointer: '', detail: 'is not valid UTF-8; expected UTF-8 JSON' }],
        }),
      );
      return;
    }

    parseJson(request, text, (error, value) => {
      if (error === null) {
        done(duplicateKeyProblem(text) ?? null, value);
        return;
      }
      if ((error as { code?: string }).code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
        done(error, value);
        return;
      }

      // The parser's own message may quote part of the body, so it is not passed on.
      const problem = isValidJson(text)
        ? new HttpProblem(
            'malformedRequest',
            'the request body contains a "__proto__" or "constructor" key, which the server does not accept',
            {
              errors: [
                { pointer: '', detail: 'must not contain "__proto__" or "constructor" keys' },
              ],
            },
          )
        : new HttpProblem('malformedRequest', 'the request body is not valid JSON', {
            errors: [{ pointer: '', detail: 'is not valid JSON; expected a JSON object' }],
          });
      done(problem);
    });
  });
}

/** Returns the problem for a key repeated in one object of the body, if there is one. */
function duplicateKeyProblem(text: string): HttpProblem | undefined {
  const path = findDuplicateKey(text);
  if (path === undefined) {
    return undefined;
  }

  const key = path.at(-1) ?? '';
  return new HttpProblem(
    'malformedRequest',
    `the request body repeats the key ${JSON.stringify(key)} in one object; send each key once`,
    { errors: [{ pointer: toJsonPointer(path), detail: 'is a repeated key in its object' }] },
  );
}

function isValidJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
