import { z } from 'zod';
import { streamSchema } from '../config/index.ts';
import type { AnyRoute } from './route.ts';
import { openApiPath } from './route.ts';
import { silenceInputSchema } from '../notify/index.ts';
import { errorSchema, incidentPageSchema, incidentSchema, silenceSchema, streamViewSchema } from './schemas.ts';

type Json = Record<string, unknown>;

/** Named schemas go to components.schemas and are referenced with $ref. */
const COMPONENTS: readonly [string, z.ZodType, 'input' | 'output'][] = [
  ['StreamInput', streamSchema, 'input'],
  ['Stream', streamViewSchema, 'output'],
  ['Incident', incidentSchema, 'output'],
  ['IncidentPage', incidentPageSchema, 'output'],
  ['Error', errorSchema, 'output'],
  ['SilenceInput', silenceInputSchema, 'input'],
  ['Silence', silenceSchema, 'output'],
];

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete out.$schema;
  return out;
}

function schemaOrRef(schema: z.ZodType, io: 'input' | 'output'): Json {
  const named = COMPONENTS.find(([, s]) => s === schema);
  if (named) return { $ref: `#/components/schemas/${named[0]}` };
  if (schema instanceof z.ZodArray) {
    const element = schema.element as z.ZodType;
    const el = COMPONENTS.find(([, s]) => s === element);
    if (el) return { type: 'array', items: { $ref: `#/components/schemas/${el[0]}` } };
  }
  return jsonSchema(schema, io);
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const obj = jsonSchema(schema, 'input');
  const props = (obj.properties ?? {}) as Record<string, Json>;
  const required = new Set((obj.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

/** The OpenAPI 3.1 document of exactly the routes the server registers. */
export function buildOpenApiDocument(
  routes: readonly AnyRoute[],
  info: { version: string; authRequired: boolean },
): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const responses: Record<string, Json> = {};
    for (const [status, doc] of Object.entries(r.responses)) {
      const content = doc.schema
        ? { 'application/json': { schema: schemaOrRef(doc.schema, 'output') } }
        : doc.contentType
          ? { [doc.contentType]: { schema: { type: 'string' } } }
          : undefined;
      responses[status] = { description: doc.description, ...(content ? { content } : {}) };
    }
    const op: Json = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOrRef(r.body, 'input') } } } }
        : {}),
      responses,
      ...(r.auth ? { security: [{ bearer: [] }] } : {}),
    };
    (paths[openApiPath(r.url)] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Vigil API',
      version: info.version,
      description:
        'Operator API of the Vigil live A/V quality monitor. Mutating routes need `Authorization: Bearer <token>` ' +
        (info.authRequired
          ? '(a token is configured on this server).'
          : 'when a token is configured (none is on this server).'),
    },
    paths,
    components: {
      schemas: Object.fromEntries(COMPONENTS.map(([name, s, io]) => [name, jsonSchema(s, io)])),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  };
}
