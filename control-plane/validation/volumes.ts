/**
 * Pod volumes: unique DNS-label names and exactly one source each. The four
 * sources Strake's kubelet mounts (emptyDir, configMap, secret, hostPath) are
 * checked in depth; the other Kubernetes sources are recognised, so a volume
 * that uses one is not reported as having none.
 */
import type { FieldError } from '../../proto/k8s/meta.js';
import {
  child,
  duplicate,
  forbidden,
  index,
  invalid,
  isInteger,
  listAt,
  notSupported,
  recordAt,
  required,
  stringAt,
  type JsonRecord,
} from './field-errors.js';
import { validateLocalDescendingPath } from './container.js';
import { isDns1123Label } from './names.js';
import { quantityAt } from './resources.js';

/** Every volume source field of core/v1 VolumeSource; a volume sets exactly one. */
const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi',
  'glusterfs', 'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc',
  'azureFile', 'configMap', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected',
  'portworxVolume', 'scaleIO', 'storageos', 'csi', 'ephemeral', 'image',
] as const;

/** Sorted, as Kubernetes lists supported values. */
const HOST_PATH_TYPES: readonly string[] = [
  '', 'BlockDevice', 'CharDevice', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket',
];

/** File modes are permission bits: at most 0777. */
const FILE_MODE_MAX = 0o777;
const FILE_MODE_MESSAGE = 'must be a number between 0 and 0777 (octal), both inclusive';

function validateFileMode(mode: unknown, path: string): FieldError[] {
  if (mode === undefined || mode === null) return [];
  return isInteger(mode) && mode >= 0 && mode <= FILE_MODE_MAX ? [] : [invalid(path, mode, FILE_MODE_MESSAGE)];
}

/** `items` of a configMap or secret volume: which keys land at which relative paths. */
function validateKeyToPaths(items: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  listAt(items, path, errors).forEach((raw, i) => {
    const at = index(path, i);
    const item = recordAt(raw, at, errors);
    if (stringAt(item['key'], child(at, 'key'), errors) === '') errors.push(required(child(at, 'key')));
    const target = stringAt(item['path'], child(at, 'path'), errors);
    if (target === '') errors.push(required(child(at, 'path')));
    else {
      errors.push(...validateLocalDescendingPath(target, child(at, 'path')));
      if (target.startsWith('..')) errors.push(invalid(child(at, 'path'), target, "must not start with '..'"));
    }
    errors.push(...validateFileMode(item['mode'], child(at, 'mode')));
  });
  return errors;
}

function validateSource(kind: string, raw: unknown, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const source = recordAt(raw, path, errors);
  switch (kind) {
    case 'hostPath':
      errors.push(...validateHostPath(source, path));
      break;
    case 'emptyDir': {
      const limit = source['sizeLimit'];
      if (limit === undefined || limit === null) break;
      const q = quantityAt(limit, child(path, 'sizeLimit'), errors);
      if (q !== undefined && q.nanos < 0n) {
        errors.push(forbidden(child(path, 'sizeLimit'), 'SizeLimit field must be a valid resource quantity'));
      }
      break;
    }
    case 'configMap':
    case 'secret': {
      const nameField = kind === 'secret' ? 'secretName' : 'name';
      if (stringAt(source[nameField], child(path, nameField), errors) === '') errors.push(required(child(path, nameField)));
      errors.push(...validateKeyToPaths(source['items'], child(path, 'items')));
      errors.push(...validateFileMode(source['defaultMode'], child(path, 'defaultMode')));
      break;
    }
  }
  return errors;
}

function validateHostPath(source: JsonRecord, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const hostPath = stringAt(source['path'], child(path, 'path'), errors);
  if (hostPath === '') errors.push(required(child(path, 'path')));
  else if (hostPath.split('/').includes('..')) errors.push(invalid(child(path, 'path'), hostPath, "must not contain '..'"));
  const type = source['type'] ?? '';
  if (typeof type !== 'string' || !HOST_PATH_TYPES.includes(type)) {
    errors.push(notSupported(child(path, 'type'), type, HOST_PATH_TYPES));
  }
  return errors;
}

export interface VolumesResult {
  readonly errors: FieldError[];
  /** Names of the volumes, valid or not, so volumeMounts are checked against what the pod declares. */
  readonly names: ReadonlySet<string>;
}

export function validateVolumes(volumes: unknown, path: string): VolumesResult {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  listAt(volumes, path, errors).forEach((raw, i) => {
    const at = index(path, i);
    const volume = recordAt(raw, at, errors);
    const sources = VOLUME_SOURCES.filter((s) => volume[s] !== undefined && volume[s] !== null);
    if (sources.length === 0) errors.push(required(at, 'must specify a volume type'));
    sources.forEach((source, n) => {
      if (n > 0) errors.push(forbidden(child(at, source), 'may not specify more than 1 volume type'));
      else errors.push(...validateSource(source, volume[source], child(at, source)));
    });
    const name = stringAt(volume['name'], child(at, 'name'), errors);
    if (name === '') errors.push(required(child(at, 'name')));
    else for (const msg of isDns1123Label(name)) errors.push(invalid(child(at, 'name'), name, msg));
    if (names.has(name)) errors.push(duplicate(child(at, 'name'), name));
    names.add(name);
  });
  return { errors, names };
}
