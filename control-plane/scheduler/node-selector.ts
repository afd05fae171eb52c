/**
 * Node selector terms, as node affinity uses them (Kubernetes'
 * nodeaffinity.NodeSelector): terms are ORed, the requirements inside a term
 * ANDed. matchExpressions look at node labels with In, NotIn, Exists,
 * DoesNotExist, Gt and Lt; matchFields look at fields, of which Kubernetes
 * supports only metadata.name (In, NotIn).
 */
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod } from '../../proto/k8s/core-v1.js';

/** The only field matchFields may name. */
export const NODE_NAME_FIELD = 'metadata.name';

/** Gt/Lt compare integers; like Go's ParseInt, anything else (or a missing label) does not match. */
const INTEGER = /^[+-]?\d+$/;

function integerOf(text: string | undefined): bigint | undefined {
  return text !== undefined && INTEGER.test(text) ? BigInt(text) : undefined;
}

export function nodeRequirementMatches(req: NodeSelectorRequirement, labels: Readonly<Record<string, string>>): boolean {
  const present = Object.hasOwn(labels, req.key);
  const value = present ? labels[req.key] : undefined;
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    case 'Gt':
    case 'Lt': {
      const have = integerOf(value);
      const want = values.length === 1 ? integerOf(values[0]) : undefined;
      if (have === undefined || want === undefined) return false;
      return req.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false; // an operator the API would have refused
  }
}

function fieldRequirementMatches(req: NodeSelectorRequirement, node: Node): boolean {
  if (req.key !== NODE_NAME_FIELD || (req.operator !== 'In' && req.operator !== 'NotIn')) return false;
  return nodeRequirementMatches(req, { [NODE_NAME_FIELD]: node.metadata.name ?? '' });
}

/** A term with no requirement at all matches no node (Kubernetes: "a null or empty term matches no objects"). */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: Node): boolean {
  const expressions = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (expressions.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  return expressions.every((r) => nodeRequirementMatches(r, labels)) && fields.every((r) => fieldRequirementMatches(r, node));
}

export function nodeSelectorTermsMatch(terms: readonly NodeSelectorTerm[], node: Node): boolean {
  return terms.some((t) => nodeSelectorTermMatches(t, node));
}

/**
 * Whether the node satisfies the pod's spec.nodeSelector (every pair) and its
 * required node affinity (some term): Kubernetes' RequiredNodeAffinity.
 */
export function podMatchesNodeSelectorAndAffinity(pod: Pod, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [key, value] of Object.entries(pod.spec.nodeSelector ?? {})) if (labels[key] !== value) return false;
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  return required === undefined || required === null || nodeSelectorTermsMatch(required.nodeSelectorTerms ?? [], node);
}
