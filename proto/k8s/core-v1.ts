/**
 * core/v1 object types (Pod, Node, Namespace, Service, Endpoints, ConfigMap,
 * Secret, Event, ServiceAccount, Binding) with Kubernetes' own field names and
 * JSON shapes. Only the fields Strake reads or defaults are typed; every type is
 * open (`Open`), so fields Strake does not know survive a round trip unchanged.
 *
 * These describe what a well-formed object looks like, not what a request
 * carries: bodies are plain JSON, so readers must still check shapes at runtime
 * (the validators under control-plane/validation do).
 */
import type { KubeObject, ObjectMeta } from './meta.js';

/** Lets an object keep fields Strake does not type. */
export interface Open { [field: string]: unknown; }

/** intstr.IntOrString: a port number or name, a count or a percentage ("25%"). */
export type IntOrString = number | string;

/** A resource quantity as it travels in JSON ("100m", "128Mi"); YAML may also give a bare number. */
export type QuantityText = string;

/** Resource name → quantity, as in `resources.limits` or `status.capacity`. */
export type ResourceList = Record<string, QuantityText>;

export const Protocol = { TCP: 'TCP', UDP: 'UDP', SCTP: 'SCTP' } as const;
export type Protocol = (typeof Protocol)[keyof typeof Protocol];

// ---------------------------------------------------------------- containers

export interface ContainerPort extends Open {
  name?: string;
  containerPort: number;
  hostPort?: number;
  hostIP?: string;
  protocol?: Protocol;
}

export interface ObjectFieldSelector extends Open { apiVersion?: string; fieldPath: string; }

export interface KeySelector extends Open { name?: string; key: string; optional?: boolean; }

export interface EnvVarSource extends Open {
  fieldRef?: ObjectFieldSelector;
  resourceFieldRef?: Open & { containerName?: string; resource: string; divisor?: QuantityText };
  configMapKeyRef?: KeySelector;
  secretKeyRef?: KeySelector;
}

export interface EnvVar extends Open { name: string; value?: string; valueFrom?: EnvVarSource; }

export interface EnvFromSource extends Open {
  prefix?: string;
  configMapRef?: Open & { name?: string; optional?: boolean };
  secretRef?: Open & { name?: string; optional?: boolean };
}

export interface ResourceRequirements extends Open { limits?: ResourceList; requests?: ResourceList; }

export interface ExecAction extends Open { command?: string[]; }

export interface HTTPHeader extends Open { name: string; value: string; }

export interface HTTPGetAction extends Open {
  path?: string;
  port: IntOrString;
  host?: string;
  scheme?: 'HTTP' | 'HTTPS';
  httpHeaders?: HTTPHeader[];
}

export interface TCPSocketAction extends Open { port: IntOrString; host?: string; }

export interface GRPCAction extends Open { port: number; service?: string; }

export interface Probe extends Open {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
  grpc?: GRPCAction;
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

/** A container lifecycle hook: what runs right after start (postStart) or before the stop signal (preStop). */
export interface LifecycleHandler extends Open {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
  sleep?: Open & { seconds: number };
}

export interface Lifecycle extends Open { postStart?: LifecycleHandler; preStop?: LifecycleHandler; }

export interface VolumeMount extends Open {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

export const PullPolicy = { Always: 'Always', IfNotPresent: 'IfNotPresent', Never: 'Never' } as const;
export type PullPolicy = (typeof PullPolicy)[keyof typeof PullPolicy];

export interface Container extends Open {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  ports?: ContainerPort[];
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  resources?: ResourceRequirements;
  volumeMounts?: VolumeMount[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: Lifecycle;
  imagePullPolicy?: PullPolicy;
  terminationMessagePath?: string;
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
  /** Only on init containers: "Always" makes it a sidecar. */
  restartPolicy?: 'Always';
  securityContext?: Open;
  stdin?: boolean;
  tty?: boolean;
}

// ---------------------------------------------------------------- volumes

export interface KeyToPath extends Open { key: string; path: string; mode?: number; }

export interface EmptyDirVolumeSource extends Open { medium?: '' | 'Memory'; sizeLimit?: QuantityText; }

export interface ConfigMapVolumeSource extends Open {
  name?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

export interface SecretVolumeSource extends Open {
  secretName?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

export interface HostPathVolumeSource extends Open { path: string; type?: string; }

export interface Volume extends Open {
  name: string;
  emptyDir?: EmptyDirVolumeSource;
  configMap?: ConfigMapVolumeSource;
  secret?: SecretVolumeSource;
  hostPath?: HostPathVolumeSource;
}

// ---------------------------------------------------------------- scheduling

export const TaintEffect = {
  NoSchedule: 'NoSchedule',
  PreferNoSchedule: 'PreferNoSchedule',
  NoExecute: 'NoExecute',
} as const;
export type TaintEffect = (typeof TaintEffect)[keyof typeof TaintEffect];

export interface Toleration extends Open {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: TaintEffect | '';
  tolerationSeconds?: number;
}

export interface Taint extends Open { key: string; value?: string; effect: TaintEffect; timeAdded?: string; }

export interface NodeSelectorRequirement extends Open {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

export interface NodeSelectorTerm extends Open {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface NodeAffinity extends Open {
  requiredDuringSchedulingIgnoredDuringExecution?: Open & { nodeSelectorTerms: NodeSelectorTerm[] };
  preferredDuringSchedulingIgnoredDuringExecution?: (Open & { weight: number; preference: NodeSelectorTerm })[];
}

export interface LabelSelectorRequirement extends Open {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** meta/v1 LabelSelector: matchLabels and matchExpressions are ANDed. */
export interface LabelSelector extends Open {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface PodAffinityTerm extends Open {
  labelSelector?: LabelSelector;
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  topologyKey: string;
}

export interface WeightedPodAffinityTerm extends Open { weight: number; podAffinityTerm: PodAffinityTerm; }

export interface PodAffinity extends Open {
  requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
  preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
}

export interface Affinity extends Open {
  nodeAffinity?: NodeAffinity;
  podAffinity?: PodAffinity;
  podAntiAffinity?: PodAffinity;
}

// ---------------------------------------------------------------- pods

export const RestartPolicy = { Always: 'Always', OnFailure: 'OnFailure', Never: 'Never' } as const;
export type RestartPolicy = (typeof RestartPolicy)[keyof typeof RestartPolicy];

export const DNSPolicy = {
  ClusterFirstWithHostNet: 'ClusterFirstWithHostNet',
  ClusterFirst: 'ClusterFirst',
  Default: 'Default',
  None: 'None',
} as const;
export type DNSPolicy = (typeof DNSPolicy)[keyof typeof DNSPolicy];

export interface PodSpec extends Open {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  restartPolicy?: RestartPolicy;
  terminationGracePeriodSeconds?: number;
  activeDeadlineSeconds?: number;
  dnsPolicy?: DNSPolicy;
  nodeSelector?: Record<string, string>;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  nodeName?: string;
  hostNetwork?: boolean;
  securityContext?: Open;
  hostname?: string;
  subdomain?: string;
  affinity?: Affinity;
  schedulerName?: string;
  tolerations?: Toleration[];
  priorityClassName?: string;
  priority?: number;
  preemptionPolicy?: 'PreemptLowerPriority' | 'Never';
  enableServiceLinks?: boolean;
}

export const PodPhase = {
  Pending: 'Pending',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Unknown: 'Unknown',
} as const;
export type PodPhase = (typeof PodPhase)[keyof typeof PodPhase];

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface PodCondition extends Open {
  type: string;
  status: ConditionStatus;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** Exactly one of the three is set. */
export interface ContainerState extends Open {
  waiting?: Open & { reason?: string; message?: string };
  running?: Open & { startedAt?: string };
  terminated?: Open & {
    exitCode: number;
    signal?: number;
    reason?: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
    containerID?: string;
  };
}

export interface ContainerStatus extends Open {
  name: string;
  state?: ContainerState;
  lastState?: ContainerState;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started?: boolean;
}

export interface PodIP extends Open { ip: string; }

export interface PodStatus extends Open {
  phase?: PodPhase;
  conditions?: PodCondition[];
  message?: string;
  reason?: string;
  hostIP?: string;
  hostIPs?: PodIP[];
  podIP?: string;
  podIPs?: PodIP[];
  startTime?: string;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses?: ContainerStatus[];
  qosClass?: 'Guaranteed' | 'Burstable' | 'BestEffort';
}

export interface PodTemplateSpec extends Open { metadata?: ObjectMeta; spec: PodSpec; }

export interface Pod extends KubeObject { spec: PodSpec; status?: PodStatus; }

/** The body of POST pods/{name}/binding: assigns the pod to `target` (a Node). */
export interface Binding extends KubeObject {
  target: Open & { apiVersion?: string; kind?: string; name: string };
}

// ---------------------------------------------------------------- nodes, namespaces

export interface NodeCondition extends Open {
  type: string;
  status: ConditionStatus;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface NodeAddress extends Open {
  type: 'Hostname' | 'InternalIP' | 'ExternalIP' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

export interface NodeSystemInfo extends Open {
  machineID?: string;
  systemUUID?: string;
  bootID?: string;
  kernelVersion?: string;
  osImage?: string;
  containerRuntimeVersion?: string;
  kubeletVersion?: string;
  kubeProxyVersion?: string;
  operatingSystem?: string;
  architecture?: string;
}

export interface NodeSpec extends Open {
  podCIDR?: string;
  podCIDRs?: string[];
  providerID?: string;
  unschedulable?: boolean;
  taints?: Taint[];
}

export interface NodeStatus extends Open {
  capacity?: ResourceList;
  allocatable?: ResourceList;
  conditions?: NodeCondition[];
  addresses?: NodeAddress[];
  nodeInfo?: NodeSystemInfo;
  /** Where the node's own server (logs, exec) listens; the API server proxies pods/log and pods/exec there. */
  daemonEndpoints?: NodeDaemonEndpoints;
}

export interface NodeDaemonEndpoints extends Open { kubeletEndpoint?: Open & { Port: number }; }

export interface Node extends KubeObject { spec?: NodeSpec; status?: NodeStatus; }

export interface Namespace extends KubeObject {
  spec?: Open & { finalizers?: string[] };
  status?: Open & { phase?: 'Active' | 'Terminating'; conditions?: Open[] };
}

// ---------------------------------------------------------------- services, endpoints

export const ServiceType = {
  ClusterIP: 'ClusterIP',
  NodePort: 'NodePort',
  LoadBalancer: 'LoadBalancer',
  ExternalName: 'ExternalName',
} as const;
export type ServiceType = (typeof ServiceType)[keyof typeof ServiceType];

/** The clusterIP of a headless service: no virtual IP, DNS answers with the endpoints. */
export const CLUSTER_IP_NONE = 'None';

export interface ServicePort extends Open {
  name?: string;
  protocol?: Protocol;
  port: number;
  targetPort?: IntOrString;
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceSpec extends Open {
  type?: ServiceType;
  ports?: ServicePort[];
  selector?: Record<string, string>;
  clusterIP?: string;
  clusterIPs?: string[];
  externalName?: string;
  sessionAffinity?: 'None' | 'ClientIP';
  externalTrafficPolicy?: 'Cluster' | 'Local';
  internalTrafficPolicy?: 'Cluster' | 'Local';
  publishNotReadyAddresses?: boolean;
}

export interface Service extends KubeObject { spec: ServiceSpec; status?: Open & { loadBalancer?: Open }; }

export interface ObjectReference extends Open {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface EndpointAddress extends Open {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}

export interface EndpointPort extends Open {
  name?: string;
  port: number;
  protocol?: Protocol;
  appProtocol?: string;
}

export interface EndpointSubset extends Open {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

export interface Endpoints extends KubeObject { subsets?: EndpointSubset[]; }

// ---------------------------------------------------------------- config, identity, events

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  /** Values are base64 in JSON. */
  binaryData?: Record<string, string>;
  immutable?: boolean;
}

export const SecretType = {
  Opaque: 'Opaque',
  ServiceAccountToken: 'kubernetes.io/service-account-token',
  DockerConfigJson: 'kubernetes.io/dockerconfigjson',
  BasicAuth: 'kubernetes.io/basic-auth',
  SshAuth: 'kubernetes.io/ssh-auth',
  Tls: 'kubernetes.io/tls',
} as const;

export interface Secret extends KubeObject {
  /** Values are base64 in JSON. */
  data?: Record<string, string>;
  /** Write-only plain-text values; merged into `data` (winning over it) before storage. */
  stringData?: Record<string, string>;
  /** One of SecretType's values, or any other string a user chooses. */
  type?: string;
  immutable?: boolean;
}

export interface ServiceAccount extends KubeObject {
  secrets?: ObjectReference[];
  imagePullSecrets?: (Open & { name?: string })[];
  automountServiceAccountToken?: boolean;
}

export interface EventSource extends Open { component?: string; host?: string; }

export interface Event extends KubeObject {
  involvedObject: ObjectReference;
  reason?: string;
  message?: string;
  /** "Normal" or "Warning". */
  type?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  source?: EventSource;
  reportingComponent?: string;
  reportingInstance?: string;
}
