/**
 * meta/v1 (apimachinery) definitions shared by every kind, plus the two
 * apimachinery scalar types: IntOrString and Quantity.
 */
import {
  INT_OR_STRING, LABEL_SELECTOR, LIST_META, META, MICRO_TIME, OBJECT_META, QUANTITY, TIME,
  arrayOf, bool, gvk, int32, int64, object, ref, str, stringList, stringMap, time, typeMeta,
  type Definitions, type GroupVersionKind,
} from './builders.js';

/** The group-versions whose requests accept a DeleteOptions body. */
const DELETE_OPTIONS_GVKS: readonly GroupVersionKind[] = [
  gvk('', 'v1', 'DeleteOptions'),
  gvk('apps', 'v1', 'DeleteOptions'),
  gvk('autoscaling', 'v1', 'DeleteOptions'),
  gvk('coordination.k8s.io', 'v1', 'DeleteOptions'),
  gvk('rbac.authorization.k8s.io', 'v1', 'DeleteOptions'),
];

export const META_DEFINITIONS: Definitions = {
  [INT_OR_STRING]: {
    type: 'string',
    format: 'int-or-string',
    description: 'Either an integer or a string: a port number or a port name, a count or a percentage written as a string with a percent sign.',
  },
  [QUANTITY]: {
    type: 'string',
    description:
      'A fixed-point amount with an optional unit suffix: "100m" CPU, "64Mi" or "1G" of memory, or a plain number.',
  },
  [TIME]: {
    type: 'string',
    format: 'date-time',
    description: 'A point in time in RFC 3339 form, to the second ("2024-01-02T15:04:05Z").',
  },
  [MICRO_TIME]: {
    type: 'string',
    format: 'date-time',
    description: 'A point in time in RFC 3339 form with microseconds.',
  },

  [OBJECT_META]: object('Metadata every persisted object has: identity, labels, annotations, owners, lifecycle.', {
    name: str('Unique name within the namespace (or the cluster, for cluster-scoped kinds). Cannot change.'),
    generateName: str('Prefix for a server-generated name, used when `name` is empty.'),
    namespace: str('The namespace the object lives in; empty for cluster-scoped kinds. Defaults to "default".'),
    selfLink: str('Deprecated and unset; kept so older clients can send it.'),
    uid: str('Server-assigned identifier, unique over time. Read-only.'),
    resourceVersion: str(
      'Opaque version of this object, changed on every write. Send it back on update for optimistic concurrency.',
    ),
    generation: int64('Sequence number of spec changes, set by the server. Read-only.'),
    creationTimestamp: time('When the object was created. Set by the server. Read-only.'),
    deletionTimestamp: time('When the object will be removed; set once deletion is requested. Read-only.'),
    deletionGracePeriodSeconds: int64('Seconds the object is given to terminate gracefully once deletion is requested.'),
    labels: stringMap('Key/value pairs that selectors (of services, deployments, ...) match on.'),
    annotations: stringMap('Key/value pairs for tools and controllers; never used for selection.'),
    ownerReferences: arrayOf(
      ref(`${META}OwnerReference`),
      'Objects this one depends on; when every owner is gone, the garbage collector deletes it.',
    ),
    finalizers: stringList('Names of controllers that must finish cleanup before the object is removed.'),
    managedFields: arrayOf(
      ref(`${META}ManagedFieldsEntry`),
      'Which manager set which fields, for server-side apply. Maintained by the server.',
    ),
  }),

  [LIST_META]: object('Metadata of a list answer.', {
    selfLink: str('Deprecated and unset.'),
    resourceVersion: str('Version of the store the list was read at; watch from it to see every later change.'),
    continue: str('Token for the next page when the list was truncated by `limit`; empty on the last page.'),
    remainingItemCount: int64('Estimated number of items after this page, when known.'),
  }),

  [`${META}OwnerReference`]: {
    ...object('Names an owning object in the same namespace (or a cluster-scoped owner).', {
      apiVersion: str('API version of the owner.'),
      kind: str('Kind of the owner.'),
      name: str('Name of the owner.'),
      uid: str('UID of the owner.'),
      controller: bool('True when the owner is the managing controller. At most one owner is.'),
      blockOwnerDeletion: bool('If true, foreground deletion of the owner waits until this object is gone.'),
    }, ['apiVersion', 'kind', 'name', 'uid']),
    'x-kubernetes-map-type': 'atomic',
  },

  [LABEL_SELECTOR]: {
    ...object('Selects objects by label. All conditions must hold; an empty selector matches everything.', {
      matchLabels: stringMap('Labels that must be present with exactly these values.'),
      matchExpressions: arrayOf(ref(`${META}LabelSelectorRequirement`), 'Set-based label conditions.'),
    }),
    'x-kubernetes-map-type': 'atomic',
  },
  [`${META}LabelSelectorRequirement`]: object('One set-based condition on a label.', {
    key: str('The label key.'),
    operator: str('How key and values relate: In, NotIn, Exists or DoesNotExist.'),
    values: stringList('Values for In and NotIn; must be empty for Exists and DoesNotExist.'),
  }, ['key', 'operator']),

  [`${META}ManagedFieldsEntry`]: object('The fields one manager owns, and how it last wrote them.', {
    manager: str('Name of the manager (the field manager of the writing request).'),
    operation: str('The kind of write: Apply or Update.'),
    apiVersion: str('API version the fields are expressed in.'),
    time: time('When the manager last changed these fields.'),
    fieldsType: str('Format of `fieldsV1`; only "FieldsV1".'),
    fieldsV1: ref(`${META}FieldsV1`, 'The owned fields, as a set.'),
    subresource: str('The subresource written through, if any.'),
  }),
  [`${META}FieldsV1`]: {
    type: 'object',
    description: 'A set of field paths in the trie-shaped JSON form server-side apply uses.',
  },

  [`${META}Condition`]: object('One aspect of an object\'s current state.', {
    type: str('Condition type, in CamelCase.'),
    status: str('True, False or Unknown.'),
    observedGeneration: int64('The metadata.generation the condition was computed from.'),
    lastTransitionTime: time('When the status last changed.'),
    reason: str('Machine-readable CamelCase reason for the last transition.'),
    message: str('Human-readable details.'),
  }, ['type', 'status', 'lastTransitionTime', 'reason', 'message']),

  [`${META}Status`]: {
    ...object('The result of an operation that returns no object: errors, and some deletions.', {
      ...typeMeta(),
      metadata: ref(LIST_META, 'Standard list metadata.'),
      status: str('Success or Failure.'),
      message: str('Human-readable description of the result.'),
      reason: str('Machine-readable reason (NotFound, AlreadyExists, Conflict, Invalid, ...).'),
      details: ref(`${META}StatusDetails`, 'More about the reason, depending on it.'),
      code: int32('The HTTP status code of the answer.'),
    }),
    'x-kubernetes-group-version-kind': [gvk('', 'v1', 'Status')],
  },
  [`${META}StatusDetails`]: object('Which object a Status is about, and why.', {
    name: str('Name of the object concerned.'),
    group: str('API group of the object.'),
    kind: str('Kind (or resource) of the object.'),
    uid: str('UID of the object, when known.'),
    causes: arrayOf(ref(`${META}StatusCause`), 'Individual failures, for example one per invalid field.'),
    retryAfterSeconds: int32('Seconds the client should wait before retrying.'),
  }),
  [`${META}StatusCause`]: object('One cause of a failed operation.', {
    reason: str('Machine-readable cause (FieldValueRequired, FieldValueInvalid, ...).'),
    message: str('Human-readable cause.'),
    field: str('The field at fault, as a JSON path ("spec.containers[0].name").'),
  }),

  [`${META}DeleteOptions`]: {
    ...object('Options of a delete request.', {
      ...typeMeta(),
      gracePeriodSeconds: int64('Seconds to wait before deleting; 0 deletes at once. Defaults per kind.'),
      preconditions: ref(`${META}Preconditions`, 'Delete only if these still hold.'),
      orphanDependents: bool('Deprecated: use propagationPolicy=Orphan.'),
      propagationPolicy: str('What happens to dependents: Orphan, Background (default) or Foreground.'),
      dryRun: stringList('"All" to run every stage without persisting anything.'),
    }),
    'x-kubernetes-group-version-kind': DELETE_OPTIONS_GVKS,
  },
  [`${META}Patch`]: {
    type: 'object',
    description: 'A patch body: JSON patch, JSON merge patch, strategic merge patch or apply configuration, by Content-Type.',
  },
  [`${META}Preconditions`]: object('Conditions an object must meet for an operation to proceed.', {
    uid: str('The object must have this UID.'),
    resourceVersion: str('The object must be at this resourceVersion.'),
  }),
};
