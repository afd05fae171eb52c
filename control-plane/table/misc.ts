/**
 * The small printers, as Kubernetes 1.32 renders them:
 * namespaces (NAME STATUS AGE), configmaps (NAME DATA AGE), secrets (NAME TYPE
 * DATA AGE), serviceaccounts (NAME SECRETS AGE), leases (NAME HOLDER AGE).
 */
import type { KubeObject } from '../../proto/k8s/meta.js';
import { ageColumn, ageOf, column, fields, isSet, keyCount, list, nameColumn, str, type Printer } from './printer.js';

const miscDoc = {
  configMapData:
    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
  secretType:
    'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types',
  secretData:
    "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
  serviceAccountSecrets:
    'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The "kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret',
  leaseHolderIdentity:
    'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.',
} as const;

export const namespacePrinter: Printer = {
  columns: [nameColumn, column('Status', 'string', 'The status of the namespace'), ageColumn],
  cells(namespace, nowMs) {
    return [str(namespace.metadata.name), namespacePhase(namespace), ageOf(namespace, nowMs)];
  },
};

/**
 * status.phase. Kubernetes' namespace strategy always sets it (Active on create,
 * Terminating on delete); for an object stored without it, the value that
 * strategy would have set.
 */
function namespacePhase(namespace: KubeObject): string {
  const phase = str(fields(namespace['status'])['phase']);
  if (phase !== '') return phase;
  return isSet(namespace.metadata.deletionTimestamp) ? 'Terminating' : 'Active';
}

export const configMapPrinter: Printer = {
  columns: [nameColumn, column('Data', 'string', miscDoc.configMapData), ageColumn],
  cells(configMap, nowMs) {
    return [
      str(configMap.metadata.name),
      keyCount(configMap['data']) + keyCount(configMap['binaryData']),
      ageOf(configMap, nowMs),
    ];
  },
};

export const secretPrinter: Printer = {
  columns: [
    nameColumn,
    column('Type', 'string', miscDoc.secretType),
    column('Data', 'string', miscDoc.secretData),
    ageColumn,
  ],
  cells(secret, nowMs) {
    // stringData is write-only: conversion merges it into data, so count the union.
    const keys = new Set([...Object.keys(fields(secret['data'])), ...Object.keys(fields(secret['stringData']))]);
    return [str(secret.metadata.name), str(secret['type']) || 'Opaque', keys.size, ageOf(secret, nowMs)];
  },
};

export const serviceAccountPrinter: Printer = {
  columns: [nameColumn, column('Secrets', 'string', miscDoc.serviceAccountSecrets), ageColumn],
  cells(serviceAccount, nowMs) {
    return [str(serviceAccount.metadata.name), list(serviceAccount['secrets']).length, ageOf(serviceAccount, nowMs)];
  },
};

export const leasePrinter: Printer = {
  columns: [nameColumn, column('Holder', 'string', miscDoc.leaseHolderIdentity), ageColumn],
  cells(lease, nowMs) {
    return [str(lease.metadata.name), str(fields(lease['spec'])['holderIdentity']), ageOf(lease, nowMs)];
  },
};
