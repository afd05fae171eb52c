/**
 * apps/v1 Deployment and ReplicaSet, and autoscaling/v1 Scale (their `scale`
 * subresource), with Kubernetes' field names. Open like core-v1: unknown fields
 * survive a round trip.
 */
import type { KubeObject } from './meta.js';
import type { IntOrString, LabelSelector, Open, PodTemplateSpec } from './core-v1.js';

export const DeploymentStrategyType = { RollingUpdate: 'RollingUpdate', Recreate: 'Recreate' } as const;
export type DeploymentStrategyType = (typeof DeploymentStrategyType)[keyof typeof DeploymentStrategyType];

export interface RollingUpdateDeployment extends Open {
  /** Pods that may be unavailable during the update: a count or a percentage of `replicas`. */
  maxUnavailable?: IntOrString;
  /** Pods that may exist above `replicas` during the update: a count or a percentage. */
  maxSurge?: IntOrString;
}

export interface DeploymentStrategy extends Open {
  type?: DeploymentStrategyType;
  /** Only with type RollingUpdate. */
  rollingUpdate?: RollingUpdateDeployment;
}

export interface DeploymentSpec extends Open {
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  strategy?: DeploymentStrategy;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  paused?: boolean;
  progressDeadlineSeconds?: number;
}

export interface DeploymentCondition extends Open {
  /** "Available", "Progressing" or "ReplicaFailure". */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface DeploymentStatus extends Open {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: DeploymentCondition[];
  collisionCount?: number;
}

export interface Deployment extends KubeObject {
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

export interface ReplicaSetSpec extends Open {
  replicas?: number;
  minReadySeconds?: number;
  selector: LabelSelector;
  template?: PodTemplateSpec;
}

export interface ReplicaSetCondition extends Open {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface ReplicaSetStatus extends Open {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: ReplicaSetCondition[];
}

export interface ReplicaSet extends KubeObject {
  spec: ReplicaSetSpec;
  status?: ReplicaSetStatus;
}

/** autoscaling/v1 Scale: what GET/PUT .../deployments/{name}/scale carry. */
export interface Scale extends KubeObject {
  spec?: Open & { replicas?: number };
  status?: Open & { replicas: number; selector?: string };
}
