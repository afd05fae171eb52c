/**
 * The Kubernetes protobuf schema subset in proto/k8s/protobuf, loaded once,
 * and the lookup from a body's apiVersion + kind to its message type.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { protoDir } from '../../../proto/load.js';

/** Where the subset lives, relative to the proto folder. */
const SCHEMA_SUBDIR = join('k8s', 'protobuf');

/** The package of meta/v1, whose kinds (DeleteOptions) are sent under every group's apiVersion. */
export const META_V1_PACKAGE = 'k8s.io.apimachinery.pkg.apis.meta.v1';
export const UNKNOWN_TYPE = 'k8s.io.apimachinery.pkg.runtime.Unknown';

let root: protobuf.Root | undefined;

/** All .proto files of the subset, parsed and resolved on first use (a few milliseconds, once per process). */
export function schemaRoot(): protobuf.Root {
  if (root !== undefined) return root;
  const dir = join(protoDir(), SCHEMA_SUBDIR);
  const files = readdirSync(dir).filter((f) => f.endsWith('.proto')).sort().map((f) => join(dir, f));
  const loaded = protobuf.loadSync(files);
  loaded.resolveAll();
  root = loaded;
  return root;
}

/**
 * The package k8s.io/api gives a group: its first DNS label (`apps`,
 * `rbac.authorization.k8s.io` → `rbac`), `core` for the legacy group.
 */
export function packageOf(apiVersion: string): string | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (!/^v\d+((alpha|beta)\d+)?$/.test(version)) return undefined;
  if (group === 'meta.k8s.io') return `${META_V1_PACKAGE.slice(0, -'.v1'.length)}.${version}`;
  const label = group === '' ? 'core' : group.split('.')[0]!;
  if (!/^[a-z][a-z0-9]*$/.test(label)) return undefined;
  return `k8s.io.api.${label}.${version}`;
}

/** The message type of a top-level object of this apiVersion and kind, or undefined when the subset lacks it. */
export function typeOfKind(apiVersion: string, kind: string): protobuf.Type | undefined {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  const pkg = packageOf(apiVersion);
  if (pkg === undefined) return undefined;
  const names = kind === 'DeleteOptions' ? [`${pkg}.${kind}`, `${META_V1_PACKAGE}.${kind}`] : [`${pkg}.${kind}`];
  for (const name of names) {
    const t = schemaRoot().lookup(name);
    // Only whole objects: a message with metadata, or one of meta/v1's option kinds.
    if (t instanceof protobuf.Type && (t.fields.metadata !== undefined || name.startsWith(META_V1_PACKAGE))) return t;
  }
  return undefined;
}
