/**
 * Container probes (liveness, readiness, startup): exactly one handler, a
 * well-formed handler, non-negative timings.
 */
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  child,
  forbidden,
  index,
  invalid,
  isInteger,
  listAt,
  nonNegative,
  notSupported,
  recordAt,
  required,
  stringAt,
  type JsonRecord,
} from './field-errors.js';
import { validatePortNumOrName, validatePortNumber } from './ports.js';

export const ProbeKind = {
  Liveness: 'livenessProbe',
  Readiness: 'readinessProbe',
  Startup: 'startupProbe',
} as const;
export type ProbeKind = (typeof ProbeKind)[keyof typeof ProbeKind];

/** The handler fields a probe may carry, in the order Kubernetes checks them. */
const HANDLER_FIELDS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;
type HandlerField = (typeof HANDLER_FIELDS)[number];

const HTTP_SCHEMES: readonly string[] = ['HTTP', 'HTTPS'];
const HTTP_HEADER_NAME_FMT = '[-A-Za-z0-9]+';
const HTTP_HEADER_NAME = /^[-A-Za-z0-9]+$/;
const HTTP_HEADER_NAME_MESSAGE = `a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '${HTTP_HEADER_NAME_FMT}')`;

const PROBE_TIMINGS = [
  'initialDelaySeconds',
  'timeoutSeconds',
  'periodSeconds',
  'successThreshold',
  'failureThreshold',
] as const;

function validateHttpGet(action: JsonRecord, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (stringAt(action['path'], child(path, 'path'), errors) === '') errors.push(required(child(path, 'path')));
  errors.push(...validatePortNumOrName(action['port'], child(path, 'port')));
  const scheme = action['scheme'];
  if (typeof scheme !== 'string' || !HTTP_SCHEMES.includes(scheme)) {
    errors.push(notSupported(child(path, 'scheme'), scheme ?? '', HTTP_SCHEMES));
  }
  listAt(action['httpHeaders'], child(path, 'httpHeaders'), errors).forEach((raw, i) => {
    const at = child(index(child(path, 'httpHeaders'), i), 'name');
    const name = stringAt(recordAt(raw, at, errors)['name'], at, errors);
    if (!HTTP_HEADER_NAME.test(name)) errors.push(invalid(at, name, HTTP_HEADER_NAME_MESSAGE));
  });
  return errors;
}

function validateHandler(field: HandlerField, raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const action = recordAt(raw, path, errors);
  switch (field) {
    case 'exec':
      if (listAt(action['command'], child(path, 'command'), errors).length === 0) {
        errors.push(required(child(path, 'command')));
      }
      break;
    case 'httpGet':
      errors.push(...validateHttpGet(action, path));
      break;
    case 'tcpSocket':
      errors.push(...validatePortNumOrName(action['port'], child(path, 'port')));
      break;
    case 'grpc':
      errors.push(...validatePortNumber(action['port'], child(path, 'port')));
      break;
  }
  return errors;
}

/** Exactly one handler; the second and later ones are reported where they stand. */
function validateHandlers(probe: JsonRecord, path: string): FieldError[] {
  const errors: FieldError[] = [];
  let handlers = 0;
  for (const field of HANDLER_FIELDS) {
    if (probe[field] === undefined || probe[field] === null) continue;
    if (handlers > 0) {
      errors.push(forbidden(child(path, field), 'may not specify more than 1 handler type'));
      continue;
    }
    handlers += 1;
    errors.push(...validateHandler(field, probe[field], child(path, field)));
  }
  if (handlers === 0) errors.push(required(path, 'must specify a handler type'));
  return errors;
}

/** A probe of a regular or sidecar container; absent probes are fine. */
export function validateProbe(raw: unknown, kind: ProbeKind, path: string): FieldError[] {
  if (raw === undefined || raw === null) return [];
  const errors: FieldError[] = [];
  const probe = recordAt(raw, path, errors);
  errors.push(...validateHandlers(probe, path));
  for (const timing of PROBE_TIMINGS) errors.push(...nonNegative(child(path, timing), probe[timing]));
  const grace = probe['terminationGracePeriodSeconds'];
  if (grace !== undefined && grace !== null) {
    if (kind === ProbeKind.Readiness) {
      errors.push(invalid(child(path, 'terminationGracePeriodSeconds'), grace, 'must not be set for readinessProbes'));
    } else if (!isInteger(grace) || grace <= 0) {
      errors.push(invalid(child(path, 'terminationGracePeriodSeconds'), grace, 'must be greater than 0'));
    }
  }
  // A liveness or startup probe that needed several successes would restart a healthy container.
  const success = probe['successThreshold'];
  if (kind !== ProbeKind.Readiness && isInteger(success) && success !== 1 && success >= 0) {
    errors.push(invalid(child(path, 'successThreshold'), success, 'must be 1'));
  }
  return errors;
}

