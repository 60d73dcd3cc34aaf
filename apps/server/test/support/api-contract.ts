import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';

interface ResponseDefinition {
  $ref?: string;
  content?: Record<string, { schema: unknown }>;
}

interface Operation {
  method: string;
  pattern: RegExp;
  template: string;
  responses: Record<string, ResponseDefinition>;
}

const DOCUMENT_ID = 'urn:test:openapi';

/**
 * Checks HTTP responses against the OpenAPI description, independently of the
 * server's own schema handling. The whole document is registered with Ajv as one
 * schema. Each response body is validated against the schema of its operation,
 * status and media type.
 */
export class ApiContract {
  readonly document: {
    paths: Record<string, Record<string, { responses: Record<string, ResponseDefinition> }>>;
  };
  readonly #ajv: Ajv2020;
  readonly #operations: Operation[] = [];
  readonly #validators = new Map<string, ValidateFunction>();
  /** Number of responses checked, so tests can tell the check ran. */
  checkedResponses = 0;

  constructor() {
    const path = fileURLToPath(import.meta.resolve('@provisions/openapi/openapi.json'));
    this.document = JSON.parse(readFileSync(path, 'utf8'));
    this.#ajv = new Ajv2020({ strict: false, allErrors: true });
    ajvFormats.default(this.#ajv);
    this.#ajv.addSchema({ ...this.document, $id: DOCUMENT_ID });

    for (const [template, item] of Object.entries(this.document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const source = template.replace(/\{[^}]+\}/g, '[^/]+');
        this.#operations.push({
          method: method.toUpperCase(),
          pattern: new RegExp(`^${source}$`),
          template,
          responses: operation.responses,
        });
      }
    }
  }

  /** Validates a value against `#/components/schemas/<name>`; returns Ajv's errors or null. */
  validateSchema(name: string, value: unknown): string | null {
    const validate = this.#validatorFor(`#/components/schemas/${name}`);
    return validate(value) ? null : this.#ajv.errorsText(validate.errors);
  }

  /**
   * Throws unless the response matches the description: its status is declared for
   * the operation, its media type is declared for that status, and its body matches
   * the schema (or is empty when no content is declared). A request that matches no
   * operation must get a 404 problem on an unknown path, an empty 204 for `OPTIONS` on a
   * known path, and a 405 problem for another method there.
   *
   * A `HEAD` request is checked against the `GET` operation of its path, as RFC 9110
   * section 9.3.2 defines it: the status and media type must be declared there, and the
   * body must be empty.
   */
  async check(method: string, url: string, response: Response): Promise<void> {
    const path = new URL(url).pathname;
    const where = `${method} ${path} -> ${response.status}`;
    const operationMethod = method === 'HEAD' ? 'GET' : method;
    const operation = this.#operations.find(
      (candidate) => candidate.method === operationMethod && candidate.pattern.test(path),
    );
    const text = await response.text();
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    this.checkedResponses += 1;

    let declared: ResponseDefinition | undefined;
    if (operation === undefined) {
      const pathExists = this.#operations.some((candidate) => candidate.pattern.test(path));
      let expected = 404;
      if (pathExists) {
        expected = method === 'OPTIONS' ? 204 : 405;
      }
      if (response.status !== expected) {
        throw new Error(`${where}: no operation matches, expected a ${expected} response`);
      }
      declared =
        expected === 204
          ? {}
          : {
              content: {
                'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
              },
            };
    } else {
      declared = operation.responses[String(response.status)];
      if (declared === undefined) {
        throw new Error(
          `${where}: status not declared for ${operationMethod} ${operation.template}`,
        );
      }
      if (declared.$ref !== undefined) {
        declared = this.#resolve(declared.$ref) as ResponseDefinition;
      }
    }

    if (declared.content === undefined || method === 'HEAD') {
      if (text !== '') {
        throw new Error(`${where}: expected an empty body, got ${text.length} characters`);
      }
    }
    if (declared.content === undefined) {
      return;
    }

    const media = declared.content[mediaType];
    if (media === undefined) {
      throw new Error(`${where}: media type "${mediaType}" not declared`);
    }
    if (method === 'HEAD') {
      return;
    }
    const validate = this.#validatorFor(media.schema);
    const body = JSON.parse(text);
    if (!validate(body)) {
      throw new Error(
        `${where}: body does not match the schema: ${this.#ajv.errorsText(validate.errors)}`,
      );
    }
  }

  /** A `fetch` that checks every response with {@link check} before returning it. */
  readonly fetch = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const response = await globalThis.fetch(request);
    await this.check(request.method, request.url, response.clone());
    return response;
  };

  #validatorFor(schema: unknown): ValidateFunction {
    const wrapped =
      typeof schema === 'string'
        ? { $ref: `${DOCUMENT_ID}${schema}` }
        : rewriteLocalReferences(schema);
    const key = JSON.stringify(wrapped);
    let validate = this.#validators.get(key);
    if (validate === undefined) {
      validate = this.#ajv.compile(wrapped as object);
      this.#validators.set(key, validate);
    }
    return validate;
  }

  #resolve(reference: string): unknown {
    let target: unknown = this.document;
    for (const segment of reference.slice(2).split('/')) {
      target = (target as Record<string, unknown>)[segment];
    }
    return target;
  }
}

function rewriteLocalReferences(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(rewriteLocalReferences);
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) =>
      key === '$ref' && typeof child === 'string' && child.startsWith('#')
        ? [key, `${DOCUMENT_ID}${child}`]
        : [key, rewriteLocalReferences(child)],
    ),
  );
}
