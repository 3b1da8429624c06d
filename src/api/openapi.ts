/**
 * The OpenAPI 3.1 document, built from the route table: every route with its parameters and body
 * (JSON Schema from the zod schemas, as the client sends them) and its role in `x-sluice-role`.
 * Response bodies are described by prose, not schemas (see each summary).
 */
import { z } from 'zod';
import type { AnyRoute } from './route.ts';

type Json = Record<string, unknown>;

function jsonSchema(s: z.ZodType): Json {
  const { $schema: _s, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

function parameters(r: AnyRoute): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ['path', r.params],
    ['query', r.query],
  ] as const) {
    if (!schema) continue;
    const js = jsonSchema(schema) as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, prop] of Object.entries(js.properties ?? {})) {
      const { description, ...rest } = prop;
      out.push({
        name,
        in: where,
        required: where === 'path' || (js.required ?? []).includes(name),
        ...(description ? { description } : {}),
        schema: rest,
      });
    }
  }
  return out;
}

const errorRef = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

function operation(r: AnyRoute): Json {
  const responses: Json = {
    [r.success ?? 200]: {
      description: r.summary,
      content: { [r.produces ?? 'application/json']: {} },
    },
    400: errorRef('invalid input; `field` names the parameter or body field'),
  };
  if (r.role !== 'public') {
    responses[401] = errorRef('no valid session or token');
    responses[403] = errorRef(`the caller's role is below ${r.role}, or a session write lacks X-CSRF-Token`);
  }
  if (r.params) responses[404] = errorRef('no such item');
  const op: Json = {
    operationId: `${r.method.toLowerCase()}${r.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ?? '').toUpperCase())}`,
    summary: r.summary,
    tags: [r.tag],
    'x-sluice-role': r.role,
    parameters: parameters(r),
    responses,
    security: r.role === 'public' ? [] : [{ session: [] }, { token: [] }],
  };
  if (r.description) op.description = r.description;
  if (r.body)
    op.requestBody = {
      required: !r.body.safeParse(undefined).success,
      content: { 'application/json': { schema: jsonSchema(r.body) } },
    };
  return op;
}

export function openApiDocument(routes: readonly AnyRoute[], version: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path]![r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice API',
      version,
      description:
        'Roles: viewer < operator < admin; each route names its role in `x-sluice-role`. Log in with POST /api/login (session cookie; writes need the X-CSRF-Token header) or send `Authorization: Bearer <token>`. Errors: {code, message, hint?, field?}.',
    },
    paths,
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'sluice_session' },
        token: { type: 'http', scheme: 'bearer' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string' },
            message: { type: 'string' },
            hint: { type: 'string' },
            field: { type: 'string' },
          },
        },
      },
    },
  };
}
