/**
 * Properties of the RBAC authorizer over generated policies and requests.
 * fast-check prints the seed and the shrunk counterexample on failure; the
 * monotonicity property is also run against a planted bug to show it can fail.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DISCOVERY_PATHS, bootstrapPolicy } from '../../../control-plane/auth/bootstrap-policy.js';
import {
  authorize,
  rbacSourceFromObjects,
  type AuthorizationAttributes,
  type ClusterRole,
  type PolicyRule,
  type RbacObjects,
  type RbacSource,
  type Role,
  type Subject,
} from '../../../control-plane/auth/rbac.js';
import type { UserInfo } from '../../../control-plane/auth/user.js';

const RUNS = 500;
const PLANTED_RUNS = 2000;
const PLANTED_SEED = 4242;

const NAMESPACES = ['ns1', 'ns2'] as const;
const CLUSTER_ROLE_NAMES = ['cr1', 'cr2'] as const;
const ROLE_NAMES = ['r1', 'r2'] as const;

// Small alphabets, each with wildcards and near misses, so that rules and requests meet often.
const ruleVerbs = fc.subarray(['get', 'list', 'create', 'update', 'delete', '*'], { minLength: 1 });
const ruleGroups = fc.subarray(['', 'apps', '*'], { minLength: 1 });
const ruleResources = fc.subarray(['pods', 'pods/log', 'deployments', 'deployments/scale', 'secrets', '*', '*/scale'], { minLength: 1 });
const ruleNames = fc.option(fc.subarray(['a', 'b'], { minLength: 1 }), { nil: undefined });
const rulePaths = fc.subarray(['/healthz', '/api', '/api/*', '/apis/*', '*', '/metrics'], { minLength: 1 });

const policyRule: fc.Arbitrary<PolicyRule> = fc.oneof(
  fc.record({ verbs: ruleVerbs, apiGroups: ruleGroups, resources: ruleResources, resourceNames: ruleNames }, { requiredKeys: ['verbs', 'apiGroups', 'resources'] }),
  fc.record({ verbs: ruleVerbs, nonResourceURLs: rulePaths }),
);

const subject: fc.Arbitrary<Subject> = fc.constantFrom<Subject>(
  { kind: 'User', name: 'bob' },
  { kind: 'Group', name: 'dev' },
  { kind: 'ServiceAccount', name: 'sa' },
  { kind: 'ServiceAccount', name: 'sa', namespace: 'ns1' },
);

const users: readonly UserInfo[] = [
  { name: 'bob', groups: ['system:authenticated'] },
  { name: 'carol', groups: ['dev', 'system:authenticated'] },
  { name: 'system:serviceaccount:ns1:sa', groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated'] },
  { name: 'system:serviceaccount:ns2:sa', groups: ['system:serviceaccounts', 'system:serviceaccounts:ns2', 'system:authenticated'] },
];

const world: fc.Arbitrary<RbacObjects> = fc.record({
  clusterRoles: fc.tuple(...CLUSTER_ROLE_NAMES.map((name) =>
    fc.array(policyRule, { minLength: 1, maxLength: 4 }).map((rules): ClusterRole => ({ metadata: { name }, rules })))),
  roles: fc.tuple(...NAMESPACES.flatMap((namespace) => ROLE_NAMES.map((name) =>
    fc.array(policyRule, { minLength: 1, maxLength: 4 }).map((rules): Role => ({ metadata: { namespace, name }, rules }))))),
  clusterRoleBindings: fc.array(
    fc.record({ role: fc.constantFrom(...CLUSTER_ROLE_NAMES), subjects: fc.array(subject, { minLength: 1, maxLength: 2 }) }).map(({ role, subjects }) => ({
      metadata: { name: `crb-${role}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects,
    })),
    { maxLength: 3 },
  ),
  roleBindings: fc.array(
    fc.record({
      namespace: fc.constantFrom(...NAMESPACES),
      ref: fc.constantFrom(...CLUSTER_ROLE_NAMES.map((name) => ({ kind: 'ClusterRole' as const, name })), ...ROLE_NAMES.map((name) => ({ kind: 'Role' as const, name }))),
      subjects: fc.array(subject, { minLength: 1, maxLength: 2 }),
    }).map(({ namespace, ref, subjects }) => ({
      metadata: { namespace, name: `rb-${ref.name}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...ref }, subjects,
    })),
    { minLength: 1, maxLength: 4 },
  ),
});

const resourceRequest: fc.Arbitrary<AuthorizationAttributes> = fc.record(
  {
    verb: fc.constantFrom('get', 'list', 'create', 'update', 'delete'),
    apiGroup: fc.constantFrom('', 'apps'),
    resource: fc.constantFrom('pods', 'deployments', 'secrets'),
    subresource: fc.constantFrom('log', 'scale', 'status'),
    namespace: fc.constantFrom(...NAMESPACES),
    name: fc.constantFrom('a', 'b', 'c'),
  },
  { requiredKeys: ['verb', 'apiGroup', 'resource'] },
);
const nonResourceRequest: fc.Arbitrary<AuthorizationAttributes> = fc.record({
  verb: fc.constantFrom('get', 'post'),
  nonResourcePath: fc.constantFrom('/healthz', '/healthz/x', '/api', '/api/v1', '/apis', '/apis/apps', '/metrics'),
});
const request = fc.oneof(resourceRequest, nonResourceRequest);

interface Insertion {
  readonly target: { readonly namespace: string | undefined; readonly name: string };
  readonly position: number;
  readonly rule: PolicyRule;
}

/** Where to insert a rule: one of the world's roles, at some position among its rules. */
const insertion: fc.Arbitrary<Insertion> = fc.record({
  target: fc.constantFrom(...CLUSTER_ROLE_NAMES.map((name) => ({ namespace: undefined, name })),
    ...NAMESPACES.flatMap((namespace) => ROLE_NAMES.map((name) => ({ namespace, name })))),
  position: fc.nat(),
  rule: policyRule,
});

function withInsertedRule(objects: RbacObjects, at: Insertion): RbacObjects {
  const insert = <R extends ClusterRole | Role>(r: R): R => {
    if (r.metadata.name !== at.target.name || r.metadata.namespace !== at.target.namespace) return r;
    const rules = [...(r.rules ?? [])];
    rules.splice(at.position % (rules.length + 1), 0, at.rule);
    return { ...r, rules };
  };
  return { ...objects, clusterRoles: (objects.clusterRoles ?? []).map(insert), roles: (objects.roles ?? []).map(insert) };
}

type SourceOf = (objects: RbacObjects) => RbacSource;

/**
 * Adding a rule anywhere in any role never takes a permission away from anyone.
 * `seen` counts the runs that had a permission to lose, so the test can check it was not vacuous.
 */
function addingARuleNeverRemovesAPermission(sourceOf: SourceOf, seen = { allowedBefore: 0 }) {
  return fc.property(world, insertion, request, fc.constantFrom(...users), (objects, at, attributes, user) => {
    const before = authorize(user, attributes, sourceOf(objects)).allowed;
    if (before) seen.allowedBefore += 1;
    const after = authorize(user, attributes, sourceOf(withInsertedRule(objects, at))).allowed;
    return !before || after;
  });
}

/** A planted bug: a source that only shows each role's first rule (an off-by-one reading `rules`). */
const firstRuleOnly: SourceOf = (objects) => {
  const inner = rbacSourceFromObjects(objects);
  const cut = <R extends ClusterRole | Role>(r: R | undefined): R | undefined => r && { ...r, rules: (r.rules ?? []).slice(0, 1) };
  return { ...inner, getClusterRole: (name) => cut(inner.getClusterRole(name)), getRole: (ns, name) => cut(inner.getRole(ns, name)) };
};

describe('RBAC properties', () => {
  it('monotonicity: adding a rule to a role never removes a permission', () => {
    const seen = { allowedBefore: 0 };
    fc.assert(addingARuleNeverRemovesAPermission(rbacSourceFromObjects, seen), { numRuns: RUNS });
    // About one run in eight starts allowed; far fewer means the generators stopped meeting.
    expect(seen.allowedBefore).toBeGreaterThan(RUNS / 20);
  });

  it('the monotonicity property catches a planted non-monotone authorizer', () => {
    const details = fc.check(addingARuleNeverRemovesAPermission(firstRuleOnly), { numRuns: PLANTED_RUNS, seed: PLANTED_SEED });
    expect(details.failed, `no counterexample in ${PLANTED_RUNS} runs of seed ${PLANTED_SEED}`).toBe(true);
  });
});

// ---------------------------------------------------------------- bootstrap policy, user without bindings

/** Written from the bootstrap policy's intent, not from its rules: discovery paths and self-reviews. */
function authenticatedMayDo(attributes: AuthorizationAttributes): boolean {
  if (attributes.nonResourcePath !== undefined) {
    const exact = ['/api', '/apis', '/version', '/healthz', '/readyz', '/livez', '/openapi'];
    return attributes.verb === 'get' && (exact.includes(attributes.nonResourcePath) || /^\/(api|apis|openapi)\//.test(attributes.nonResourcePath));
  }
  const selfReview =
    (attributes.apiGroup === 'authorization.k8s.io' && ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'].includes(attributes.resource)) ||
    (attributes.apiGroup === 'authentication.k8s.io' && attributes.resource === 'selfsubjectreviews');
  return attributes.verb === 'create' && !attributes.subresource && selfReview;
}

const bootstrapUsers = ['system:kube-scheduler', 'system:kube-controller-manager'];
const unboundUser: fc.Arbitrary<UserInfo> = fc.record({
  name: fc.oneof(fc.string(), fc.constantFrom('bob', 'admin', 'system:serviceaccount:kube-system:default', 'system:node:n1'))
    .filter((name) => !bootstrapUsers.includes(name)),
  groups: fc.subarray(['dev', 'system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:unauthenticated'])
    .map((groups) => [...groups, 'system:authenticated']),
});

const anyVerb = fc.constantFrom('get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'post', '*');
// Requests at or next to what the policy grants everyone, so the allowed side is exercised as well.
const nearDiscovery: fc.Arbitrary<AuthorizationAttributes> = fc.oneof(
  fc.record({
    verb: fc.constantFrom('get', 'get', 'list', 'post'),
    nonResourcePath: fc.constantFrom(...DISCOVERY_PATHS, '/api/v1', '/apis/apps/v1', '/openapi/v3', '/healthz/etcd', '/versions'),
  }),
  fc.record(
    {
      verb: fc.constantFrom('create', 'create', 'get'),
      apiGroup: fc.constantFrom('authorization.k8s.io', 'authentication.k8s.io'),
      resource: fc.constantFrom('selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews', 'subjectaccessreviews'),
      subresource: fc.constant('status'),
    },
    { requiredKeys: ['verb', 'apiGroup', 'resource'] },
  ),
);
const bootstrapishRequest: fc.Arbitrary<AuthorizationAttributes> = fc.oneof(
  nearDiscovery,
  fc.record(
    {
      verb: anyVerb,
      apiGroup: fc.constantFrom('', 'apps', 'coordination.k8s.io', 'rbac.authorization.k8s.io', 'authorization.k8s.io', 'authentication.k8s.io'),
      resource: fc.constantFrom('pods', 'nodes', 'secrets', 'configmaps', 'events', 'leases', 'deployments', 'clusterroles', 'rolebindings',
        'selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews', 'subjectaccessreviews', '*'),
      subresource: fc.constantFrom('status', 'log', 'binding', 'scale'),
      namespace: fc.constantFrom('default', 'kube-system', 'kube-node-lease', ''),
      name: fc.constantFrom('kube-scheduler', 'kube-controller-manager', 'n1', 'x'),
    },
    { requiredKeys: ['verb', 'apiGroup', 'resource'] },
  ),
  fc.record({
    verb: anyVerb,
    nonResourcePath: fc.oneof(
      fc.constantFrom('/api', '/api/v1', '/apis', '/apis/apps/v1', '/version', '/version/x', '/healthz', '/healthz/etcd', '/readyz', '/livez',
        '/openapi', '/openapi/v2', '/metrics', '/', '/apix', '/debug/pprof', '/logs', '*'),
      fc.webPath(),
    ),
  }),
);

describe('bootstrap policy properties', () => {
  const source = rbacSourceFromObjects(bootstrapPolicy());

  it('a user with no bindings gets exactly what system:authenticated gets', () => {
    let allowed = 0;
    fc.assert(
      fc.property(unboundUser, bootstrapishRequest, (user, attributes) => {
        const decision = authorize(user, attributes, source);
        if (decision.allowed) allowed += 1;
        expect(decision.allowed, decision.reason).toBe(authenticatedMayDo(attributes));
      }),
      { numRuns: RUNS },
    );
    // About one run in fifteen is allowed; none would leave the allowed side untested.
    expect(allowed).toBeGreaterThan(RUNS / 50);
  });
});
