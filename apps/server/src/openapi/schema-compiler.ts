import { Ajv2020, type ErrorObject, type Options, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import type { JsonSchema, OpenApiDocument } from './openapi-document.js';

/** `$id` under which the document's `components.schemas` are registered with Ajv. */
const COMPONENTS_ID = 'urn:provisions:openapi:components';
const COMPONENT_REFERENCE_PREFIX = '#/components/schemas/';

/** Kind of data a schema validates; each kind has its own Ajv instance. */
export type SchemaTarget = 'body' | 'parameters' | 'response';

/**
 * Compiles JSON Schema 2020-12 schemas taken from the OpenAPI document with Ajv,
 * resolving `#/components/schemas/...` references against the document's components.
 *
 * Three Ajv instances share the components: request bodies (no type coercion),
 * path, query and header parameters (strings coerced to the declared type, and
 * `default` values filled in) and responses (no coercion). All collect every
 * error and keep the failing schema in each error, so messages can quote its
 * `description`.
 */
export class SchemaCompiler {
  readonly #instances: Record<SchemaTarget, Ajv2020>;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor(document: OpenApiDocument) {
    const components = {
      $id: COMPONENTS_ID,
      $defs: rewriteReferences(document.components.schemas),
    };
    const create = (options: Options) => {
      const ajv = new Ajv2020({
        allErrors: true,
        verbose: true,
        discriminator: true,
        allowUnionTypes: true,
        strictTypes: false,
        ...options,
      });
      ajvFormats.default(ajv);
      ajv.addSchema(components);
      return ajv;
    };

    this.#instances = {
      body: create({ coerceTypes: false, useDefaults: false }),
      parameters: create({ coerceTypes: 'array', useDefaults: true }),
      response: create({ coerceTypes: false, useDefaults: false }),
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
      validate = this.#instances[target].compile(rewriteReferences(schema));
      this.#compiled.set(cacheKey, validate);
    }
    return validate;
  }
}

/** One Ajv validation error, as compiled functions report them. */
export type SchemaError = ErrorObject;

/**
 * Copies a schema, pointing component references at the Ajv registration.
 *
 * NOTE: Ajv's `discriminator` keyword (Ajv 8.20) rejects `mapping`. The document's mappings
 * repeat each branch's `const`, so they are dropped here.
 */
function rewriteReferences<T>(value: T): T {
  if (Array.isArray(value)) {
    return value.map((item) => rewriteReferences(item)) as T;
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
      copy[key] = rewriteReferences(child);
    }
  }
  return copy as T;
}

function rewriteReference(reference: string): string {
  if (!reference.startsWith(COMPONENT_REFERENCE_PREFIX)) {
    throw new Error(`schema reference ${reference}: expected ${COMPONENT_REFERENCE_PREFIX}<name>`);
  }
  return `${COMPONENTS_ID}#/$defs/${reference.slice(COMPONENT_REFERENCE_PREFIX.length)}`;
}
