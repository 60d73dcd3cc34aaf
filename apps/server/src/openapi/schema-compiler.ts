import { Ajv2020, type ErrorObject, type Options, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import type { JsonSchema, OpenApiDocument } from './openapi-document.js';

/** `$id` under which the document's `components.schemas` are registered with Ajv. */
const COMPONENTS_ID = 'urn:provisions:openapi:components';
const COMPONENT_REFERENCE_PREFIX = '#/components/schemas/';

/** Kind of data a schema validates; each kind has its own Ajv instance. */
export type SchemaTarget = 'body' | 'parameters' | 'response';

/**
 * Keyword that {@link SchemaCompiler} adds next to `format: uuid` in request schemas.
 * It lower-cases the string in place, because UUIDs are case-insensitive on input
 * (RFC 9562, section 4) and the server stores and compares them in lower case.
 */
const LOWERCASE_KEYWORD = 'x-lowercase';

/**
 * Compiles JSON Schema 2020-12 schemas taken from the OpenAPI document with Ajv,
 * resolving `#/components/schemas/...` references against the document's components.
 *
 * Three Ajv instances share the components: request bodies (no type coercion),
 * path, query and header parameters (strings coerced to the declared type, and
 * `default` values filled in) and responses (no coercion). All collect every
 * error and keep the failing schema in each error, so messages can quote its
 * `description`. In request bodies and parameters, a string of `format: uuid` that
 * passes its schema is lower-cased in place, so every handler gets ids in the case
 * the database stores.
 */
export class SchemaCompiler {
  readonly #instances: Record<SchemaTarget, Ajv2020>;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(document: OpenApiDocument) {
    const create = (target: SchemaTarget, options: Options) => {
      const ajv = new Ajv2020({
        allErrors: true,
        verbose: true,
        discriminator: true,
        allowUnionTypes: true,
        strictTypes: false,
        ...options,
      });
      ajvFormats.default(ajv);
      addLowercaseKeyword(ajv);
      ajv.addSchema({
        $id: COMPONENTS_ID,
        $defs: rewriteReferences(document.components.schemas, target),
      });
      return ajv;
    };

    this.#instances = {
      body: create('body', { coerceTypes: false, useDefaults: false }),
      parameters: create('parameters', { coerceTypes: 'array', useDefaults: true }),
      response: create('response', { coerceTypes: false, useDefaults: false }),
    };
  }

  /**
   * Compiles a schema from the document (inline or a `$ref`) for one kind of data.
   *
   * @throws Error when the schema is not valid JSON Schema 2020-12 or uses an unknown keyword.
   */
  compile(schema: JsonSchema, target: SchemaTarget): ValidateFunction {
    // Many routes share a schema, such as every Problem response; compile each once.
    const cacheKey = `${target} ${JSON.stringify(schema)}`;
    let validate = this.#compiled.get(cacheKey);
    if (validate === undefined) {
      validate = this.#instances[target].compile(rewriteReferences(schema, target));
      this.#compiled.set(cacheKey, validate);
    }
    return validate;
  }
}

/** One Ajv validation error, as compiled functions report them. */
export type SchemaError = ErrorObject;

/**
 * Registers {@link LOWERCASE_KEYWORD}. Ajv 8 runs a keyword of one type after the
 * keywords added before it, so `pattern` and `format` still see the value as sent.
 */
function addLowercaseKeyword(ajv: Ajv2020): void {
  ajv.addKeyword({
    keyword: LOWERCASE_KEYWORD,
    type: 'string',
    schemaType: 'boolean',
    modifying: true,
    errors: false,
    validate: (enabled: boolean, data: string, _parentSchema, dataContext) => {
      const lowered = data.toLowerCase();
      // A UUID is always a property or an item, so the parent is there to write to.
      if (enabled && lowered !== data && dataContext !== undefined) {
        const parent = dataContext.parentData as Record<string | number, unknown>;
        parent[dataContext.parentDataProperty] = lowered;
      }
      return true;
    },
  });
}

/**
 * Copies a schema, pointing component references at the Ajv registration and, in
 * request schemas, adding {@link LOWERCASE_KEYWORD} next to `format: uuid`.
 *
 * NOTE: Ajv's `discriminator` keyword (Ajv 8.20) rejects `mapping`. The document's mappings
 * repeat each branch's `const`, so they are dropped here.
 */
function rewriteReferences<T>(value: T, target: SchemaTarget): T {
  if (Array.isArray(value)) {
    return value.map((item) => rewriteReferences(item, target)) as T;
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }

  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === '$ref' && typeof child === 'string') {
      copy[key] = rewriteReference(child);
    } else if (key === 'discriminator' && child !== null && typeof child === 'object') {
      const { mapping: _mapping, ...rest } = child as Record<string, unknown>;
      copy[key] = rest;
    } else {
      copy[key] = rewriteReferences(child, target);
    }
  }
  if (target !== 'response' && copy.format === 'uuid') {
    copy[LOWERCASE_KEYWORD] = true;
  }
  return copy as T;
}

function rewriteReference(reference: string): string {
  if (!reference.startsWith(COMPONENT_REFERENCE_PREFIX)) {
    throw new Error(`schema reference ${reference}: expected ${COMPONENT_REFERENCE_PREFIX}<name>`);
  }
  return `${COMPONENTS_ID}#/$defs/${reference.slice(COMPONENT_REFERENCE_PREFIX.length)}`;
}
