/**
 * The API server's one error registry: every failure a handler can report is
 * an ApiError with a Kubernetes StatusReason, and the edge turns it into a
 * meta/v1 Status body with the matching HTTP code. Messages follow
 * Kubernetes' texts where clients or users match on them.
 */
import type { FieldError, Status, StatusDetails } from '../../proto/k8s/meta.js';
import { StatusReason } from '../../proto/k8s/meta.js';

const CODE_OF: Readonly<Record<StatusReason, number>> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: number;
  constructor(
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.code = CODE_OF[reason];
  }

  toStatus(): Status {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details === undefined ? {} : { details: this.details }),
      code: this.code,
    };
  }
}

/** What an object is called in messages: `pods "web"`, with group when there is one (`deployments.apps "web"`). */
export interface ObjectRef {
  readonly group: string;
  readonly plural: string;
  readonly kind: string;
  readonly name: string;
}

function qualified(r: Pick<ObjectRef, 'group' | 'plural'>): string {
  return r.group === '' ? r.plural : `${r.plural}.${r.group}`;
}

function detailsOf(r: ObjectRef): StatusDetails {
  return { name: r.name, group: r.group, kind: r.plural };
}

export function notFound(r: ObjectRef): ApiError {
  return new ApiError(StatusReason.NotFound, `${qualified(r)} "${r.name}" not found`, detailsOf(r));
}

export function alreadyExists(r: ObjectRef): ApiError {
  return new ApiError(StatusReason.AlreadyExists, `${qualified(r)} "${r.name}" already exists`, detailsOf(r));
}

export function conflict(r: ObjectRef, why: string): ApiError {
  return new ApiError(StatusReason.Conflict, `Operation cannot be fulfilled on ${qualified(r)} "${r.name}": ${why}`, detailsOf(r));
}

/** The optimistic-concurrency failure, in Kubernetes' words (clients such as kubectl retry on it). */
export function staleResourceVersion(r: ObjectRef): ApiError {
  return conflict(r, 'the object has been modified; please apply your changes to the latest version and try again');
}

export function invalid(r: ObjectRef, errors: readonly FieldError[]): ApiError {
  const what = r.group === '' ? r.kind : `${r.kind}.${r.group}`;
  const list = errors.map((e) => `${e.field}: ${e.message}`).join(', ');
  return new ApiError(StatusReason.Invalid, `${what} "${r.name}" is invalid: ${errors.length > 1 ? `[${list}]` : list}`, {
    name: r.name,
    group: r.group,
    kind: r.kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(StatusReason.BadRequest, message);
}

export function methodNotAllowed(message: string): ApiError {
  return new ApiError(StatusReason.MethodNotAllowed, message);
}

/** Watch or list from a resourceVersion older than the server still holds. */
export function expired(message: string): ApiError {
  return new ApiError(StatusReason.Expired, message);
}

export function unavailable(message: string, retryAfterSeconds = 1): ApiError {
  return new ApiError(StatusReason.ServiceUnavailable, message, { retryAfterSeconds });
}

export function internal(message: string): ApiError {
  return new ApiError(StatusReason.InternalError, `Internal error occurred: ${message}`);
}

/** A 404 for a path that names no served resource (what Kubernetes answers for unknown kinds). */
export function noSuchResource(): ApiError {
  return new ApiError(StatusReason.NotFound, 'the server could not find the requested resource', {});
}
