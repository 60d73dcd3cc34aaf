import type { InvalidParam, Problem } from './schemas.js';

/** The media type of RFC 9457 problem details in JSON. */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** How many characters of a body that is not problem details are quoted in the detail. */
const BODY_EXCERPT_LENGTH = 120;

/**
 * Builds the problem details of a failed response from the body openapi-fetch returned as
 * `error`: the parsed JSON, the raw text when it was not JSON, or `undefined` for an empty body.
 *
 * A JSON object served as `application/problem+json` is kept, with its extension members. A
 * required member that is missing or of the wrong type is filled in from the HTTP status, and
 * `errors` entries without a string `detail` are dropped. Any other body, such as a proxy's HTML
 * page, becomes an `about:blank` problem (RFC 9457 section 4.2.1) whose detail gives the status,
 * the content type and the start of the body.
 *
 * @param body - the `error` member of an openapi-fetch result.
 * @param response - the response it came from.
 * @returns problem details; `status` is the problem's own, or the response's if it has none.
 */
export function problemFromResponse(body: unknown, response: Response): Problem {
  const mediaType = mediaTypeOf(response);

  if (mediaType === PROBLEM_MEDIA_TYPE && isJsonObject(body)) {
    return completeProblem(body, response);
  }

  return describeUnexpectedBody(body, mediaType, response);
}

/** Returns the media type of a response in lower case, without parameters, or `undefined`. */
export function mediaTypeOf(response: Response): string | undefined {
  const contentType = response.headers.get('Content-Type');
  if (contentType === null) {
    return undefined;
  }

  const essence = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return essence === '' ? undefined : essence;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function completeProblem(body: Record<string, unknown>, response: Response): Problem {
  const { type, title, status, detail, instance, errors, existing_public_key, ...extensions } =
    body;

  const problem: Problem = {
    ...extensions,
    type: typeof type === 'string' ? type : 'about:blank',
    title: typeof title === 'string' ? title : statusTitle(response),
    status: typeof status === 'number' && Number.isInteger(status) ? status : response.status,
    detail: typeof detail === 'string' ? detail : '',
  };

  if (typeof instance === 'string') {
    problem.instance = instance;
  }
  if (errors !== undefined) {
    problem.errors = Array.isArray(errors) ? errors.filter(isInvalidParam) : [];
  }
  if (typeof existing_public_key === 'string') {
    problem.existing_public_key = existing_public_key;
  }

  return problem;
}

function isInvalidParam(value: unknown): value is InvalidParam {
  if (!isJsonObject(value) || typeof value.detail !== 'string') {
    return false;
  }

  return ['pointer', 'parameter', 'header'].every(
    (key) => value[key] === undefined || typeof value[key] === 'string',
  );
}

function describeUnexpectedBody(
  body: unknown,
  mediaType: string | undefined,
  response: Response,
): Problem {
  let text = '';
  if (typeof body === 'string') {
    text = body;
  } else if (body !== undefined) {
    text = JSON.stringify(body);
  }
  const excerpt = bodyExcerpt(text);

  let bodyDescription = `a body of type ${mediaType}`;
  if (excerpt === '') {
    bodyDescription = 'an empty body';
  } else if (mediaType === undefined) {
    bodyDescription = 'a body without Content-Type';
  } else if (mediaType === PROBLEM_MEDIA_TYPE) {
    bodyDescription = `an ${PROBLEM_MEDIA_TYPE} body that is not a JSON object`;
  }

  let detail =
    `The server responded ${response.status} with ${bodyDescription} instead of ` +
    `${PROBLEM_MEDIA_TYPE}, ` +
    'so a proxy or gateway may have answered in place of the API.';
  if (excerpt !== '') {
    detail += ` Body: ${excerpt}`;
  }

  return { type: 'about:blank', title: statusTitle(response), status: response.status, detail };
}

/**
 * Returns the start of a body for an error message: whitespace runs become one space, and a
 * text over 120 characters is cut and ends in `…`.
 */
export function bodyExcerpt(text: string): string {
  const excerpt = text.replace(/\s+/g, ' ').trim();
  return excerpt.length > BODY_EXCERPT_LENGTH
    ? `${excerpt.slice(0, BODY_EXCERPT_LENGTH)}…`
    : excerpt;
}

/** Returns the reason phrase, or the status class when there is none (HTTP/2 sends no phrase). */
function statusTitle(response: Response): string {
  if (response.statusText !== '') {
    return response.statusText;
  }

  return response.status >= 500 ? 'Server error' : 'Client error';
}
