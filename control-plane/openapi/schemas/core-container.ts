/**
 * core/v1 container definitions: Container and what it holds (ports,
 * environment, resources, probes, lifecycle hooks, security context).
 */
import {
  CORE, INT_OR_STRING, QUANTITY,
  arrayOf, bool, int32, int64, object, quantityMap, ref, str, stringList,
  type Definitions,
} from './builders.js';

const probeHandlers = {
  exec: ref(`${CORE}ExecAction`, 'Run a command in the container.'),
  httpGet: ref(`${CORE}HTTPGetAction`, 'Send an HTTP GET request to the container.'),
  tcpSocket: ref(`${CORE}TCPSocketAction`, 'Open a TCP connection to the container.'),
};

export const CORE_CONTAINER_DEFINITIONS: Definitions = {
  [`${CORE}Container`]: object('One container of a pod: an image, the process it runs, and how it is run.', {
    name: str('Name of the container, unique within the pod (a DNS label). Cannot be updated.'),
    image: str('Container image reference, e.g. "nginx:1.25" or "registry.example/app@sha256:...".'),
    command: stringList(
      "Entrypoint, replacing the image's ENTRYPOINT. $(VAR) references to container environment variables are expanded.",
    ),
    args: stringList("Arguments to the entrypoint, replacing the image's CMD. $(VAR) references are expanded."),
    workingDir: str("Working directory of the process; the image's default when empty."),
    ports: arrayOf(ref(`${CORE}ContainerPort`), 'Ports the container exposes. Informational; any listening port is reachable.'),
    envFrom: arrayOf(
      ref(`${CORE}EnvFromSource`),
      'Sources whose every key becomes an environment variable. `env` wins on duplicates.',
    ),
    env: arrayOf(ref(`${CORE}EnvVar`), 'Environment variables to set in the container.'),
    resources: ref(`${CORE}ResourceRequirements`, 'CPU and memory this container requests and may at most use.'),
    restartPolicy: str('Only for init containers: "Always" makes it a sidecar that keeps running beside the main containers.'),
    volumeMounts: arrayOf(ref(`${CORE}VolumeMount`), "Pod volumes to mount into the container's filesystem."),
    volumeDevices: arrayOf(ref(`${CORE}VolumeDevice`), 'Block devices to expose in the container.'),
    livenessProbe: ref(`${CORE}Probe`, 'Checks the container is alive; it is restarted when this keeps failing.'),
    readinessProbe: ref(`${CORE}Probe`, 'Checks the container can serve; while it fails, the pod is taken out of service endpoints.'),
    startupProbe: ref(`${CORE}Probe`, 'Checks the container has started; the other probes wait until it succeeds.'),
    lifecycle: ref(`${CORE}Lifecycle`, 'Actions run right after the container starts and just before it stops.'),
    terminationMessagePath: str('File whose contents become the termination message. Defaults to /dev/termination-log.'),
    terminationMessagePolicy: str('File (default) or FallbackToLogsOnError: where the termination message comes from.'),
    imagePullPolicy: str('Always, Never or IfNotPresent. Defaults to Always for :latest, IfNotPresent otherwise.'),
    securityContext: ref(`${CORE}SecurityContext`, 'Security options of this container, overriding the pod-level ones.'),
    stdin: bool('Keep a stdin buffer open for the container.'),
    stdinOnce: bool('Close stdin after the first attached client disconnects.'),
    tty: bool('Allocate a TTY for the container (needs stdin).'),
  }, ['name']),

  [`${CORE}ContainerPort`]: object('A network port of a container.', {
    name: str('Optional IANA_SVC_NAME, unique in the pod; services can target the port by it.'),
    hostPort: int32('Port to expose on the node; most pods do not need one.'),
    containerPort: int32('Port number on the pod IP (1-65535).'),
    protocol: str('TCP (default), UDP or SCTP.'),
    hostIP: str('Node IP to bind the host port to.'),
  }, ['containerPort']),

  [`${CORE}EnvVar`]: object('An environment variable of a container.', {
    name: str('Variable name.'),
    value: str('Literal value; $(VAR) references to earlier variables are expanded. Defaults to "".'),
    valueFrom: ref(`${CORE}EnvVarSource`, 'Take the value from elsewhere. Cannot be used with `value`.'),
  }, ['name']),
  [`${CORE}EnvVarSource`]: object('Where an environment variable takes its value from. Set exactly one field.', {
    fieldRef: ref(`${CORE}ObjectFieldSelector`, 'A field of the pod: metadata.name, metadata.namespace, status.podIP, ...'),
    resourceFieldRef: ref(`${CORE}ResourceFieldSelector`, 'A resource limit or request of a container.'),
    configMapKeyRef: ref(`${CORE}ConfigMapKeySelector`, 'A key of a ConfigMap.'),
    secretKeyRef: ref(`${CORE}SecretKeySelector`, 'A key of a Secret.'),
  }),
  [`${CORE}ObjectFieldSelector`]: {
    ...object('Selects a field of the pod.', {
      apiVersion: str('API version the path is written in. Defaults to "v1".'),
      fieldPath: str('Path of the field, e.g. "metadata.labels[\'app\']".'),
    }, ['fieldPath']),
    'x-kubernetes-map-type': 'atomic',
  },
  [`${CORE}ResourceFieldSelector`]: {
    ...object('Selects a resource (limits.cpu, requests.memory, ...) of a container.', {
      containerName: str('The container; required in volumes, optional in environment variables.'),
      resource: str('The resource, e.g. "limits.memory".'),
      divisor: ref(QUANTITY, 'Unit the value is expressed in. Defaults to "1".'),
    }, ['resource']),
    'x-kubernetes-map-type': 'atomic',
  },
  [`${CORE}ConfigMapKeySelector`]: {
    ...object('Selects one key of a ConfigMap.', {
      name: str('Name of the ConfigMap.'),
      key: str('The key to select.'),
      optional: bool('Tolerate a missing ConfigMap or key.'),
    }, ['key']),
    'x-kubernetes-map-type': 'atomic',
  },
  [`${CORE}SecretKeySelector`]: {
    ...object('Selects one key of a Secret.', {
      name: str('Name of the Secret.'),
      key: str('The key to select.'),
      optional: bool('Tolerate a missing Secret or key.'),
    }, ['key']),
    'x-kubernetes-map-type': 'atomic',
  },
  [`${CORE}EnvFromSource`]: object('A ConfigMap or Secret whose keys all become environment variables.', {
    prefix: str('Prefix prepended to every key.'),
    configMapRef: ref(`${CORE}ConfigMapEnvSource`, 'The ConfigMap to read.'),
    secretRef: ref(`${CORE}SecretEnvSource`, 'The Secret to read.'),
  }),
  [`${CORE}ConfigMapEnvSource`]: object('A ConfigMap used as a source of environment variables.', {
    name: str('Name of the ConfigMap.'),
    optional: bool('Tolerate a missing ConfigMap.'),
  }),
  [`${CORE}SecretEnvSource`]: object('A Secret used as a source of environment variables.', {
    name: str('Name of the Secret.'),
    optional: bool('Tolerate a missing Secret.'),
  }),

  [`${CORE}ResourceRequirements`]: object('Compute resources of a container.', {
    limits: quantityMap('Most of each resource the container may use (cpu, memory, ...).'),
    requests: quantityMap('Resources the scheduler reserves for the container. Default to the limits.'),
  }),

  [`${CORE}VolumeMount`]: object('Where a pod volume appears in a container.', {
    name: str('Name of the pod volume.'),
    readOnly: bool('Mount read-only. Defaults to false.'),
    mountPath: str('Path inside the container; must not contain ":".'),
    subPath: str('Path inside the volume to mount instead of its root.'),
    mountPropagation: str('None (default), HostToContainer or Bidirectional.'),
    subPathExpr: str('Like subPath, with $(VAR) expansion from the container environment.'),
  }, ['name', 'mountPath']),
  [`${CORE}VolumeDevice`]: object('A raw block volume exposed as a device.', {
    name: str('Name of a persistentVolumeClaim volume of the pod.'),
    devicePath: str('Device path inside the container.'),
  }, ['name', 'devicePath']),

  [`${CORE}Probe`]: object('A health check of a container and when to run it. Set exactly one handler.', {
    ...probeHandlers,
    grpc: ref(`${CORE}GRPCAction`, 'Call the gRPC health checking service.'),
    initialDelaySeconds: int32('Seconds after the container starts before the first check.'),
    timeoutSeconds: int32('Seconds before a check times out. Defaults to 1.'),
    periodSeconds: int32('Seconds between checks. Defaults to 10.'),
    successThreshold: int32('Consecutive successes that count as passing after a failure. Defaults to 1.'),
    failureThreshold: int32('Consecutive failures that count as failing. Defaults to 3.'),
    terminationGracePeriodSeconds: int64('Grace period when a failing probe kills the container; overrides the pod\'s.'),
  }),
  [`${CORE}ExecAction`]: object('A command run inside the container; exit status 0 is success.', {
    command: stringList('The command line; not run in a shell unless you call one.'),
  }),
  [`${CORE}HTTPGetAction`]: object('An HTTP GET request; status 200-399 is success.', {
    path: str('Request path.'),
    port: ref(INT_OR_STRING, 'Port number or name of a container port.'),
    host: str('Host to connect to. Defaults to the pod IP.'),
    scheme: str('HTTP (default) or HTTPS.'),
    httpHeaders: arrayOf(ref(`${CORE}HTTPHeader`), 'Extra request headers.'),
  }, ['port']),
  [`${CORE}HTTPHeader`]: object('One HTTP header.', {
    name: str('Header name.'),
    value: str('Header value.'),
  }, ['name', 'value']),
  [`${CORE}TCPSocketAction`]: object('A TCP connect; an accepted connection is success.', {
    port: ref(INT_OR_STRING, 'Port number or name of a container port.'),
    host: str('Host to connect to. Defaults to the pod IP.'),
  }, ['port']),
  [`${CORE}GRPCAction`]: object('A call to the standard gRPC health service.', {
    port: int32('Port of the gRPC service.'),
    service: str('Service name placed in the HealthCheckRequest.'),
  }, ['port']),

  [`${CORE}Lifecycle`]: object('Hooks the runtime calls around a container\'s start and stop.', {
    postStart: ref(`${CORE}LifecycleHandler`, 'Runs right after the container is created; failure restarts it.'),
    preStop: ref(`${CORE}LifecycleHandler`, 'Runs before the container is stopped; the grace period keeps counting.'),
  }),
  [`${CORE}LifecycleHandler`]: object('One hook action. Set exactly one field.', {
    ...probeHandlers,
    sleep: ref(`${CORE}SleepAction`, 'Wait for a while.'),
  }),
  [`${CORE}SleepAction`]: object('Sleeps before continuing.', {
    seconds: int64('Seconds to sleep.'),
  }, ['seconds']),

  [`${CORE}SecurityContext`]: object('Security options of one container. They override the pod\'s where both are set.', {
    capabilities: ref(`${CORE}Capabilities`, 'Linux capabilities to add to or drop from the default set.'),
    privileged: bool('Run as privileged: like root on the host. Defaults to false.'),
    seLinuxOptions: ref(`${CORE}SELinuxOptions`, 'SELinux context of the container.'),
    runAsUser: int64('UID the process runs as. Defaults to the image\'s user.'),
    runAsGroup: int64('GID the process runs as.'),
    runAsNonRoot: bool('Refuse to start the container if it would run as UID 0.'),
    readOnlyRootFilesystem: bool('Mount the root filesystem read-only.'),
    allowPrivilegeEscalation: bool('Whether a process may gain more privileges than its parent (no_new_privs).'),
    procMount: str('Default or Unmasked: how /proc is masked.'),
    seccompProfile: ref(`${CORE}SeccompProfile`, 'Seccomp filter of the container.'),
    appArmorProfile: ref(`${CORE}AppArmorProfile`, 'AppArmor profile of the container.'),
  }),
  [`${CORE}PodSecurityContext`]: object('Security options for all containers of a pod.', {
    seLinuxOptions: ref(`${CORE}SELinuxOptions`, 'SELinux context of all containers.'),
    runAsUser: int64('UID the processes run as.'),
    runAsGroup: int64('GID the processes run as.'),
    runAsNonRoot: bool('Refuse to start a container that would run as UID 0.'),
    supplementalGroups: arrayOf(int64('A group ID.'), 'Extra GIDs every container process belongs to.'),
    fsGroup: int64('GID that owns the pod\'s volumes and is added to every process.'),
    fsGroupChangePolicy: str('OnRootMismatch or Always: when volume ownership is changed to fsGroup.'),
    sysctls: arrayOf(ref(`${CORE}Sysctl`), 'Namespaced kernel parameters set for the pod.'),
    seccompProfile: ref(`${CORE}SeccompProfile`, 'Seccomp filter of all containers.'),
    appArmorProfile: ref(`${CORE}AppArmorProfile`, 'AppArmor profile of all containers.'),
  }),
  [`${CORE}Capabilities`]: object('Linux capabilities to change.', {
    add: stringList('Capabilities to add, e.g. NET_ADMIN.'),
    drop: stringList('Capabilities to drop, e.g. ALL.'),
  }),
  [`${CORE}SELinuxOptions`]: object('SELinux labels.', {
    user: str('SELinux user.'),
    role: str('SELinux role.'),
    type: str('SELinux type.'),
    level: str('SELinux level.'),
  }),
  [`${CORE}SeccompProfile`]: object('A seccomp profile.', {
    type: str('RuntimeDefault, Unconfined or Localhost.'),
    localhostProfile: str('Path of the profile on the node, for type Localhost.'),
  }, ['type']),
  [`${CORE}AppArmorProfile`]: object('An AppArmor profile.', {
    type: str('RuntimeDefault, Unconfined or Localhost.'),
    localhostProfile: str('Name of a profile loaded on the node, for type Localhost.'),
  }, ['type']),
  [`${CORE}Sysctl`]: object('One kernel parameter.', {
    name: str('Parameter name, e.g. net.ipv4.ip_unprivileged_port_start.'),
    value: str('Value to set.'),
  }, ['name', 'value']),
};
