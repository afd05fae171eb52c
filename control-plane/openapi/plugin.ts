/**
 * Fastify plugin serving the OpenAPI documents kubectl reads:
 *   GET /openapi/v2             Swagger 2.0; gnostic protobuf when Accept asks for it, JSON otherwise
 *   GET /swagger-2.0.0.pb-v1    the same protobuf (the path kubectl 1.20 falls back to)
 *   GET /openapi/v3             index of the per-group-version documents
 *   GET /openapi/v3/<gv>        one group-version's document (`api/v1`, `apis/apps/v1`, ...)
 * Every answer carries an ETag (the content hash) and honours If-None-Match.
 * No authentication or authorization here: whoever registers the plugin wraps it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { openApiDocuments, type ServedDocument } from './document.js';
import type { OpenApiResource } from './types.js';

export interface OpenApiRoutesOptions {
  /** The served resources the documents describe (the registry's table). */
  readonly resources: readonly OpenApiResource[];
}

/** Media types that select the protobuf form of the v2 document (the second is the pre-1.14 spelling). */
const PROTOBUF_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/com.github.proto-openapi.spec.v2@v1.0+protobuf',
  'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
]);
const JSON_MEDIA_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/*', '*/*']);
/** Accept entries looked at; real clients send one to three. Later entries are ignored. */
const ACCEPT_ENTRIES_MAX = 16;
/** How long a client may keep a v3 document fetched under its current hash: the content never changes at that URL. */
const IMMUTABLE_MAX_AGE_SECONDS = 31_536_000;

/** Whether the first acceptable media type in `accept` (in the client's order) is the v2 protobuf. */
export function prefersProtobuf(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  for (const entry of accept.split(',').slice(0, ACCEPT_ENTRIES_MAX)) {
    const [mediaType = '', ...params] = entry.split(';').map((s) => s.trim().toLowerCase());
    if (params.some((p) => /^q=0(\.0*)?$/.test(p))) continue;
    if (PROTOBUF_MEDIA_TYPES.has(mediaType)) return true;
    if (JSON_MEDIA_TYPES.has(mediaType)) return false;
  }
  return false;
}

function send(request: FastifyRequest, reply: FastifyReply, doc: ServedDocument): FastifyReply {
  reply.header('ETag', doc.etag).header('Vary', 'Accept');
  if (request.headers['if-none-match'] === doc.etag) return reply.code(304).send();
  return reply.type(doc.contentType).send(doc.body);
}

const querystring = {
  type: 'object',
  properties: { hash: { type: 'string', maxLength: 256 }, timeout: { type: 'string', maxLength: 32 } },
} as const;

export async function openApiRoutes(app: FastifyInstance, opts: OpenApiRoutesOptions): Promise<void> {
  const docs = openApiDocuments(opts.resources);

  app.get('/openapi/v2', { schema: { querystring } }, async (request, reply) =>
    send(request, reply, prefersProtobuf(request.headers.accept) ? docs.v2Protobuf() : docs.v2Json()));

  app.get('/swagger-2.0.0.pb-v1', { schema: { querystring } }, async (request, reply) =>
    send(request, reply, docs.v2Protobuf()));

  app.get('/openapi/v3', { schema: { querystring } }, async (request, reply) =>
    send(request, reply, docs.v3Index().served));

  app.get<{ Params: { '*': string }; Querystring: { hash?: string } }>(
    '/openapi/v3/*',
    { schema: { querystring } },
    async (request, reply) => {
      const gv = request.params['*'];
      const entry = docs.v3ByGroupVersion().get(gv);
      if (entry === undefined) return reply.callNotFound();
      const { hash } = request.query;
      if (hash !== undefined && hash !== entry.served.hash) {
        // A stale hash: point the client at the current content instead of serving it under an old URL.
        return reply.redirect(`/openapi/v3/${gv}?hash=${entry.served.hash}`, 301);
      }
      if (hash !== undefined) reply.header('Cache-Control', `public, immutable, max-age=${IMMUTABLE_MAX_AGE_SECONDS}`);
      return send(request, reply, entry.served);
    },
  );
}
