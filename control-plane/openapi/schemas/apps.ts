/**
 * apps/v1 Deployment and ReplicaSet, and autoscaling/v1 Scale: the body of
 * their `scale` subresource.
 */
import {
  APPS, AUTOSCALING, CORE, INT_OR_STRING, LABEL_SELECTOR,
  arrayOf, gvk, int32, int64, kind, object, ref, str, time, bool,
  type Definitions,
} from './builders.js';

const conditionFields = {
  type: str('Condition type.'),
  status: str('True, False or Unknown.'),
  lastTransitionTime: time('When the status last changed.'),
  reason: str('CamelCase reason for the last transition.'),
  message: str('Human-readable details.'),
};

const replicaCounts = {
  replicas: int32('Pods the controller currently owns (any state).'),
  readyReplicas: int32('Owned pods that are ready.'),
  availableReplicas: int32('Owned pods ready for at least minReadySeconds.'),
  observedGeneration: int64('The metadata.generation this status was computed for.'),
};

const DEPLOYMENT_DEFINITIONS: Definitions = {
  [`${APPS}Deployment`]: kind(gvk('apps', 'v1', 'Deployment'), 'Declarative updates for a set of identical pods, rolled out through ReplicaSets.', {
    spec: ref(`${APPS}DeploymentSpec`, 'The desired deployment.'),
    status: ref(`${APPS}DeploymentStatus`, 'The observed deployment. Read-only.'),
  }),
  [`${APPS}DeploymentSpec`]: object('The desired state of a deployment.', {
    replicas: int32('Number of pods wanted. Defaults to 1.'),
    selector: ref(LABEL_SELECTOR, 'Which pods belong to the deployment; must match the template labels. Immutable.'),
    template: ref(`${CORE}PodTemplateSpec`, 'The pods to create.'),
    strategy: ref(`${APPS}DeploymentStrategy`, 'How old pods are replaced by new ones.'),
    minReadySeconds: int32('Seconds a new pod must be ready before it counts as available. Defaults to 0.'),
    revisionHistoryLimit: int32('Old ReplicaSets kept for rollback. Defaults to 10.'),
    paused: bool('Stop rolling out changes of the template.'),
    progressDeadlineSeconds: int32('Seconds without progress before the rollout is reported as failed. Defaults to 600.'),
  }, ['selector', 'template']),
  [`${APPS}DeploymentStrategy`]: object('How a deployment replaces old pods by new ones.', {
    type: str('RollingUpdate (default): replace gradually; Recreate: delete all old pods first.'),
    rollingUpdate: ref(`${APPS}RollingUpdateDeployment`, 'Pace of a RollingUpdate.'),
  }),
  [`${APPS}RollingUpdateDeployment`]: object('Pace of a rolling update.', {
    maxUnavailable: ref(INT_OR_STRING, 'Pods that may be unavailable during the update: a number, or a percentage of the desired count. Defaults to 25 percent.'),
    maxSurge: ref(INT_OR_STRING, 'Pods that may exist above the desired count: a number, or a percentage of the desired count. Defaults to 25 percent.'),
  }),
  [`${APPS}DeploymentStatus`]: object('The observed state of a deployment.', {
    ...replicaCounts,
    updatedReplicas: int32('Owned pods that match the current template.'),
    unavailableReplicas: int32('Pods still needed for the deployment to be fully available.'),
    conditions: arrayOf(ref(`${APPS}DeploymentCondition`), 'Available, Progressing, ReplicaFailure.'),
    collisionCount: int32('Counts hash collisions of the template, to name new ReplicaSets uniquely.'),
  }),
  [`${APPS}DeploymentCondition`]: object('One aspect of a deployment\'s state.', {
    ...conditionFields,
    lastUpdateTime: time('When the condition was last updated.'),
  }, ['type', 'status']),
};

const REPLICA_SET_DEFINITIONS: Definitions = {
  [`${APPS}ReplicaSet`]: kind(gvk('apps', 'v1', 'ReplicaSet'), 'Keeps a number of identical pods running.', {
    spec: ref(`${APPS}ReplicaSetSpec`, 'The desired replica set.'),
    status: ref(`${APPS}ReplicaSetStatus`, 'The observed replica set. Read-only.'),
  }),
  [`${APPS}ReplicaSetSpec`]: object('The desired state of a replica set.', {
    replicas: int32('Number of pods wanted. Defaults to 1.'),
    minReadySeconds: int32('Seconds a new pod must be ready before it counts as available.'),
    selector: ref(LABEL_SELECTOR, 'Which pods are counted; must match the template labels.'),
    template: ref(`${CORE}PodTemplateSpec`, 'The pods to create when there are too few.'),
  }, ['selector']),
  [`${APPS}ReplicaSetStatus`]: object('The observed state of a replica set.', {
    ...replicaCounts,
    fullyLabeledReplicas: int32('Owned pods whose labels match the template\'s.'),
    conditions: arrayOf(ref(`${APPS}ReplicaSetCondition`), 'Details of the replica set\'s state.'),
  }, ['replicas']),
  [`${APPS}ReplicaSetCondition`]: object('One aspect of a replica set\'s state.', conditionFields, ['type', 'status']),
};

const SCALE_DEFINITIONS: Definitions = {
  [`${AUTOSCALING}Scale`]: kind(gvk('autoscaling', 'v1', 'Scale'), 'The replica count of a scalable resource, read and written through its scale subresource.', {
    spec: ref(`${AUTOSCALING}ScaleSpec`, 'The desired scale.'),
    status: ref(`${AUTOSCALING}ScaleStatus`, 'The observed scale. Read-only.'),
  }),
  [`${AUTOSCALING}ScaleSpec`]: object('The desired scale.', {
    replicas: int32('Number of replicas wanted.'),
  }),
  [`${AUTOSCALING}ScaleStatus`]: object('The observed scale.', {
    replicas: int32('Number of replicas observed.'),
    selector: str('Label selector of the pods, in string form ("app=web,tier in (a,b)").'),
  }, ['replicas']),
};

export const APPS_DEFINITIONS: Definitions = {
  ...DEPLOYMENT_DEFINITIONS,
  ...REPLICA_SET_DEFINITIONS,
  ...SCALE_DEFINITIONS,
};
