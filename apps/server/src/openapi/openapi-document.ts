import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** A JSON Schema (2020-12) object as it appears in the OpenAPI document. */
export type JsonSchema = { [keyword: string]: unknown };

/** An OpenAPI parameter object, or a `$ref` to one. */
export interface ParameterObject {
  $ref?: string;
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: JsonSchema;
}

/** An OpenAPI media type object. */
export interface MediaTypeObject {
  schema?: JsonSchema;
}

/** An OpenAPI response object, or a `$ref` to one. */
export interface ResponseObject {
  $ref?: string;
  content?: Record<string, MediaTypeObject>;
}

/** An OpenAPI operation object, with the fields the server reads. */
export interface OperationObject {
  operationId: string;
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content: Record<string, MediaTypeObject> };
  responses: Record<string, ResponseObject>;
}

/** The OpenAPI 3.1 document, with the fields the server reads. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OperationObject | unknown>>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters?: Record<string, ParameterObject>;
    responses?: Record<string, ResponseObject>;
  };
}

/** HTTP methods an OpenAPI path item can hold operations for. */
export const OPERATION_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/**
 * Reads the bundled API description, `@provisions/openapi/openapi.json`, which the
 * `@provisions/openapi` build writes from `openapi.yaml`.
 *
 * @throws Error when the file is missing (build `@provisions/openapi` first) or is not OpenAPI 3.1.
 */
export async function loadOpenApiDocument(): Promise<OpenApiDocument> {
  const path = fileURLToPath(import.meta.resolve('@provisions/openapi/openapi.json'));
  const document = JSON.parse(await readFile(path, 'utf8')) as OpenApiDocument;

  if (typeof document.openapi !== 'string' || !document.openapi.startsWith('3.1.')) {
    throw new Error(`${path}: expected an OpenAPI 3.1 document, found version ${document.openapi}`);
  }
  return document;
}

/**
 * Follows a local reference such as `#/components/parameters/BoxId` inside the document.
 *
 * @throws Error when the reference is not local or points at nothing.
 */
export function resolveLocalReference<T>(document: OpenApiDocument, reference: string): T {
  if (!reference.startsWith('#/')) {
    throw new Error(`OpenAPI reference ${reference}: only local references are supported`);
  }

  let target: unknown = document;
  for (const segment of reference.slice(2).split('/')) {
    const key = segment.replaceAll('~1', '/').replaceAll('~0', '~');
    target = (target as Record<string, unknown> | undefined)?.[key];
  }
  if (target === undefined) {
    throw new Error(`OpenAPI reference ${reference} points at nothing`);
  }
  return target as T;
}

/** Returns `value` itself, or the object its `$ref` points at. */
export function dereference<T extends { $ref?: string }>(document: OpenApiDocument, value: T): T {
  return value.$ref === undefined ? value : resolveLocalReference<T>(document, value.$ref);
}
