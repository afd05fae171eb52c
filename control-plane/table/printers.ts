/**
 * Which printer renders which resource. Keys are `plural` for the core group and
 * `plural.group` otherwise, as in `kubectl get deployments.apps`.
 */
import { defaultPrinter } from './default-printer.js';
import { eventPrinter } from './events.js';
import {
  configMapPrinter,
  leasePrinter,
  namespacePrinter,
  secretPrinter,
  serviceAccountPrinter,
} from './misc.js';
import { nodePrinter } from './nodes.js';
import type { Printer } from './printer.js';
import { podPrinter } from './pods.js';
import { clusterRoleBindingPrinter, roleBindingPrinter } from './rbac.js';
import { endpointsPrinter, servicePrinter } from './services.js';
import { deploymentPrinter, replicaSetPrinter } from './workloads.js';

const printers: ReadonlyMap<string, Printer> = new Map<string, Printer>([
  ['pods', podPrinter],
  ['nodes', nodePrinter],
  ['namespaces', namespacePrinter],
  ['services', servicePrinter],
  ['endpoints', endpointsPrinter],
  ['configmaps', configMapPrinter],
  ['secrets', secretPrinter],
  ['serviceaccounts', serviceAccountPrinter],
  ['events', eventPrinter],
  // One stored type in Kubernetes, served under both groups, printed alike.
  ['events.events.k8s.io', eventPrinter],
  ['deployments.apps', deploymentPrinter],
  ['replicasets.apps', replicaSetPrinter],
  ['leases.coordination.k8s.io', leasePrinter],
  ['rolebindings.rbac.authorization.k8s.io', roleBindingPrinter],
  ['clusterrolebindings.rbac.authorization.k8s.io', clusterRoleBindingPrinter],
]);

/** Bare plurals of the grouped resources above (`deployments` → deployments.apps). */
const byBarePlural: ReadonlyMap<string, Printer> = new Map(
  [...printers].filter(([key]) => key.includes('.') && !key.startsWith('events.')).map(([key, p]) => [
    key.slice(0, key.indexOf('.')),
    p,
  ]),
);

/**
 * The printer for a resource named `pods`, `deployments` or `deployments.apps`;
 * the default NAME / CREATED AT printer for anything else, including a custom
 * resource that shares a plural with a built-in one in another group.
 */
export function printerFor(resource: string): Printer {
  return printers.get(resource) ?? byBarePlural.get(resource) ?? defaultPrinter;
}
