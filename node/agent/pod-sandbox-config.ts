/**
 * The CRI PodSandboxConfig of a pod, as the kubelet builds it: identity
 * (name, namespace, uid, attempt), hostname, the pod's log directory
 * (<rootDir>/logs/pods/<namespace>_<name>_<uid>/, where container logs land
 * as <container>/<restartCount>.log), host ports, the pod's labels plus the
 * agent's identity labels (labels.ts), and the network namespace: the node's
 * for hostNetwork pods, a pod's own otherwise.
 */
import { join } from 'node:path';
import type { LinuxPodSandboxConfig, PodSandboxConfig, PortMapping } from '../../proto/cri/types.js';
import type { Pod } from '../../proto/k8s/core-v1.js';
import { PodLabel } from './labels.js';

/** A DNS label's length: hostnames longer than this are cut (the kubelet's rule). */
const HOSTNAME_CHARS_MAX = 63;

export function podLogDirectory(rootDir: string, pod: Pod): string {
  const m = pod.metadata;
  return join(rootDir, 'logs', 'pods', `${m.namespace ?? 'default'}_${m.name ?? ''}_${m.uid ?? ''}`);
}

/** A container's log file, relative to the pod's log directory. */
export function containerLogPath(containerName: string, restartCount: number): string {
  return join(containerName, `${restartCount}.log`);
}

export function podIdentityLabels(pod: Pod): Record<string, string> {
  return { [PodLabel.Name]: pod.metadata.name ?? '', [PodLabel.Namespace]: pod.metadata.namespace ?? 'default', [PodLabel.Uid]: pod.metadata.uid ?? '' };
}

function hostnameOf(pod: Pod): string {
  const name = pod.spec.hostname ?? pod.metadata.name ?? '';
  return name.slice(0, HOSTNAME_CHARS_MAX).replace(/[-.]+$/, '');
}

function portMappingsOf(pod: Pod): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of pod.spec.containers) {
    for (const p of c.ports ?? []) {
      if (p.hostPort === undefined || p.hostPort === 0) continue;
      out.push({ protocol: p.protocol ?? 'TCP', container_port: p.containerPort, host_port: p.hostPort, host_ip: p.hostIP ?? '' });
    }
  }
  return out;
}

export function linuxSandboxConfig(pod: Pod): LinuxPodSandboxConfig {
  const hostNetwork = pod.spec.hostNetwork === true;
  return {
    cgroup_parent: '',
    security_context: {
      namespace_options: { network: hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD', target_id: '' },
      readonly_rootfs: false,
      supplemental_groups: [],
      privileged: false,
    },
    sysctls: {},
  };
}

export function buildSandboxConfig(pod: Pod, attempt: number, rootDir: string): PodSandboxConfig {
  const m = pod.metadata;
  return {
    metadata: { name: m.name ?? '', uid: m.uid ?? '', namespace: m.namespace ?? 'default', attempt },
    hostname: pod.spec.hostNetwork === true ? '' : hostnameOf(pod),
    log_directory: podLogDirectory(rootDir, pod),
    dns_config: null,
    port_mappings: portMappingsOf(pod),
    labels: { ...(m.labels ?? {}), ...podIdentityLabels(pod) },
    annotations: { ...(m.annotations ?? {}) },
    linux: linuxSandboxConfig(pod),
  };
}
