/**
 * The table Kubernetes gives a resource that has no printer of its own (Roles,
 * ClusterRoles, custom resources without additionalPrinterColumns, ...): NAME and
 * CREATED AT, the latter an RFC 3339 timestamp rather than an age.
 */
import { column, nameColumn, objectMetaDoc, str, timestampMs, type Printer } from './printer.js';

/** How Go prints a zero (unset) metav1.Time in RFC 3339. */
const GO_ZERO_TIME_RFC3339 = '0001-01-01T00:00:00Z';

export const defaultPrinter: Printer = {
  columns: [nameColumn, column('Created At', 'date', objectMetaDoc.creationTimestamp)],
  cells(obj) {
    return [str(obj.metadata.name), rfc3339Seconds(obj.metadata.creationTimestamp)];
  },
};

/** UTC, whole seconds (Go's time.RFC3339 layout drops the fraction). */
function rfc3339Seconds(value: unknown): string {
  const ms = timestampMs(value);
  return ms === undefined ? GO_ZERO_TIME_RFC3339 : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
