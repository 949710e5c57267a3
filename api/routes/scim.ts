/**
 * /scim/v2: idflow as a SCIM 2.0 service provider (RFC 7644) for Okta, Entra ID and any other
 * client with a `scim` token. Bodies are application/scim+json (application/json too) up to
 * SCIM_BODY_LIMIT_BYTES; every answer, errors from the auth hook and Fastify included, is SCIM's
 * (scim/errors.ts). The protocol itself lives in scim/; this file only routes.
 */
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { JsonObject } from '../../core/json.js';
import { hasZodFastifySchemaValidationErrors, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import {
  DEFAULT_SCIM_SERVICE,
  scimServiceConfig,
  servedTokens,
  type ScimServiceConfig,
  type ScimServiceSpec,
} from '../../scim/document.js';
import { asScimError, ScimError, scimErrorBody } from '../../scim/errors.js';
import { ScimGroups } from '../../scim/groups.js';
import { listResponse, MAX_PAGE_SIZE, parseListQuery, parseProjection, type ListQuery } from '../../scim/resources.js';
import { LIST_RESPONSE_SCHEMA, resourceTypes, schemaResources, SEARCH_REQUEST_SCHEMA, serviceProviderConfig } from '../../scim/schemas.js';
import { ScimUsers, type ScimContext } from '../../scim/users.js';
import { formatBytes } from '../byte-size.js';
import { SCIM_ROUTES } from '../scopes.js';

/** Largest SCIM request body: a person is a few KiB; a group PUT of ~2,500 members fits. */
export const SCIM_BODY_LIMIT_BYTES = 256 * 1024;
const MEDIA_TYPE = 'application/scim+json; charset=utf-8';

const listQuery = z.object({
  filter: z.string().optional(),
  startIndex: z.coerce.number().int().optional(),
  count: z.coerce.number().int().optional(),
  attributes: z.string().max(4096).optional(),
  excludedAttributes: z.string().max(4096).optional(),
});
const projectionQuery = listQuery.pick({ attributes: true, excludedAttributes: true });
const byId = z.object({ id: z.string().min(1).max(1024) });

function sendError(request: FastifyRequest, reply: FastifyReply, error: FastifyError | Error): void {
  let scim = asScimError(error);
  if (!scim && hasZodFastifySchemaValidationErrors(error)) {
    const detail = error.validation
      .map((issue) => `${error.validationContext ?? 'body'}${issue.instancePath.replaceAll('/', '.')}: ${issue.message}`)
      .join('; ');
    scim = new ScimError(400, 'invalidValue', detail);
  }
  const status = (error as FastifyError).statusCode;
  if (!scim && status === 413)
    scim = new ScimError(413, undefined, `the body is larger than the SCIM service accepts (${formatBytes(SCIM_BODY_LIMIT_BYTES)})`);
  if (!scim && status === 415) scim = new ScimError(415, undefined, 'send the body as application/scim+json (or application/json)');
  if (!scim && status !== undefined && status >= 400 && status < 500) scim = new ScimError(400, 'invalidSyntax', error.message);
  if (!scim) {
    request.log.error({ err: error }, 'SCIM request failed');
    scim = new ScimError(500, undefined, 'internal error: see the API log');
  }
  void reply.status(scim.status).type(MEDIA_TYPE).send(scimErrorBody(scim));
}

/** Matches the paths of a SCIM_ROUTES entry (`GET /scim/v2/Users/:id`). */
const routePattern = (route: string): RegExp =>
  new RegExp(`^${(route.split(' ')[1] as string).replaceAll('.', '\\.').replace(/:\w+/g, '[^/]+')}/?$`);

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

function bodyOf(request: FastifyRequest): JsonObject {
  if (!isObject(request.body)) throw new ScimError(400, 'invalidSyntax', 'the body must be a JSON object');
  return request.body;
}

const ifMatch = (request: FastifyRequest): string | undefined => {
  const header = request.headers['if-match'];
  return Array.isArray(header) ? header.join(',') : header;
};

/** Sends a resource with its ETag (and Location when created). */
function sendResource(reply: FastifyReply, resource: JsonObject, status = 200): FastifyReply {
  const meta = resource.meta as JsonObject | undefined;
  if (typeof meta?.version === 'string') void reply.header('etag', meta.version);
  if (status === 201 && typeof meta?.location === 'string') void reply.header('location', meta.location);
  return reply.status(status).type(MEDIA_TYPE).send(resource);
}

export const scimRoutes: FastifyPluginAsync<{ engine: Engine }> = async (parent, { engine }) => {
  await parent.register(
    async (scim: FastifyInstance) => {
      const app = scim.withTypeProvider<ZodTypeProvider>();
      // Fastify's JSON parser (prototype poisoning refused), for both media types; an empty body (a DELETE sent with a content-type) is none.
      const parseJson = app.getDefaultJsonParser('error', 'error');
      app.removeContentTypeParser('application/json');
      app.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string' }, (request, body, done) =>
        body === '' ? done(null, undefined) : parseJson(request, body as string, done),
      );
      app.setErrorHandler((error: FastifyError, request, reply) => sendError(request, reply, error));
      app.setNotFoundHandler((request, reply) => {
        // A known endpoint asked with a method it does not take is a 405 (RFC 7644 §3.12), naming those it takes.
        const path = request.url.split('?')[0] ?? '';
        const allowed = SCIM_ROUTES.filter((route) => routePattern(route).test(path)).map((route) => route.split(' ')[0] as string);
        if (allowed.length === 0)
          return sendError(request, reply, new ScimError(404, undefined, `no SCIM endpoint ${request.method} ${path}`));
        void reply.header('allow', allowed.join(', '));
        sendError(request, reply, new ScimError(405, undefined, `${request.method} ${path} is not supported: use ${allowed.join(' or ')}`));
      });

      /** The ScimService document serving the request's token, or the defaults. */
      const configFor = async (request: FastifyRequest): Promise<ScimServiceConfig> => {
        const name = request.token?.name;
        const documents = await engine.store.definitions.list('ScimService');
        // Listed by name: a token two documents name is served by the first.
        const serving = documents.find(
          (d) => d.enabled && name !== undefined && servedTokens(d.spec as unknown as ScimServiceSpec).includes(name),
        );
        return serving ? scimServiceConfig(serving.spec as unknown as ScimServiceSpec) : DEFAULT_SCIM_SERVICE;
      };
      const baseOf = (request: FastifyRequest): string => `${request.protocol}://${request.host}/scim/v2`;
      const contextOf = async (request: FastifyRequest): Promise<ScimContext> => ({
        directory: engine.directory,
        config: await configFor(request),
        base: baseOf(request),
      });
      const users = async (request: FastifyRequest) => new ScimUsers(await contextOf(request));
      const groups = async (request: FastifyRequest) => new ScimGroups(await contextOf(request));
      const json = (reply: FastifyReply, body: JsonObject) => reply.type(MEDIA_TYPE).send(body);
      const listOf = (resources: JsonObject[]): JsonObject => ({
        schemas: [LIST_RESPONSE_SCHEMA],
        totalResults: resources.length,
        startIndex: 1,
        itemsPerPage: resources.length,
        Resources: resources,
      });
      app.get('/ServiceProviderConfig', async (request, reply) => json(reply, serviceProviderConfig(baseOf(request), MAX_PAGE_SIZE)));
      app.get('/ResourceTypes', async (request, reply) => json(reply, listOf(resourceTypes(baseOf(request)))));
      app.get('/ResourceTypes/:id', { schema: { params: byId } }, async (request, reply) => {
        const found = resourceTypes(baseOf(request)).find((type) => type.id === request.params.id);
        if (!found) throw new ScimError(404, undefined, `no ResourceType "${request.params.id}": there are User and Group`);
        return json(reply, found);
      });
      app.get('/Schemas', async (request, reply) => json(reply, listOf(schemaResources(baseOf(request)))));
      app.get('/Schemas/:id', { schema: { params: byId } }, async (request, reply) => {
        const found = schemaResources(baseOf(request)).find((schema) => schema.id === request.params.id);
        if (!found) throw new ScimError(404, undefined, `no Schema "${request.params.id}"`);
        return json(reply, found);
      });

      /** A SearchRequest body (POST …/.search) as list query parameters. */
      const searchQuery = (body: JsonObject): ListQuery => {
        if (!Array.isArray(body.schemas) || !body.schemas.includes(SEARCH_REQUEST_SCHEMA))
          throw new ScimError(400, 'invalidSyntax', `a search body is a SearchRequest: schemas must list ${SEARCH_REQUEST_SCHEMA}`);
        const list = (value: unknown) => (Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : undefined);
        const number = (value: unknown) => (typeof value === 'number' ? value : undefined);
        return {
          filter: typeof body.filter === 'string' ? body.filter : undefined,
          startIndex: number(body.startIndex),
          count: number(body.count),
          attributes: list(body.attributes),
          excludedAttributes: list(body.excludedAttributes),
        };
      };
      const bodyLimit = { bodyLimit: SCIM_BODY_LIMIT_BYTES };

      app.post('/.search', bodyLimit, async (request, reply) => {
        const query = parseListQuery(searchQuery(bodyOf(request)));
        const [people, teams] = await Promise.all([(await users(request)).resources(query), (await groups(request)).resources(query)]);
        return json(reply, listResponse([...people, ...teams], query));
      });

      for (const [type, service] of [
        ['Users', users],
        ['Groups', groups],
      ] as const) {
        app.get(`/${type}`, { schema: { querystring: listQuery } }, async (request, reply) => {
          const query = parseListQuery(request.query);
          return json(reply, listResponse(await (await service(request)).resources(query), query));
        });
        app.post(`/${type}/.search`, bodyLimit, async (request, reply) => {
          const query = parseListQuery(searchQuery(bodyOf(request)));
          return json(reply, listResponse(await (await service(request)).resources(query), query));
        });
        app.post(`/${type}`, bodyLimit, async (request, reply) =>
          sendResource(reply, await (await service(request)).create(bodyOf(request)), 201),
        );
        app.get(`/${type}/:id`, { schema: { params: byId, querystring: projectionQuery } }, async (request, reply) =>
          sendResource(reply, await (await service(request)).get(request.params.id, parseProjection(request.query))),
        );
        app.put(`/${type}/:id`, { ...bodyLimit, schema: { params: byId } }, async (request, reply) =>
          sendResource(reply, await (await service(request)).replace(request.params.id, bodyOf(request), ifMatch(request))),
        );
        app.patch(`/${type}/:id`, { ...bodyLimit, schema: { params: byId } }, async (request, reply) =>
          sendResource(reply, await (await service(request)).patch(request.params.id, bodyOf(request), ifMatch(request))),
        );
        app.delete(`/${type}/:id`, { schema: { params: byId } }, async (request, reply) => {
          await (await service(request)).delete(request.params.id, ifMatch(request));
          return reply.status(204).send();
        });
      }
    },
    { prefix: '/scim/v2' },
  );
};
