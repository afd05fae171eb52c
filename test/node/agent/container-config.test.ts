/** Building what a container runs with: environment, volumes and mounts, the CRI container and sandbox configs. */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContainerConfig, linuxResourcesOf } from '../../../node/agent/container-config.js';
import { expandVars, resolveEnv, type ObjectSources } from '../../../node/agent/env.js';
import { AgentError } from '../../../node/agent/errors.js';
import { containerHash } from '../../../node/agent/labels.js';
import { buildSandboxConfig } from '../../../node/agent/pod-sandbox-config.js';
import { parseQuantity } from '../../../node/agent/quantity.js';
import { mountsOf, prepareVolumes, removePodDir } from '../../../node/agent/volumes.js';
import type { ConfigMap, Secret } from '../../../proto/k8s/core-v1.js';
import { container, podOf, UID } from './pod-fixtures.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

const sources: ObjectSources = {
  configMap: async (ns, name) => (ns === 'default' && name === 'cfg' ? ({ metadata: { name }, data: { color: 'blue', 'app.conf': 'x=1\n' } } as ConfigMap) : undefined),
  secret: async (ns, name) => (ns === 'default' && name === 'sec' ? ({ metadata: { name }, data: { password: b64('hunter2'), token: b64('t0k') } } as Secret) : undefined),
};
const rt = { podIp: '10.244.0.9', hostIp: '127.0.0.1', nodeName: 'n1' };

describe('environment', () => {
  it('envFrom first, then env in order: values, $(VAR) references, ConfigMap and Secret keys, pod fields, resources', async () => {
    const c = container('app', {
      envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CM_' }, { secretRef: { name: 'sec' } }],
      env: [
        { name: 'A', value: 'a' },
        { name: 'B', value: '$(A)-$(CM_color)-$(MISSING)-$$(A)' },
        { name: 'COLOR', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'color' } } },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'token', value: 'overridden' },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } },
      ],
      resources: { limits: { memory: '64Mi' } },
    });
    const env = await resolveEnv(podOf({ containers: [c] }), c, sources, rt);
    expect(Object.fromEntries(env.map((e) => [e.key, e.value]))).toEqual({
      CM_color: 'blue',
      'CM_app.conf': 'x=1\n',
      password: 'hunter2',
      token: 'overridden',
      A: 'a',
      B: 'a-blue-$(MISSING)-$(A)',
      COLOR: 'blue',
      PW: 'hunter2',
      POD: 'p',
      NS: 'default',
      IP: '10.244.0.9',
      NODE: 'n1',
      MEM: '64',
    });
  });

  it('a missing ConfigMap, Secret or key is a CreateContainerConfigError naming it', async () => {
    const miss = container('app', { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k' } } }] });
    await expect(resolveEnv(podOf({ containers: [miss] }), miss, sources, rt)).rejects.toMatchObject({ code: 'CreateContainerConfigError', message: 'configmap "gone" not found' });
    const key = container('app', { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'sec', key: 'nokey' } } }] });
    await expect(resolveEnv(podOf({ containers: [key] }), key, sources, rt)).rejects.toThrow(/couldn't find key nokey in secret default\/sec/);
  });

  it('expands $(VAR) in command and args of the config', () => {
    expect(expandVars('$(X) $$(X) $(Y)', (n) => (n === 'X' ? '1' : undefined))).toBe('1 $(X) $(Y)');
    const c = container('app', { command: ['sh', '-c'], args: ['echo $(GREETING)'] });
    const cfg = buildContainerConfig({ pod: podOf({ containers: [c] }), container: c, restartCount: 2, env: [{ key: 'GREETING', value: 'hi' }], mounts: [] });
    expect(cfg.command).toEqual(['sh', '-c']);
    expect(cfg.args).toEqual(['echo hi']);
  });
});

describe('container and sandbox configs', () => {
  it('labels, annotations, log path, resources and namespaces as the kubelet sets them', () => {
    const c = container('app', { workingDir: '/w', resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m' } }, tty: true });
    const pod = podOf({ containers: [c], terminationGracePeriodSeconds: 7 });
    const cfg = buildContainerConfig({ pod, container: c, restartCount: 2, env: [{ key: 'K', value: 'V' }], mounts: [] });
    expect(cfg).toMatchObject({
      metadata: { name: 'app', attempt: 2 },
      image: { image: 'busybox:1.36' },
      working_dir: '/w',
      envs: [{ key: 'K', value: 'V' }],
      log_path: join('app', '2.log'),
      tty: true,
      labels: { 'io.kubernetes.pod.name': 'p', 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': UID, 'io.kubernetes.container.name': 'app' },
      annotations: { 'io.kubernetes.container.hash': containerHash(c), 'io.kubernetes.container.restartCount': '2', 'io.kubernetes.pod.terminationGracePeriod': '7' },
    });
    expect(cfg.linux?.resources).toMatchObject({ cpu_period: 100_000, cpu_quota: 50_000, cpu_shares: 256, memory_limit_in_bytes: 128 * 2 ** 20 });
    expect(linuxResourcesOf(container('x'))).toMatchObject({ cpu_quota: 0, cpu_shares: 2, memory_limit_in_bytes: 0 });
    expect(linuxResourcesOf(container('x', { resources: { limits: { cpu: '2' } } }))).toMatchObject({ cpu_quota: 200_000, cpu_shares: 2048 });
    expect(cfg.linux?.security_context?.namespace_options?.network).toBe('POD');
  });

  it('the spec hash ignores field order and changes with the spec', () => {
    expect(containerHash({ name: 'a', image: 'x' })).toBe(containerHash({ image: 'x', name: 'a' }));
    expect(containerHash({ name: 'a', image: 'x' })).not.toBe(containerHash({ name: 'a', image: 'y' }));
  });

  it('sandbox: identity, hostname, log directory, host ports, labels, host network', () => {
    const pod = podOf({ containers: [container('app', { ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }] })] }, { metadata: { name: 'p', namespace: 'default', uid: UID, labels: { app: 'web' }, annotations: { a: '1' } } });
    const cfg = buildSandboxConfig(pod, 3, '/root');
    expect(cfg).toMatchObject({
      metadata: { name: 'p', namespace: 'default', uid: UID, attempt: 3 },
      hostname: 'p',
      log_directory: join('/root', 'logs', 'pods', `default_p_${UID}`),
      port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: 8080, host_ip: '' }],
      labels: { app: 'web', 'io.kubernetes.pod.name': 'p', 'io.kubernetes.pod.uid': UID },
      annotations: { a: '1' },
    });
    expect(cfg.linux?.security_context?.namespace_options?.network).toBe('POD');
    const host = buildSandboxConfig(podOf({ hostNetwork: true }), 0, '/root');
    expect(host.linux?.security_context?.namespace_options?.network).toBe('NODE');
    expect(host.hostname).toBe('');
  });

  it('quantities', () => {
    expect([parseQuantity('100m'), parseQuantity('1.5'), parseQuantity('128Mi'), parseQuantity('1G'), parseQuantity('1e3'), parseQuantity('x')]).toEqual([0.1, 1.5, 134217728, 1e9, 1000, undefined]);
  });
});

describe('volumes', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'strake-volumes-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('emptyDir, configMap (items, mode), secret and hostPath, mounted with readOnly and subPath', async () => {
    const hostDir = join(root, 'host-data');
    const pod = podOf({
      volumes: [
        { name: 'scratch', emptyDir: {} },
        { name: 'conf', configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'etc/app.conf', mode: 0o600 }] } },
        { name: 'creds', secret: { secretName: 'sec' } },
        { name: 'host', hostPath: { path: hostDir, type: 'DirectoryOrCreate' } },
      ],
    });
    const vols = await prepareVolumes(pod, root, sources);
    const base = join(root, 'pods', UID, 'volumes');
    expect(vols.get('scratch')?.hostPath).toBe(join(base, 'kubernetes.io~empty-dir', 'scratch'));
    expect(await readFile(join(base, 'kubernetes.io~configmap', 'conf', 'etc', 'app.conf'), 'utf8')).toBe('x=1\n');
    expect((await stat(join(base, 'kubernetes.io~configmap', 'conf', 'etc', 'app.conf'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(base, 'kubernetes.io~secret', 'creds', 'password'), 'utf8')).toBe('hunter2');
    expect((await stat(hostDir)).isDirectory()).toBe(true);
    const c = container('app', {
      volumeMounts: [
        { name: 'scratch', mountPath: '/data', subPath: 'sub/dir' },
        { name: 'conf', mountPath: '/etc/conf' },
        { name: 'host', mountPath: '/host', readOnly: true },
      ],
    });
    const mounts = await mountsOf(c, vols);
    expect(mounts.map((m) => [m.container_path, m.host_path, m.readonly])).toEqual([
      ['/data', join(base, 'kubernetes.io~empty-dir', 'scratch', 'sub', 'dir'), false],
      ['/etc/conf', join(base, 'kubernetes.io~configmap', 'conf'), true],
      ['/host', hostDir, true],
    ]);
    expect((await stat(join(base, 'kubernetes.io~empty-dir', 'scratch', 'sub', 'dir'))).isDirectory()).toBe(true);
    await removePodDir(root, UID);
    await expect(stat(join(root, 'pods', UID))).rejects.toThrow();
  });

  it('refuses escaping paths, unknown volumes and missing objects', async () => {
    await expect(mountsOf(container('app', { volumeMounts: [{ name: 'v', mountPath: '/x', subPath: '../../etc' }] }), new Map([['v', { hostPath: root, readOnly: false, owned: true }]]))).rejects.toBeInstanceOf(AgentError);
    await expect(mountsOf(container('app', { volumeMounts: [{ name: 'nope', mountPath: '/x' }] }), new Map())).rejects.toThrow(/mounts volume nope/);
    await expect(prepareVolumes(podOf({ volumes: [{ name: 'c', configMap: { name: 'gone' } }] }), root, sources)).rejects.toThrow(/configmap "gone" not found/);
    await expect(prepareVolumes(podOf({ volumes: [{ name: 'c', configMap: { name: 'cfg', items: [{ key: 'color', path: '/abs' }] } }] }), root, sources)).rejects.toThrow(/relative path/);
    await expect(prepareVolumes(podOf({ volumes: [{ name: 'pvc', persistentVolumeClaim: { claimName: 'x' } }] }), root, sources)).rejects.toThrow(/no source this node supports/);
    const optional = await prepareVolumes(podOf({ volumes: [{ name: 'c', configMap: { name: 'gone', optional: true } }] }), root, sources);
    expect(optional.get('c')?.readOnly).toBe(true);
  });
});
