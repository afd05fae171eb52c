/**
 * Port numbers, port names and protocols, shared by containers, services,
 * endpoints and probes.
 */
import { Protocol } from '../../proto/k8s/core-v1.js';
import type { FieldError } from '../../proto/k8s/meta.js';
import { inclusiveRange, invalid, isInteger, notSupported, required } from './field-errors.js';
import { PORT_NUMBER_MAX, PORT_NUMBER_MIN, isPortName, isPortNumber } from './names.js';

/** Kubernetes lists supported values sorted. */
export const SUPPORTED_PROTOCOLS: readonly string[] = Object.values(Protocol).sort();

export const PORT_RANGE_MESSAGE = inclusiveRange(PORT_NUMBER_MIN, PORT_NUMBER_MAX);

/** A port number that must be set (0 or absent → Required). */
export function validateRequiredPort(value: unknown, path: string): FieldError[] {
  if (value === undefined || value === null || value === 0) return [required(path)];
  return validatePortNumber(value, path);
}

export function validatePortNumber(value: unknown, path: string): FieldError[] {
  return isInteger(value) && isPortNumber(value) ? [] : [invalid(path, value, PORT_RANGE_MESSAGE)];
}

/** An IntOrString port: a number 1-65535 or an IANA service name of a container port. */
export function validatePortNumOrName(value: unknown, path: string): FieldError[] {
  if (typeof value === 'number') return validatePortNumber(value, path);
  if (typeof value === 'string') return isPortName(value).map((msg) => invalid(path, value, msg));
  return [invalid(path, value, 'must contain an int or string')];
}

/** A protocol that defaulting should have filled in: empty → Required. */
export function validateProtocol(value: unknown, path: string): FieldError[] {
  if (value === undefined || value === null || value === '') return [required(path)];
  return typeof value === 'string' && SUPPORTED_PROTOCOLS.includes(value)
    ? []
    : [notSupported(path, value, SUPPORTED_PROTOCOLS)];
}
