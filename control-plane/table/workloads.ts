/**
 * `kubectl get deployments` (NAME READY UP-TO-DATE AVAILABLE AGE) and `kubectl get
 * replicasets` (NAME DESIRED CURRENT READY AGE), both with wide CONTAINERS IMAGES
 * SELECTOR, as Kubernetes 1.32 renders them. Counts are JSON numbers, as the
 * server's int64 cells are; Deployment declares its count columns "string" and
 * ReplicaSet "integer", which is Kubernetes' own inconsistency, kept.
 */
import { formatLabelSelector, labelSelectorString } from './label-format.js';
import {
  ageColumn,
  ageOf,
  column,
  containerCells,
  containersColumn,
  fields,
  imagesColumn,
  int,
  nameColumn,
  str,
  type Fields,
  type Printer,
} from './printer.js';

const workloadDoc = {
  deploymentUpdatedReplicas:
    'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
  deploymentAvailableReplicas:
    'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
  deploymentSelector:
    'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
  replicaSetDesired:
    'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
  replicaSetCurrent:
    'Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller',
  replicaSetReady: 'The number of ready replicas for this replica set.',
  replicaSetSelector:
    'Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors',
} as const;

export const deploymentPrinter: Printer = {
  columns: [
    nameColumn,
    column('Ready', 'string', 'Number of the pod with ready state'),
    column('Up-to-date', 'string', workloadDoc.deploymentUpdatedReplicas),
    column('Available', 'string', workloadDoc.deploymentAvailableReplicas),
    ageColumn,
    containersColumn,
    imagesColumn,
    column('Selector', 'string', workloadDoc.deploymentSelector, { priority: 1 }),
  ],
  cells(deployment, nowMs) {
    const spec = fields(deployment['spec']);
    const status = fields(deployment['status']);
    const [containers, images] = containerCells(podTemplateSpec(spec));
    return [
      str(deployment.metadata.name),
      `${int(status['readyReplicas'])}/${desiredReplicas(spec)}`,
      int(status['updatedReplicas']),
      int(status['availableReplicas']),
      ageOf(deployment, nowMs),
      containers,
      images,
      // Unlike the other SELECTOR cells, Deployment's shows '' (not <none>) for an empty selector.
      labelSelectorString(spec['selector']) ?? '<invalid>',
    ];
  },
};

export const replicaSetPrinter: Printer = {
  columns: [
    nameColumn,
    column('Desired', 'integer', workloadDoc.replicaSetDesired),
    column('Current', 'integer', workloadDoc.replicaSetCurrent),
    column('Ready', 'integer', workloadDoc.replicaSetReady),
    ageColumn,
    containersColumn,
    imagesColumn,
    column('Selector', 'string', workloadDoc.replicaSetSelector, { priority: 1 }),
  ],
  cells(replicaSet, nowMs) {
    const spec = fields(replicaSet['spec']);
    const status = fields(replicaSet['status']);
    const [containers, images] = containerCells(podTemplateSpec(spec));
    return [
      str(replicaSet.metadata.name),
      desiredReplicas(spec),
      int(status['replicas']),
      int(status['readyReplicas']),
      ageOf(replicaSet, nowMs),
      containers,
      images,
      formatLabelSelector(spec['selector']),
    ];
  },
};

/** spec.replicas, or Kubernetes' default of 1 for an object stored without it. */
function desiredReplicas(spec: Fields): number {
  return typeof spec['replicas'] === 'number' ? int(spec['replicas']) : 1;
}

function podTemplateSpec(spec: Fields): Fields {
  return fields(fields(spec['template'])['spec']);
}
