/**
 * Image references, parsed and normalized the way Docker does it:
 * `busybox` -> `docker.io/library/busybox:latest`, `localhost:5000/a/b@sha256:...`
 * keeps its registry and digest. Grammar: github.com/distribution/reference.
 */
import { ImageError, ImageErrorCode } from './errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
/** Docker Hub's API host: the `docker.io` domain is a name, not where the API lives. */
export const DEFAULT_REGISTRY_API_HOST = 'registry-1.docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
/** Docker's bound on a repository name (domain + path). */
const NAME_CHARS_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const IMAGE_ID = /^[a-f0-9]{64}$/;

export interface ImageReference {
  /** Registry host[:port], e.g. `docker.io`, `127.0.0.1:5000`. */
  readonly domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly path: string;
  /** Set unless the reference names a digest only. */
  readonly tag: string | undefined;
  /** `sha256:<hex>` when the reference pins content. */
  readonly digest: string | undefined;
}

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

/** Parses and normalizes; throws ImageError(InvalidReference) with the reason. */
export function parseReference(input: string): ImageReference {
  const bad = (why: string): never => {
    throw new ImageError(ImageErrorCode.InvalidReference, `invalid image reference "${input}": ${why}`);
  };
  if (input.length === 0) bad('empty');
  if (IMAGE_ID.test(input)) bad('a 64-hex name is an image id, not a repository');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) bad(`digest "${digest}" is not sha256:<64 lowercase hex>`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(`tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
  const { domain, path } = splitDomain(rest);
  if (!DOMAIN.test(domain)) bad(`registry "${domain}" is not a host[:port]`);
  if (path.length === 0) bad('no repository name');
  for (const component of path.split('/')) {
    if (component !== component.toLowerCase()) bad('repository name must be lowercase');
    if (!PATH_COMPONENT.test(component)) bad(`path component "${component}" must be lowercase letters, digits and single separators (. _ __ -)`);
  }
  if (domain.length + 1 + path.length > NAME_CHARS_MAX) bad(`name is longer than ${NAME_CHARS_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { domain, path, tag, digest };
}

function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const isDomain = slash !== -1 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase() || first.startsWith('['));
  let domain = isDomain ? first : DEFAULT_DOMAIN;
  let path = isDomain ? name.slice(slash + 1) : name;
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  return { domain, path };
}

/** `domain/path`, the repository a tag or digest belongs to. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full normalized string: `docker.io/library/busybox:latest`, `r/x@sha256:...`, `r/x:1@sha256:...`. */
export function formatReference(ref: ImageReference): string {
  return repositoryName(ref) + (ref.tag === undefined ? '' : `:${ref.tag}`) + (ref.digest === undefined ? '' : `@${ref.digest}`);
}

export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** The host the distribution API of a domain is served on. */
export function registryApiHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? DEFAULT_REGISTRY_API_HOST : domain;
}
