import type { SchemaError } from '../openapi/schema-compiler.js';
import type { InvalidParam } from './http-problem.js';
import { parseJsonPointer, toJsonPointer } from './json-pointer.js';

/** The part of a request that failed its schema, as Fastify names it. */
export type RequestPart = 'body' | 'params' | 'querystring' | 'headers';

// Keywords whose failing schema's `description` states what was expected.
const DESCRIBED_KEYWORDS = new Set(['pattern', 'minLength', 'maxLength', 'format', 'type']);

// Keywords that only wrap the errors of their subschemas, which are more precise.
const WRAPPER_KEYWORDS = new Set(['propertyNames', 'oneOf', 'anyOf', 'allOf', 'if']);

/**
 * Turns Ajv errors for one request part into `errors` entries: a JSON Pointer into
 * the body, a path or query parameter name, or a header name. Details state what
 * was expected and never contain the rejected value.
 *
 * @param headerNames - Header names as the API description spells them, by lower-case name.
 */
export function toInvalidParams(
  errors: readonly SchemaError[],
  part: RequestPart,
  headerNames: Record<string, string> = {},
): InvalidParam[] {
  const specific = errors.filter((error) => !WRAPPER_KEYWORDS.has(error.keyword));
  const selected = specific.length > 0 ? specific : errors;

  // A value that is too short usually fails its pattern and format too, and one that
  // fails its pattern often fails its format. Only the most precise error at a place is
  // kept: a length error, else a pattern error (its schema describes the form), else format.
  const placeOf = (error: SchemaError) => `${error.instancePath}|${error.propertyName ?? ''}`;
  const placesWith = (keywords: readonly string[]) =>
    new Set(selected.filter((error) => keywords.includes(error.keyword)).map(placeOf));
  const lengthPlaces = placesWith(['minLength', 'maxLength']);
  const patternPlaces = placesWith(['pattern']);
  const informative = selected.filter((error) => {
    if (error.keyword === 'pattern') {
      return !lengthPlaces.has(placeOf(error));
    }
    if (error.keyword === 'format') {
      return !lengthPlaces.has(placeOf(error)) && !patternPlaces.has(placeOf(error));
    }
    return true;
  });

  const entries: InvalidParam[] = [];
  const seen = new Set<string>();
  for (const error of informative) {
    const entry = toInvalidParam(error, part, headerNames);
    const identity = JSON.stringify(entry);
    if (!seen.has(identity)) {
      seen.add(identity);
      entries.push(entry);
    }
  }
  return entries;
}

function toInvalidParam(
  error: SchemaError,
  part: RequestPart,
  headerNames: Record<string, string>,
): InvalidParam {
  const segments = parseJsonPointer(error.instancePath);
  let detail = `must satisfy ${error.keyword}`;

  if (error.keyword === 'required') {
    segments.push(String(error.params.missingProperty));
    detail = 'is required';
  } else if (error.keyword === 'additionalProperties') {
    segments.push(String(error.params.additionalProperty));
    detail = part === 'body' ? 'is not a known field' : 'is not a known parameter';
  } else if (error.keyword === 'discriminator') {
    segments.push(String(error.params.tag));
    detail = 'must be one of the types this operation accepts';
  } else if (error.keyword === 'const') {
    detail = `must be ${JSON.stringify(error.params.allowedValue)}`;
  } else if (error.keyword === 'enum') {
    const allowed = (error.params.allowedValues as unknown[]).map((value) => JSON.stringify(value));
    detail = `must be one of ${allowed.join(', ')}`;
  } else {
    if (error.propertyName !== undefined) {
      segments.push(error.propertyName);
    }
    detail = withExpectation(error);
  }

  if (error.propertyName !== undefined) {
    detail = `key ${detail}`;
  }
  return locate(segments, detail, part, headerNames);
}

function withExpectation(error: SchemaError): string {
  const message = error.message ?? `must satisfy ${error.keyword}`;
  const description = (error.parentSchema as { description?: unknown } | undefined)?.description;

  if (!DESCRIBED_KEYWORDS.has(error.keyword) || typeof description !== 'string') {
    return message;
  }
  const expected = description.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  const lowered = `${expected.charAt(0).toLowerCase()}${expected.slice(1)}`;

  // The schema's description is clearer to a caller than its regular expression.
  if (error.keyword === 'pattern') {
    return `is invalid; expected ${lowered}`;
  }
  return `${message}; expected ${lowered}`;
}

function locate(
  segments: string[],
  detail: string,
  part: RequestPart,
  headerNames: Record<string, string>,
): InvalidParam {
  if (part === 'body') {
    return { pointer: toJsonPointer(segments), detail };
  }

  const name = segments[0] ?? '';
  if (part === 'headers') {
    return { header: headerNames[name] ?? name, detail };
  }
  return { parameter: name, detail };
}
