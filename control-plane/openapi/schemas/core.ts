/**
 * core/v1 kinds other than Pod: Namespace, Node, Service, Endpoints,
 * ConfigMap, Secret, Event, ServiceAccount, Binding, and what they share
 * (ObjectReference).
 */
import {
  CORE, INT_OR_STRING, META, MICRO_TIME,
  arrayOf, bool, gvk, int32, int64, kind, object, quantityMap, ref, str, stringList, stringMap, time,
  type Definitions,
} from './builders.js';

const core = (kindName: string) => gvk('', 'v1', kindName);

const conditionFields = {
  type: str('Condition type.'),
  status: str('True, False or Unknown.'),
  lastTransitionTime: time('When the status last changed.'),
  reason: str('CamelCase reason for the last transition.'),
  message: str('Human-readable details.'),
};

const NAMESPACE_DEFINITIONS: Definitions = {
  [`${CORE}Namespace`]: kind(core('Namespace'), 'A scope for names. Deleting it deletes everything in it.', {
    spec: ref(`${CORE}NamespaceSpec`, 'The desired namespace.'),
    status: ref(`${CORE}NamespaceStatus`, 'The observed namespace. Read-only.'),
  }),
  [`${CORE}NamespaceSpec`]: object('Spec of a namespace.', {
    finalizers: stringList('Cleanup steps that must finish before the namespace is removed.'),
  }),
  [`${CORE}NamespaceStatus`]: object('Status of a namespace.', {
    phase: str('Active, or Terminating while its contents are being deleted.'),
    conditions: arrayOf(ref(`${CORE}NamespaceCondition`), 'Details of the namespace\'s state.'),
  }),
  [`${CORE}NamespaceCondition`]: object('One aspect of a namespace\'s state.', conditionFields, ['type', 'status']),
};

const NODE_DEFINITIONS: Definitions = {
  [`${CORE}Node`]: kind(core('Node'), 'A machine that runs pods, registered by its node agent.', {
    spec: ref(`${CORE}NodeSpec`, 'How the node may be used.'),
    status: ref(`${CORE}NodeStatus`, 'What the node agent last reported. Read-only.'),
  }),
  [`${CORE}NodeSpec`]: object('How a node may be used.', {
    podCIDR: str('Pod IP range assigned to the node.'),
    podCIDRs: stringList('Pod IP ranges of the node, one per address family; the first equals podCIDR.'),
    providerID: str('ID of the node at its infrastructure provider.'),
    unschedulable: bool('Keep new pods off the node (kubectl cordon).'),
    taints: arrayOf(ref(`${CORE}Taint`), 'Taints repelling pods that do not tolerate them.'),
  }),
  [`${CORE}Taint`]: object('Marks a node so that pods without a matching toleration avoid it.', {
    key: str('Taint key.'),
    value: str('Taint value.'),
    effect: str('NoSchedule, PreferNoSchedule or NoExecute.'),
    timeAdded: time('When a NoExecute taint was added.'),
  }, ['key', 'effect']),
  [`${CORE}NodeStatus`]: object('The state of a node as its agent reports it.', {
    capacity: quantityMap('Total resources of the node.'),
    allocatable: quantityMap('Resources available to pods. Defaults to capacity.'),
    phase: str('Deprecated; unset.'),
    conditions: arrayOf(ref(`${CORE}NodeCondition`), 'Ready, MemoryPressure, DiskPressure, PIDPressure, ...'),
    addresses: arrayOf(ref(`${CORE}NodeAddress`), 'Addresses of the node.'),
    daemonEndpoints: ref(`${CORE}NodeDaemonEndpoints`, 'Endpoints of daemons on the node.'),
    nodeInfo: ref(`${CORE}NodeSystemInfo`, 'Versions and IDs of the node\'s software.'),
    images: arrayOf(ref(`${CORE}ContainerImage`), 'Images present on the node.'),
    volumesInUse: stringList('Volumes attached and mounted on the node.'),
  }),
  [`${CORE}NodeCondition`]: object('One aspect of a node\'s state.', {
    ...conditionFields,
    lastHeartbeatTime: time('When the node agent last confirmed this condition.'),
  }, ['type', 'status']),
  [`${CORE}NodeAddress`]: object('One address of a node.', {
    type: str('Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS.'),
    address: str('The address.'),
  }, ['type', 'address']),
  [`${CORE}NodeDaemonEndpoints`]: object('Ports of the daemons on a node.', {
    kubeletEndpoint: ref(`${CORE}DaemonEndpoint`, 'Port of the node agent.'),
  }),
  [`${CORE}DaemonEndpoint`]: object('A daemon\'s port.', { Port: int32('Port number.') }, ['Port']),
  [`${CORE}NodeSystemInfo`]: object('IDs and software versions of a node.', {
    machineID: str('Machine ID (/etc/machine-id).'),
    systemUUID: str('System UUID from the firmware.'),
    bootID: str('ID of the current boot.'),
    kernelVersion: str('Kernel version (uname -r).'),
    osImage: str('Operating system (from /etc/os-release).'),
    containerRuntimeVersion: str('Container runtime, "<name>://<version>".'),
    kubeletVersion: str('Version of the node agent.'),
    kubeProxyVersion: str('Deprecated; version of the service proxy.'),
    operatingSystem: str('GOOS-style operating system, e.g. linux.'),
    architecture: str('GOARCH-style architecture, e.g. amd64.'),
  }, ['machineID', 'systemUUID', 'bootID', 'kernelVersion', 'osImage', 'containerRuntimeVersion',
    'kubeletVersion', 'kubeProxyVersion', 'operatingSystem', 'architecture']),
  [`${CORE}ContainerImage`]: object('An image stored on a node.', {
    names: stringList('References naming the image.'),
    sizeBytes: int64('Size of the image.'),
  }),
};

const SERVICE_DEFINITIONS: Definitions = {
  [`${CORE}Service`]: kind(core('Service'), 'A stable virtual IP and DNS name in front of a set of pods.', {
    spec: ref(`${CORE}ServiceSpec`, 'The desired service.'),
    status: ref(`${CORE}ServiceStatus`, 'The observed service. Read-only.'),
  }),
  [`${CORE}ServiceSpec`]: object('What a service exposes and which pods back it.', {
    ports: arrayOf(ref(`${CORE}ServicePort`), 'Ports the service exposes.'),
    selector: stringMap('Pods with these labels back the service; without it Endpoints are managed by hand.'),
    clusterIP: str('Virtual IP of the service; allocated when empty, "None" for a headless service.'),
    clusterIPs: stringList('Virtual IPs, one per address family; the first equals clusterIP.'),
    type: str('ClusterIP (default), NodePort, LoadBalancer or ExternalName.'),
    externalIPs: stringList('Extra IPs on which nodes accept traffic for the service.'),
    sessionAffinity: str('None (default) or ClientIP: keep a client on one pod.'),
    loadBalancerIP: str('Deprecated: requested load-balancer IP.'),
    loadBalancerSourceRanges: stringList('Client CIDRs a load balancer admits.'),
    externalName: str('DNS name a service of type ExternalName is a CNAME for.'),
    externalTrafficPolicy: str('Cluster (default) or Local: whether external traffic may leave the receiving node.'),
    healthCheckNodePort: int32('Health check node port for type LoadBalancer with Local traffic policy.'),
    publishNotReadyAddresses: bool('Publish pods in DNS/endpoints before they are ready.'),
    sessionAffinityConfig: ref(`${CORE}SessionAffinityConfig`, 'Settings of sessionAffinity.'),
    ipFamilies: stringList('IPv4 and/or IPv6, in order.'),
    ipFamilyPolicy: str('SingleStack, PreferDualStack or RequireDualStack.'),
    allocateLoadBalancerNodePorts: bool('Allocate node ports for type LoadBalancer. Defaults to true.'),
    loadBalancerClass: str('Which load-balancer implementation handles the service.'),
    internalTrafficPolicy: str('Cluster (default) or Local: whether in-cluster traffic may leave the node.'),
  }),
  [`${CORE}ServicePort`]: object('One port of a service.', {
    name: str('Name of the port; required when there are several.'),
    protocol: str('TCP (default), UDP or SCTP.'),
    appProtocol: str('Application protocol, e.g. http or kubernetes.io/h2c.'),
    port: int32('Port the service listens on.'),
    targetPort: ref(INT_OR_STRING, 'Port number or container port name on the pods. Defaults to `port`.'),
    nodePort: int32('Port on every node, for NodePort and LoadBalancer services; allocated when unset.'),
  }, ['port']),
  [`${CORE}SessionAffinityConfig`]: object('Settings of session affinity.', {
    clientIP: ref(`${CORE}ClientIPConfig`, 'Settings of ClientIP affinity.'),
  }),
  [`${CORE}ClientIPConfig`]: object('Settings of ClientIP affinity.', {
    timeoutSeconds: int32('How long a client sticks to a pod. Defaults to 10800 (3 hours).'),
  }),
  [`${CORE}ServiceStatus`]: object('The observed state of a service.', {
    loadBalancer: ref(`${CORE}LoadBalancerStatus`, 'The load balancer, if any.'),
    conditions: arrayOf(ref(`${META}Condition`), 'Details of the service\'s state.'),
  }),
  [`${CORE}LoadBalancerStatus`]: object('A load balancer\'s addresses.', {
    ingress: arrayOf(ref(`${CORE}LoadBalancerIngress`), 'Where traffic for the service enters.'),
  }),
  [`${CORE}LoadBalancerIngress`]: object('One entry point of a load balancer.', {
    ip: str('IP address.'),
    hostname: str('DNS name.'),
    ipMode: str('VIP or Proxy: how traffic reaches the nodes.'),
  }),

  [`${CORE}Endpoints`]: kind(core('Endpoints'), 'The addresses actually backing a service; same name as the service.', {
    subsets: arrayOf(ref(`${CORE}EndpointSubset`), 'Groups of addresses that share the same ports.'),
  }),
  [`${CORE}EndpointSubset`]: object('Addresses that all serve the same ports.', {
    addresses: arrayOf(ref(`${CORE}EndpointAddress`), 'Ready addresses.'),
    notReadyAddresses: arrayOf(ref(`${CORE}EndpointAddress`), 'Addresses not ready yet.'),
    ports: arrayOf(ref(`${CORE}EndpointPort`), 'The ports.'),
  }),
  [`${CORE}EndpointAddress`]: {
    ...object('One backing address.', {
      ip: str('IP of the backend.'),
      hostname: str('Hostname of the backend.'),
      nodeName: str('Node the backend runs on.'),
      targetRef: ref(`${CORE}ObjectReference`, 'The object (usually a pod) behind the address.'),
    }, ['ip']),
    'x-kubernetes-map-type': 'atomic',
  },
  [`${CORE}EndpointPort`]: {
    ...object('One backing port.', {
      name: str('Matches the name of a service port.'),
      port: int32('Port number.'),
      protocol: str('TCP (default), UDP or SCTP.'),
      appProtocol: str('Application protocol.'),
    }, ['port']),
    'x-kubernetes-map-type': 'atomic',
  },
};

const CONFIG_DEFINITIONS: Definitions = {
  [`${CORE}ConfigMap`]: kind(core('ConfigMap'), 'Non-secret configuration as key/value pairs, for pods to consume.', {
    data: stringMap('UTF-8 values by key.'),
    binaryData: { type: 'object', description: 'Binary values by key, base64-encoded.', additionalProperties: { type: 'string', format: 'byte' } },
    immutable: bool('When true, data can no longer change (only deletion).'),
  }),
  [`${CORE}Secret`]: kind(core('Secret'), 'Sensitive key/value data (passwords, tokens, keys) for pods to consume.', {
    data: { type: 'object', description: 'Values by key, base64-encoded.', additionalProperties: { type: 'string', format: 'byte' } },
    stringData: stringMap('Write-only plain-text values, merged into `data` on write.'),
    type: str('What the data holds, e.g. Opaque or kubernetes.io/service-account-token.'),
    immutable: bool('When true, data can no longer change (only deletion).'),
  }),
  [`${CORE}ServiceAccount`]: kind(core('ServiceAccount'), 'An identity for processes running in pods.', {
    secrets: arrayOf(ref(`${CORE}ObjectReference`), 'Secrets pods running as this account may use.'),
    imagePullSecrets: arrayOf(ref(`${CORE}LocalObjectReference`), 'Registry credentials added to pods using this account.'),
    automountServiceAccountToken: bool('Whether pods get this account\'s token mounted by default.'),
  }),
  [`${CORE}Binding`]: kind(core('Binding'), 'Binds a pod to a node; what the scheduler posts to pods/binding.', {
    target: ref(`${CORE}ObjectReference`, 'The node to bind to.'),
  }, ['target']),
  [`${CORE}ObjectReference`]: {
    ...object('Points to another object.', {
      kind: str('Kind of the object.'),
      namespace: str('Namespace of the object.'),
      name: str('Name of the object.'),
      uid: str('UID of the object.'),
      apiVersion: str('API version of the object.'),
      resourceVersion: str('The object\'s resourceVersion when referenced.'),
      fieldPath: str('A part of the object, e.g. spec.containers{name}.'),
    }),
    'x-kubernetes-map-type': 'atomic',
  },
};

const EVENT_DEFINITIONS: Definitions = {
  [`${CORE}Event`]: kind(core('Event'), 'A report of something that happened to an object.', {
    involvedObject: ref(`${CORE}ObjectReference`, 'The object the event is about.'),
    reason: str('Short CamelCase reason, e.g. Scheduled, Pulled, BackOff.'),
    message: str('Human-readable description.'),
    source: ref(`${CORE}EventSource`, 'Who reported it.'),
    firstTimestamp: time('When the event was first seen.'),
    lastTimestamp: time('When it was most recently seen.'),
    count: int32('How many times it has been seen.'),
    type: str('Normal or Warning.'),
    eventTime: ref(MICRO_TIME, 'When the event was first observed, with microseconds.'),
    series: ref(`${CORE}EventSeries`, 'Data about a series of repeats of this event.'),
    action: str('What was done or failed, e.g. Binding.'),
    related: ref(`${CORE}ObjectReference`, 'A second object involved, if any.'),
    reportingComponent: str('Controller that emitted the event.'),
    reportingInstance: str('Instance of that controller.'),
  }, ['metadata', 'involvedObject']),
  [`${CORE}EventSource`]: object('Who reported an event.', {
    component: str('Component name.'),
    host: str('Node name.'),
  }),
  [`${CORE}EventSeries`]: object('Repeats of an event.', {
    count: int32('Number of repeats so far.'),
    lastObservedTime: ref(MICRO_TIME, 'When the last repeat was seen.'),
  }),
};

export const CORE_DEFINITIONS: Definitions = {
  ...NAMESPACE_DEFINITIONS,
  ...NODE_DEFINITIONS,
  ...SERVICE_DEFINITIONS,
  ...CONFIG_DEFINITIONS,
  ...EVENT_DEFINITIONS,
};
