/**
 * core/v1 pod volumes: the sources a Strake node can provide (emptyDir,
 * hostPath, configMap, secret, downwardAPI, projected, persistentVolumeClaim).
 * Network and cloud volume sources are not published: Strake nodes cannot
 * mount them, so kubectl rejects them before the request is sent.
 */
import {
  CORE, QUANTITY,
  arrayOf, bool, int32, int64, object, ref, str,
  type Definitions,
} from './builders.js';

const keyItems = arrayOf(
  ref(`${CORE}KeyToPath`),
  'Keys to project, each to a path. Without it every key becomes a file named after it.',
);
const defaultMode = int32('Permission bits of the created files, 0000-0777 (decimal in JSON). Defaults to 0644.');

export const CORE_VOLUME_DEFINITIONS: Definitions = {
  [`${CORE}Volume`]: object('A named volume the containers of a pod can mount. Set exactly one source.', {
    name: str('Name of the volume, unique in the pod (a DNS label).'),
    emptyDir: ref(`${CORE}EmptyDirVolumeSource`, 'A fresh directory that lives as long as the pod.'),
    hostPath: ref(`${CORE}HostPathVolumeSource`, 'A file or directory of the node.'),
    configMap: ref(`${CORE}ConfigMapVolumeSource`, 'The keys of a ConfigMap, as files.'),
    secret: ref(`${CORE}SecretVolumeSource`, 'The keys of a Secret, as files.'),
    downwardAPI: ref(`${CORE}DownwardAPIVolumeSource`, 'Fields of the pod, as files.'),
    projected: ref(`${CORE}ProjectedVolumeSource`, 'Several of the above in one directory.'),
    persistentVolumeClaim: ref(
      `${CORE}PersistentVolumeClaimVolumeSource`,
      'A PersistentVolumeClaim in the pod\'s namespace.',
    ),
  }, ['name']),

  [`${CORE}EmptyDirVolumeSource`]: object('An empty directory created for the pod and removed with it.', {
    medium: str('"" (the node\'s disk, default) or "Memory" (tmpfs).'),
    sizeLimit: ref(QUANTITY, 'Most space the volume may use.'),
  }),
  [`${CORE}HostPathVolumeSource`]: object('A path on the node, mounted into the pod.', {
    path: str('Path on the node; a symlink is followed.'),
    type: str('What must be at the path: "", DirectoryOrCreate, Directory, FileOrCreate, File, Socket, CharDevice or BlockDevice.'),
  }, ['path']),
  [`${CORE}ConfigMapVolumeSource`]: object('A ConfigMap whose keys become files.', {
    name: str('Name of the ConfigMap.'),
    items: keyItems,
    defaultMode,
    optional: bool('Tolerate a missing ConfigMap or key.'),
  }),
  [`${CORE}SecretVolumeSource`]: object('A Secret whose keys become files.', {
    secretName: str('Name of the Secret in the pod\'s namespace.'),
    items: keyItems,
    defaultMode,
    optional: bool('Tolerate a missing Secret or key.'),
  }),
  [`${CORE}KeyToPath`]: object('Projects one key to a file.', {
    key: str('The key.'),
    path: str('Relative path of the file; must not contain "..".'),
    mode: int32('Permission bits of this file, overriding defaultMode.'),
  }, ['key', 'path']),
  [`${CORE}PersistentVolumeClaimVolumeSource`]: object('Mounts the volume bound to a claim.', {
    claimName: str('Name of the PersistentVolumeClaim.'),
    readOnly: bool('Mount read-only.'),
  }, ['claimName']),
  [`${CORE}DownwardAPIVolumeSource`]: object('Pod fields written as files.', {
    items: arrayOf(ref(`${CORE}DownwardAPIVolumeFile`), 'The files.'),
    defaultMode,
  }),
  [`${CORE}DownwardAPIVolumeFile`]: object('One file holding a field of the pod.', {
    path: str('Relative path of the file.'),
    fieldRef: ref(`${CORE}ObjectFieldSelector`, 'A field of the pod (metadata.name, metadata.labels, ...).'),
    resourceFieldRef: ref(`${CORE}ResourceFieldSelector`, 'A resource limit or request of a container.'),
    mode: int32('Permission bits of this file.'),
  }, ['path']),
  [`${CORE}ProjectedVolumeSource`]: object('Several sources projected into one directory.', {
    sources: arrayOf(ref(`${CORE}VolumeProjection`), 'The sources.'),
    defaultMode,
  }),
  [`${CORE}VolumeProjection`]: object('One source of a projected volume. Set exactly one field.', {
    secret: ref(`${CORE}SecretProjection`, 'Keys of a Secret.'),
    configMap: ref(`${CORE}ConfigMapProjection`, 'Keys of a ConfigMap.'),
    downwardAPI: ref(`${CORE}DownwardAPIProjection`, 'Fields of the pod.'),
    serviceAccountToken: ref(`${CORE}ServiceAccountTokenProjection`, 'A token of the pod\'s service account.'),
  }),
  [`${CORE}SecretProjection`]: object('Keys of a Secret in a projected volume.', {
    name: str('Name of the Secret.'),
    items: keyItems,
    optional: bool('Tolerate a missing Secret or key.'),
  }),
  [`${CORE}ConfigMapProjection`]: object('Keys of a ConfigMap in a projected volume.', {
    name: str('Name of the ConfigMap.'),
    items: keyItems,
    optional: bool('Tolerate a missing ConfigMap or key.'),
  }),
  [`${CORE}DownwardAPIProjection`]: object('Pod fields in a projected volume.', {
    items: arrayOf(ref(`${CORE}DownwardAPIVolumeFile`), 'The files.'),
  }),
  [`${CORE}ServiceAccountTokenProjection`]: object('A service account token written as a file.', {
    audience: str('Intended audience of the token. Defaults to the API server.'),
    expirationSeconds: int64('Requested lifetime of the token. Defaults to 1 hour.'),
    path: str('Relative path of the file.'),
  }, ['path']),
};
