/**
 * core/v1 Pod: the kind, its spec and status, and the scheduling terms
 * (affinity, tolerations, topology spread) a spec may carry.
 */
import {
  CORE, LABEL_SELECTOR, OBJECT_META,
  arrayOf, bool, gvk, int32, int64, kind, object, quantityMap, ref, str, stringList, stringMap, time,
  type Definitions,
} from './builders.js';

const podSpec = object('What a pod runs and how and where it is run.', {
  volumes: arrayOf(ref(`${CORE}Volume`), 'Volumes the containers of the pod can mount.'),
  initContainers: arrayOf(
    ref(`${CORE}Container`),
    'Containers run to completion one after another before the app containers start.',
  ),
  containers: arrayOf(ref(`${CORE}Container`), 'The app containers. At least one; they start together.'),
  restartPolicy: str('Always (default), OnFailure or Never: whether exited containers are restarted.'),
  terminationGracePeriodSeconds: int64('Seconds between the stop signal and the kill on deletion. Defaults to 30.'),
  activeDeadlineSeconds: int64('Seconds the pod may run before the node fails it.'),
  dnsPolicy: str('ClusterFirst (default), ClusterFirstWithHostNet, Default or None.'),
  nodeSelector: stringMap('Node labels a node must have for the pod to be scheduled there.'),
  serviceAccountName: str('Service account the pod runs as. Defaults to "default".'),
  serviceAccount: str('Deprecated alias of serviceAccountName.'),
  automountServiceAccountToken: bool('Whether the service account token is mounted into the containers.'),
  nodeName: str('Node the pod is bound to. Set by the scheduler; set it yourself to skip scheduling.'),
  hostNetwork: bool('Use the node\'s network namespace. Ports must then be free on the node.'),
  hostPID: bool('Use the node\'s PID namespace.'),
  hostIPC: bool('Use the node\'s IPC namespace.'),
  shareProcessNamespace: bool('Put all containers of the pod in one PID namespace.'),
  securityContext: ref(`${CORE}PodSecurityContext`, 'Security options applying to every container.'),
  imagePullSecrets: arrayOf(
    ref(`${CORE}LocalObjectReference`),
    'Secrets in the pod\'s namespace with registry credentials for pulling images.',
  ),
  hostname: str('Hostname of the pod. Defaults to the pod name.'),
  subdomain: str('If set, the pod\'s FQDN is <hostname>.<subdomain>.<namespace>.svc.<cluster domain>.'),
  affinity: ref(`${CORE}Affinity`, 'Scheduling constraints relative to node labels and to other pods.'),
  schedulerName: str('Scheduler that places the pod. Defaults to "default-scheduler".'),
  tolerations: arrayOf(ref(`${CORE}Toleration`), 'Node taints this pod accepts.'),
  hostAliases: arrayOf(ref(`${CORE}HostAlias`), 'Extra entries for the pod\'s /etc/hosts.'),
  priorityClassName: str('Name of a PriorityClass giving the pod its priority.'),
  priority: int32('Priority resolved from priorityClassName. Set by the server.'),
  dnsConfig: ref(`${CORE}PodDNSConfig`, 'DNS settings merged into the ones dnsPolicy produces.'),
  readinessGates: arrayOf(
    ref(`${CORE}PodReadinessGate`),
    'Extra conditions that must be True for the pod to count as ready.',
  ),
  runtimeClassName: str('RuntimeClass to run the pod with.'),
  enableServiceLinks: bool('Inject environment variables for the services of the namespace. Defaults to true.'),
  preemptionPolicy: str('PreemptLowerPriority (default) or Never.'),
  overhead: quantityMap('Resources the pod\'s sandbox uses beyond its containers.'),
  topologySpreadConstraints: arrayOf(
    ref(`${CORE}TopologySpreadConstraint`),
    'How matching pods should be spread across topology domains (zones, nodes, ...).',
  ),
  setHostnameAsFQDN: bool('Make the hostname the pod\'s fully qualified domain name.'),
  os: ref(`${CORE}PodOS`, 'Operating system the pod needs.'),
  hostUsers: bool('Use the host user namespace (true, the default) or a new one.'),
  schedulingGates: arrayOf(
    ref(`${CORE}PodSchedulingGate`),
    'While any gate is listed, the scheduler leaves the pod alone.',
  ),
}, ['containers']);

const podStatus = object('What the node last observed about the pod. Written by the system.', {
  phase: str('Pending, Running, Succeeded, Failed or Unknown: a coarse summary of the pod\'s lifecycle.'),
  conditions: arrayOf(ref(`${CORE}PodCondition`), 'Detailed state: PodScheduled, Initialized, ContainersReady, Ready.'),
  message: str('Human-readable reason for the current phase.'),
  reason: str('Brief CamelCase reason for the current phase, e.g. Evicted.'),
  nominatedNodeName: str('Node the scheduler expects to place the pod on after preemption.'),
  hostIP: str('IP of the node the pod runs on.'),
  hostIPs: arrayOf(ref(`${CORE}HostIP`), 'IPs of the node, one per address family.'),
  podIP: str('IP of the pod.'),
  podIPs: arrayOf(ref(`${CORE}PodIP`), 'IPs of the pod, one per address family; the first equals podIP.'),
  startTime: time('When the node accepted the pod, before any image was pulled.'),
  initContainerStatuses: arrayOf(ref(`${CORE}ContainerStatus`), 'Status of each init container.'),
  containerStatuses: arrayOf(ref(`${CORE}ContainerStatus`), 'Status of each app container.'),
  qosClass: str('Guaranteed, Burstable or BestEffort, from the resource requests and limits.'),
});

const weightedTerms = (what: string) => ({
  requiredDuringSchedulingIgnoredDuringExecution: arrayOf(
    ref(`${CORE}PodAffinityTerm`),
    `Terms every candidate node must satisfy (${what}); not re-checked once the pod runs.`,
  ),
  preferredDuringSchedulingIgnoredDuringExecution: arrayOf(
    ref(`${CORE}WeightedPodAffinityTerm`),
    `Terms the scheduler prefers (${what}), weighted; nodes are scored by the sum of matched weights.`,
  ),
});

export const CORE_POD_DEFINITIONS: Definitions = {
  [`${CORE}Pod`]: kind(gvk('', 'v1', 'Pod'), 'A group of containers scheduled together onto one node, sharing network and volumes.', {
    spec: ref(`${CORE}PodSpec`, 'The desired pod.'),
    status: ref(`${CORE}PodStatus`, 'The observed pod. Read-only.'),
  }),
  [`${CORE}PodSpec`]: podSpec,
  [`${CORE}PodStatus`]: podStatus,
  [`${CORE}PodTemplateSpec`]: object('The pods a controller creates: their metadata and spec.', {
    metadata: ref(OBJECT_META, 'Metadata for the created pods; labels must match the controller\'s selector.'),
    spec: ref(`${CORE}PodSpec`, 'Spec of the created pods.'),
  }),

  [`${CORE}PodCondition`]: object('One aspect of a pod\'s state.', {
    type: str('PodScheduled, Initialized, ContainersReady, Ready, or a readiness gate.'),
    status: str('True, False or Unknown.'),
    lastProbeTime: time('When the condition was last checked.'),
    lastTransitionTime: time('When the status last changed.'),
    reason: str('CamelCase reason for the last transition.'),
    message: str('Human-readable details.'),
  }, ['type', 'status']),
  [`${CORE}PodIP`]: object('One IP of a pod.', { ip: str('The address.') }, ['ip']),
  [`${CORE}HostIP`]: object('One IP of the pod\'s node.', { ip: str('The address.') }, ['ip']),
  [`${CORE}ContainerStatus`]: object('The state of one container as the node reports it.', {
    name: str('Name of the container.'),
    state: ref(`${CORE}ContainerState`, 'Current state.'),
    lastState: ref(`${CORE}ContainerState`, 'State of the previous run, when it has been restarted.'),
    ready: bool('Whether the readiness probe passes.'),
    restartCount: int32('How many times the container has been restarted.'),
    image: str('Image the container runs.'),
    imageID: str('Resolved image ID.'),
    containerID: str('Runtime-specific ID, "<runtime>://<id>".'),
    started: bool('Whether the startup probe passed (or there is none) and the container runs.'),
  }, ['name', 'ready', 'restartCount', 'image', 'imageID']),
  [`${CORE}ContainerState`]: object('State of a container. Exactly one field is set.', {
    waiting: ref(`${CORE}ContainerStateWaiting`, 'Not running yet.'),
    running: ref(`${CORE}ContainerStateRunning`, 'Running.'),
    terminated: ref(`${CORE}ContainerStateTerminated`, 'Finished or killed.'),
  }),
  [`${CORE}ContainerStateWaiting`]: object('A container that does not run yet.', {
    reason: str('Why, e.g. ContainerCreating, ImagePullBackOff, CrashLoopBackOff.'),
    message: str('Details.'),
  }),
  [`${CORE}ContainerStateRunning`]: object('A running container.', {
    startedAt: time('When the container last started.'),
  }),
  [`${CORE}ContainerStateTerminated`]: object('A container that has exited.', {
    exitCode: int32('Exit code of the process.'),
    signal: int32('Signal that ended the process, if any.'),
    reason: str('Brief reason, e.g. Completed, Error, OOMKilled.'),
    message: str('Details.'),
    startedAt: time('When the run started.'),
    finishedAt: time('When the run ended.'),
    containerID: str('Runtime-specific ID of the container.'),
  }, ['exitCode']),

  [`${CORE}LocalObjectReference`]: {
    ...object('Names an object in the same namespace.', { name: str('Name of the object.') }),
    'x-kubernetes-map-type': 'atomic',
  },
  [`${CORE}PodOS`]: object('The operating system a pod runs on.', {
    name: str('linux or windows.'),
  }, ['name']),
  [`${CORE}PodSchedulingGate`]: object('A gate holding a pod back from scheduling.', {
    name: str('Name of the gate.'),
  }, ['name']),
  [`${CORE}PodReadinessGate`]: object('A pod condition that readiness also depends on.', {
    conditionType: str('Type of the pod condition.'),
  }, ['conditionType']),
  [`${CORE}HostAlias`]: object('One /etc/hosts entry.', {
    ip: str('IP address.'),
    hostnames: stringList('Names for the address.'),
  }, ['ip']),
  [`${CORE}PodDNSConfig`]: object('DNS settings of a pod.', {
    nameservers: stringList('Name server IPs.'),
    searches: stringList('Search domains.'),
    options: arrayOf(ref(`${CORE}PodDNSConfigOption`), 'Resolver options.'),
  }),
  [`${CORE}PodDNSConfigOption`]: object('One resolver option.', {
    name: str('Option name, e.g. ndots.'),
    value: str('Option value.'),
  }),

  [`${CORE}Toleration`]: object('Lets a pod be scheduled on (or stay on) nodes with a matching taint.', {
    key: str('Taint key; empty with operator Exists matches every taint.'),
    operator: str('Equal (default) or Exists.'),
    value: str('Taint value to match with Equal.'),
    effect: str('Taint effect to match: NoSchedule, PreferNoSchedule or NoExecute; empty matches all.'),
    tolerationSeconds: int64('For NoExecute: how long the pod stays after the taint appears. Forever when unset.'),
  }),
  [`${CORE}TopologySpreadConstraint`]: object('How evenly matching pods must spread over a topology.', {
    maxSkew: int32('Largest allowed difference in matching pods between two domains.'),
    topologyKey: str('Node label whose values define the domains, e.g. topology.kubernetes.io/zone.'),
    whenUnsatisfiable: str('DoNotSchedule (default) or ScheduleAnyway.'),
    labelSelector: ref(LABEL_SELECTOR, 'Which pods are counted.'),
    minDomains: int32('Minimum number of eligible domains.'),
    nodeAffinityPolicy: str('Honor (default) or Ignore: whether nodeAffinity limits the domains counted.'),
    nodeTaintsPolicy: str('Honor or Ignore (default): whether tainted nodes are counted.'),
    matchLabelKeys: stringList('Pod label keys whose values are added to the selector.'),
  }, ['maxSkew', 'topologyKey', 'whenUnsatisfiable']),

  [`${CORE}Affinity`]: object('Scheduling constraints of a pod.', {
    nodeAffinity: ref(`${CORE}NodeAffinity`, 'Constraints on the labels of the node.'),
    podAffinity: ref(`${CORE}PodAffinity`, 'Place near pods matching some terms.'),
    podAntiAffinity: ref(`${CORE}PodAntiAffinity`, 'Keep away from pods matching some terms.'),
  }),
  [`${CORE}NodeAffinity`]: object('Constraints on the labels of the node a pod goes to.', {
    requiredDuringSchedulingIgnoredDuringExecution: ref(
      `${CORE}NodeSelector`,
      'Terms the node must satisfy; not re-checked once the pod runs.',
    ),
    preferredDuringSchedulingIgnoredDuringExecution: arrayOf(
      ref(`${CORE}PreferredSchedulingTerm`),
      'Terms the scheduler prefers, weighted.',
    ),
  }),
  [`${CORE}NodeSelector`]: {
    ...object('Node selection terms, ORed.', {
      nodeSelectorTerms: arrayOf(ref(`${CORE}NodeSelectorTerm`), 'The terms; a node matching any of them qualifies.'),
    }, ['nodeSelectorTerms']),
    'x-kubernetes-map-type': 'atomic',
  },
  [`${CORE}NodeSelectorTerm`]: {
    ...object('Requirements ANDed together.', {
      matchExpressions: arrayOf(ref(`${CORE}NodeSelectorRequirement`), 'Requirements on node labels.'),
      matchFields: arrayOf(ref(`${CORE}NodeSelectorRequirement`), 'Requirements on node fields (metadata.name).'),
    }),
    'x-kubernetes-map-type': 'atomic',
  },
  [`${CORE}NodeSelectorRequirement`]: object('One requirement on a node label or field.', {
    key: str('The label key or field name.'),
    operator: str('In, NotIn, Exists, DoesNotExist, Gt or Lt.'),
    values: stringList('Values for In/NotIn; one integer for Gt/Lt; empty for Exists/DoesNotExist.'),
  }, ['key', 'operator']),
  [`${CORE}PreferredSchedulingTerm`]: object('A weighted node preference.', {
    weight: int32('Weight, 1-100.'),
    preference: ref(`${CORE}NodeSelectorTerm`, 'The preferred term.'),
  }, ['weight', 'preference']),
  [`${CORE}PodAffinity`]: object('Co-location with other pods.', weightedTerms('co-location')),
  [`${CORE}PodAntiAffinity`]: object('Separation from other pods.', weightedTerms('separation')),
  [`${CORE}PodAffinityTerm`]: object('Pods in the same topology domain that match a selector.', {
    labelSelector: ref(LABEL_SELECTOR, 'Which pods are meant.'),
    namespaces: stringList('Namespaces to look in. Defaults to the pod\'s own.'),
    namespaceSelector: ref(LABEL_SELECTOR, 'Namespaces to look in, by label; ORed with `namespaces`.'),
    topologyKey: str('Node label whose value defines "the same domain", e.g. kubernetes.io/hostname.'),
    matchLabelKeys: stringList('Pod label keys whose values are added to labelSelector as In requirements.'),
    mismatchLabelKeys: stringList('Pod label keys whose values are added to labelSelector as NotIn requirements.'),
  }, ['topologyKey']),
  [`${CORE}WeightedPodAffinityTerm`]: object('A weighted pod (anti-)affinity preference.', {
    weight: int32('Weight, 1-100.'),
    podAffinityTerm: ref(`${CORE}PodAffinityTerm`, 'The term.'),
  }, ['weight', 'podAffinityTerm']),
};
