/**
 * Routing of /api/v1/... and /apis/<group>/<version>/... requests to the verb
 * handlers, and rendering of their answers (JSON, YAML, or Table for
 * `kubectl get`). The request's RequestInfo — the same one authorization
 * used — decides what is asked.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { stringify as toYaml } from 'yaml';
import type { KubeObject } from '../../proto/k8s/meta.js';
import type { IncludeObjectPolicy } from '../../proto/k8s/table.js';
import { findResource, type ResourceDescriptor, type Verb } from '../registry/resources.js';
import type { ObjectAddress } from '../registry/object-store.js';
import { UpdateScope } from '../registry/strategy.js';
import { objectTable, TableWatchEncoder, toTable } from '../table/index.js';
import { Deleter, parseDeleteOptions } from './deletion.js';
import { ApiError, badRequest, methodNotAllowed, noSuchResource } from './errors.js';
import { parseListOptions, single, type ListOptions, type Query } from './list-options.js';
import { chooseRepresentation, decodeBody, decodeObjectBody, mediaTypeOf, Representation } from './negotiation.js';
import { ObjectHandlers, type HandlerDeps, type ObjectList } from './object-handlers.js';
import type { ResourceRequest } from './request-info.js';
import { selfSubjectAccessReview } from './access-review.js';
import { bindPod, finalizeNamespace, requestToken, scaleOf, writeScale } from './subresources.js';
import { servePodExec } from './pod-exec.js';
import { servePodLog } from './pod-log.js';
import { serveWatch } from './watch-stream.js';

/** How long a namespace deletion waits for this master's cache to see it (milliseconds normally). */
const NAMESPACE_DELETE_CACHE_WAIT_MS = 3_000;

type Answer = { readonly code: number; readonly body: unknown };

export class ResourceRoutes {
  private readonly objects: ObjectHandlers;
  private readonly deleter: Deleter;

  constructor(private readonly d: HandlerDeps) {
    this.objects = new ObjectHandlers(d);
    this.deleter = new Deleter(d.store, d.nowMs);
  }

  async handle(info: ResourceRequest, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const r = findResource(info.group, info.version, info.resource);
    if (r === undefined) throw noSuchResource();
    checkScope(r, info);
    if (r.virtual) return this.review(r, info, req, reply);
    if (r.kind === 'Pod' && (info.subresource === 'log' || info.subresource === 'exec')) return this.podConnect(info, req, reply);
    if (info.subresource === undefined && !r.verbs.includes(info.verb as Verb)) {
      throw methodNotAllowed(`the server does not allow this method on the requested resource (${info.verb} ${r.plural})`);
    }
    const q = req.query as Query;
    const tableAllowed = info.subresource === undefined && (info.verb === 'get' || info.verb === 'list' || info.verb === 'watch');
    const representation = chooseRepresentation(req.headers.accept, tableAllowed);
    const includeObject = includeObjectOf(q);
    if (info.verb === 'watch') {
      // Options are checked before the reply is taken over, so a bad query still gets its 400.
      const options = parseListOptions(r, q, r.namespaced, Math.random());
      reply.hijack();
      return this.watch(r, info, options, representation, includeObject, reply);
    }
    const answer = await this.answer(r, info, q, req);
    const body = representation === Representation.Table ? this.asTable(r, answer.body, includeObject) : answer.body;
    if (representation === Representation.Yaml) {
      await reply.code(answer.code).type('application/yaml').send(toYaml(body));
      return;
    }
    await reply.code(answer.code).type('application/json').send(JSON.stringify(body));
  }

  private async answer(r: ResourceDescriptor, info: ResourceRequest, q: Query, req: FastifyRequest): Promise<Answer> {
    const a: ObjectAddress = { resource: r, namespace: r.namespaced ? info.namespace : undefined, name: info.name ?? '' };
    const dryRun = single(q, 'dryRun') === 'All';
    // Patches are JSON (or YAML apply patches) only; whole objects may also come as protobuf.
    const decode = info.verb === 'patch' ? decodeBody : decodeObjectBody;
    const body = (): unknown => decode(req.headers['content-type'], req.body as Buffer | undefined);
    const sub = info.subresource;
    if (sub !== undefined) return this.subresource(a, sub, info.verb, req, body);
    switch (info.verb) {
      case 'get':
        return ok(await this.objects.get(a, single(q, 'resourceVersion') ?? ''));
      case 'list':
        return ok(await this.objects.list(r, info.namespace, parseListOptions(r, q, r.namespaced, Math.random())));
      case 'create':
        return { code: dryRun ? 200 : 201, body: await this.objects.create(r, info.namespace, body(), dryRun) };
      case 'update':
        return ok(await this.finalize(a, await this.objects.update(a, body(), UpdateScope.Main, dryRun)));
      case 'patch':
        return ok(await this.finalize(a, await this.objects.patch(a, mediaTypeOf(req.headers['content-type']), body(), UpdateScope.Main, dryRun)));
      case 'delete': {
        const after = await this.deleter.delete(a, parseDeleteOptions(optionalBody(req), q));
        // Read-your-writes for namespace lifecycle: this master refuses new content from the moment the client hears "deleted".
        if (r.kind === 'Namespace') await this.d.cache.waitFor(Number(after.metadata.resourceVersion ?? 0), NAMESPACE_DELETE_CACHE_WAIT_MS);
        return ok(after);
      }
      case 'deletecollection':
        return ok(await this.deleteCollection(r, info, q, req));
      default:
        throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
  }

  private async subresource(a: ObjectAddress, sub: string, verb: string, req: FastifyRequest, body: () => unknown): Promise<Answer> {
    if (!a.resource.subresources.includes(sub)) throw noSuchResource();
    const patchType = mediaTypeOf(req.headers['content-type']);
    switch (`${sub} ${verb}`) {
      case 'status get':
        return ok(await this.objects.get(a, ''));
      case 'status update':
        return ok(await this.finalize(a, await this.objects.update(a, body(), UpdateScope.Status, false)));
      case 'status patch':
        return ok(await this.finalize(a, await this.objects.patch(a, patchType, body(), UpdateScope.Status, false)));
      case 'scale get':
        return ok(scaleOf(await this.objects.get(a, '')));
      case 'scale update':
        return ok(await writeScale(this.d.store, a, { body: body() }));
      case 'scale patch':
        return ok(await writeScale(this.d.store, a, { patchType, patch: body() }));
      case 'binding create':
        await bindPod(this.d.store, a, body());
        return { code: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
      case 'token create': {
        if (this.d.serviceAccountKey === undefined) throw noSuchResource();
        return { code: 201, body: await requestToken(this.d.store, a, body(), this.d.serviceAccountKey, this.d.nowMs()) };
      }
      case 'finalize update':
        return ok(await this.finalize(a, await finalizeNamespace(this.d.store, a, body())));
      default:
        throw methodNotAllowed(`the server does not allow this method on ${a.resource.plural}/${sub}`);
    }
  }

  /** pods/log (get) and pods/exec (create: GET and POST alike, see request-info.ts): streamed from the pod's node. */
  private async podConnect(info: ResourceRequest, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (info.subresource === 'log') {
      if (info.verb !== 'get') throw methodNotAllowed(`the server does not allow this method on pods/log`);
      return servePodLog(this.d.store, info, req, reply);
    }
    if (info.verb !== 'create') throw methodNotAllowed(`the server does not allow this method on pods/exec`);
    return servePodExec(this.d.store, info, req, reply);
  }

  /** An update may have removed the last finalizer of an object marked for deletion: then it goes. */
  private finalize(a: ObjectAddress, obj: KubeObject): Promise<KubeObject> {
    return this.deleter.finalizeIfDone(a, obj);
  }

  private async deleteCollection(r: ResourceDescriptor, info: ResourceRequest, q: Query, req: FastifyRequest): Promise<ObjectList> {
    const options = parseDeleteOptions(optionalBody(req), q);
    const list = await this.objects.list(r, info.namespace, parseListOptions(r, q, r.namespaced, 0));
    const items: KubeObject[] = [];
    for (const o of list.items) {
      const a = { resource: r, namespace: o.metadata.namespace, name: o.metadata.name ?? '' };
      try {
        items.push(await this.deleter.delete(a, options));
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
    return { ...list, items };
  }

  private async watch(r: ResourceDescriptor, info: ResourceRequest, options: ListOptions, rep: Representation, includeObject: IncludeObjectPolicy, reply: FastifyReply): Promise<void> {
    const encoder = new TableWatchEncoder(r.plural, includeObject);
    const render = rep === Representation.Table ? (o: KubeObject) => encoder.encode(o, this.d.nowMs()) : (o: KubeObject) => o;
    try {
      await serveWatch(
        this.d.cache,
        { resource: r, namespace: info.namespace, options, render, contentType: 'application/json', bookmarkIntervalMs: this.d.bookmarkIntervalMs },
        reply.raw,
        () => this.d.backend.currentRevision(),
      );
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError('InternalError', `watch failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!reply.raw.headersSent) reply.raw.writeHead(e.code, { 'content-type': 'application/json' });
      reply.raw.end(JSON.stringify(e.toStatus()));
    }
  }

  /** Virtual resources: computed answers, nothing stored. */
  private async review(r: ResourceDescriptor, info: ResourceRequest, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (info.verb !== 'create' || r.kind !== 'SelfSubjectAccessReview') throw methodNotAllowed(`${r.plural} can only be created`);
    const user = req.strakeUser ?? { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    const answer = selfSubjectAccessReview(decodeObjectBody(req.headers['content-type'], req.body as Buffer | undefined), user, this.d.rbac);
    await reply.code(201).type('application/json').send(JSON.stringify(answer));
  }

  private asTable(r: ResourceDescriptor, body: unknown, includeObject: IncludeObjectPolicy): unknown {
    const nowMs = this.d.nowMs();
    const b = body as Partial<ObjectList> & KubeObject;
    if (Array.isArray(b.items)) return toTable(r.plural, b.items, { nowMs, includeObject, listMeta: b.metadata });
    return objectTable(r.plural, b, { nowMs, includeObject });
  }
}

function ok(body: unknown): Answer {
  return { code: 200, body };
}

function optionalBody(req: FastifyRequest): unknown {
  const raw = req.body as Buffer | undefined;
  if (raw === undefined || raw.length === 0) return undefined;
  return decodeObjectBody(req.headers['content-type'], raw);
}

function includeObjectOf(q: Query): IncludeObjectPolicy {
  const v = single(q, 'includeObject') ?? 'Metadata';
  if (v !== 'None' && v !== 'Metadata' && v !== 'Object') throw badRequest(`includeObject: Unsupported value: "${v}": supported values: "None", "Metadata", "Object"`);
  return v;
}

/** Cluster resources have no namespace in their URL; namespaced ones need one except for lists across namespaces. */
function checkScope(r: ResourceDescriptor, info: ResourceRequest): void {
  if (!r.namespaced && info.namespace !== undefined && r.plural !== 'namespaces') throw noSuchResource();
  const acrossNamespaces = info.verb === 'list' || info.verb === 'watch';
  if (r.namespaced && info.namespace === undefined && !acrossNamespaces) throw noSuchResource();
}
