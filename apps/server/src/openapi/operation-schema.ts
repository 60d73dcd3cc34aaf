import {
  dereference,
  type JsonSchema,
  OPERATION_METHODS,
  type OpenApiDocument,
  type OperationObject,
  type ParameterObject,
} from './openapi-document.js';

/** HTTP method of an operation, in upper case as Fastify expects. */
export type OperationMethod = Uppercase<(typeof OPERATION_METHODS)[number]>;

/** Schemas of one operation in the shape Fastify's `schema` route option takes. */
export interface FastifyRouteSchema {
  body?: JsonSchema;
  params?: JsonSchema;
  querystring?: JsonSchema;
  headers?: JsonSchema;
  response: Record<string, { content: Record<string, { schema: JsonSchema }> }>;
}

/** One operation of the document, ready to register as a route. */
export interface OperationDefinition {
  operationId: string;
  method: OperationMethod;
  /** Path as written in the document, such as `/boxes/{id}`. */
  path: string;
  /** Media types the request body may have; empty when the operation takes no body. */
  requestContentTypes: string[];
  /** Header parameter names as the document spells them, by lower-case name. */
  headerNames: Record<string, string>;
  /** Names of the query parameters whose schema has type `integer`. */
  integerQueryParameters: string[];
  schema: FastifyRouteSchema;
}

/**
 * Lists every operation of the document with its Fastify route schema: the
 * request body schema, path, query and header parameters as object schemas, and
 * the response schemas by status and media type. Query objects reject unknown
 * parameters. Schemas are copied from the document, never written by hand.
 *
 * @throws Error when an operation has no `operationId` or uses an unsupported construct.
 */
export function listOperations(document: OpenApiDocument): OperationDefinition[] {
  const operations: OperationDefinition[] = [];

  for (const [path, pathItem] of Object.entries(document.paths)) {
    for (const method of OPERATION_METHODS) {
      const operation = pathItem[method] as OperationObject | undefined;
      if (operation === undefined) {
        continue;
      }
      if (typeof operation.operationId !== 'string') {
        throw new Error(`OpenAPI ${method.toUpperCase()} ${path} has no operationId`);
      }
      operations.push(defineOperation(document, path, method, operation));
    }
  }
  return operations;
}

function defineOperation(
  document: OpenApiDocument,
  path: string,
  method: (typeof OPERATION_METHODS)[number],
  operation: OperationObject,
): OperationDefinition {
  const parameters = (operation.parameters ?? []).map((parameter) =>
    dereference<ParameterObject>(document, parameter),
  );
  const schema: FastifyRouteSchema = { response: responseSchemas(document, operation) };

  const params = parameterSchema(parameters, 'path', true);
  if (params !== undefined) {
    schema.params = params;
  }
  const querystring = parameterSchema(parameters, 'query', false);
  if (querystring !== undefined) {
    schema.querystring = querystring;
  }
  const headers = parameterSchema(parameters, 'header', true);
  if (headers !== undefined) {
    schema.headers = headers;
  }

  const requestContent = operation.requestBody?.content ?? {};
  const bodySchemas = Object.values(requestContent).map((media) => media.schema);
  if (bodySchemas.length > 1) {
    throw new Error(`OpenAPI ${operation.operationId}: one request media type is supported`);
  }
  if (bodySchemas[0] !== undefined) {
    schema.body = bodySchemas[0];
  }

  const headerNames: Record<string, string> = {};
  for (const parameter of parameters.filter((candidate) => candidate.in === 'header')) {
    headerNames[parameter.name.toLowerCase()] = parameter.name;
  }

  const integerQueryParameters = parameters
    .filter((parameter) => parameter.in === 'query')
    .filter((parameter) => dereference<JsonSchema>(document, parameter.schema).type === 'integer')
    .map((parameter) => parameter.name);

  return {
    operationId: operation.operationId,
    method: method.toUpperCase() as OperationMethod,
    path,
    requestContentTypes: Object.keys(requestContent),
    headerNames,
    integerQueryParameters,
    schema,
  };
}

/**
 * Builds an object schema from the parameters found `in` one place. Header names
 * are lower-cased because Node.js stores received headers that way.
 */
function parameterSchema(
  parameters: ParameterObject[],
  location: ParameterObject['in'],
  allowUnknown: boolean,
): JsonSchema | undefined {
  const selected = parameters.filter((parameter) => parameter.in === location);
  if (selected.length === 0 && allowUnknown) {
    return undefined;
  }

  const name = (parameter: ParameterObject) =>
    location === 'header' ? parameter.name.toLowerCase() : parameter.name;
  return {
    type: 'object',
    properties: Object.fromEntries(
      selected.map((parameter) => [name(parameter), parameter.schema]),
    ),
    required: selected.filter((parameter) => parameter.required === true).map(name),
    additionalProperties: allowUnknown,
  };
}

function responseSchemas(
  document: OpenApiDocument,
  operation: OperationObject,
): FastifyRouteSchema['response'] {
  const responses: FastifyRouteSchema['response'] = {};

  for (const [status, response] of Object.entries(operation.responses)) {
    const content = dereference(document, response).content;
    if (content === undefined) {
      continue;
    }

    const byMediaType: Record<string, { schema: JsonSchema }> = {};
    for (const [mediaType, media] of Object.entries(content)) {
      if (media.schema !== undefined) {
        byMediaType[mediaType] = { schema: media.schema };
      }
    }
    responses[status] = { content: byMediaType };
  }
  return responses;
}
