/**
 * Deployments and ReplicaSets: selector, template, counts and rollout strategy.
 */
import { describe, expect, it } from 'vitest';
import { FieldErrorType } from '../../../proto/k8s/meta.js';
import { deployment, expectCauses, expectValid, replicaSet, type Json } from './helpers.js';

const { Required, Invalid, NotSupported, Forbidden } = FieldErrorType;

type Case = readonly [string, (d: Json) => void, [string, string][]];

describe('valid workloads', () => {
  it('deployment and replicaset fixtures are valid', () => {
    expectValid('Deployment', deployment());
    expectValid('ReplicaSet', replicaSet());
  });

  it('Recreate, percentages, counts, and expression selectors are valid', () => {
    const d = deployment();
    d['spec'].strategy = { type: 'Recreate' };
    d['spec'].selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] };
    expectValid('Deployment', d);
    const r = deployment();
    r['spec'].strategy = { rollingUpdate: { maxSurge: 0, maxUnavailable: '100%' } };
    r['spec'].replicas = 0;
    expectValid('Deployment', r);
  });
});

describe('deployment mistakes', () => {
  const cases: Case[] = [
    ['negative replicas', (d) => (d['spec'].replicas = -1), [['spec.replicas', Invalid]]],
    ['no selector', (d) => delete d['spec'].selector, [['spec.selector', Required]]],
    ['empty selector', (d) => (d['spec'].selector = {}), [['spec.selector', Invalid]]],
    ['selector not matching the template', (d) => (d['spec'].selector.matchLabels = { app: 'api' }), [['spec.template.metadata.labels', Invalid]]],
    [
      'selector operator unknown',
      (d) => (d['spec'].selector = { matchExpressions: [{ key: 'app', operator: 'Like', values: ['w'] }] }),
      [['spec.selector.matchExpressions[0].operator', Invalid]],
    ],
    ['template restartPolicy Never', (d) => (d['spec'].template.spec.restartPolicy = 'Never'), [['spec.template.spec.restartPolicy', NotSupported]]],
    ['template with a deadline', (d) => (d['spec'].template.spec.activeDeadlineSeconds = 5), [['spec.template.spec.activeDeadlineSeconds', Forbidden]]],
    ['template container without image', (d) => delete d['spec'].template.spec.containers[0].image, [['spec.template.spec.containers[0].image', Required]]],
    ['strategy type unknown', (d) => (d['spec'].strategy = { type: 'BlueGreen' }), [['spec.strategy', NotSupported]]],
    [
      'Recreate with rollingUpdate',
      (d) => (d['spec'].strategy = { type: 'Recreate', rollingUpdate: { maxSurge: 1 } }),
      [['spec.strategy.rollingUpdate', Forbidden]],
    ],
    [
      'maxSurge and maxUnavailable both 0',
      (d) => (d['spec'].strategy = { rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } }),
      [['spec.strategy.rollingUpdate.maxUnavailable', Invalid]],
    ],
    ['maxSurge not a percent', (d) => (d['spec'].strategy = { rollingUpdate: { maxSurge: '25' } }), [['spec.strategy.rollingUpdate.maxSurge', Invalid]]],
    ['maxSurge negative', (d) => (d['spec'].strategy = { rollingUpdate: { maxSurge: -1 } }), [['spec.strategy.rollingUpdate.maxSurge', Invalid]]],
    ['maxUnavailable above 100%', (d) => (d['spec'].strategy = { rollingUpdate: { maxUnavailable: '101%' } }), [['spec.strategy.rollingUpdate.maxUnavailable', Invalid]]],
    ['negative revisionHistoryLimit', (d) => (d['spec'].revisionHistoryLimit = -1), [['spec.revisionHistoryLimit', Invalid]]],
    [
      'progress deadline not above minReadySeconds',
      (d) => Object.assign(d['spec'], { minReadySeconds: 600, progressDeadlineSeconds: 600 }),
      [['spec.progressDeadlineSeconds', Invalid]],
    ],
    ['negative minReadySeconds', (d) => (d['spec'].minReadySeconds = -1), [['spec.minReadySeconds', Invalid]]],
  ];

  it.each(cases)('%s', (_name, mutate, expected) => {
    const d = deployment();
    mutate(d);
    expectCauses('Deployment', d, expected);
  });

  it("uses Kubernetes' message for a selector that misses the template", () => {
    const d = deployment();
    d['spec'].selector.matchLabels = { app: 'api' };
    const [error] = expectCauses('Deployment', d, [['spec.template.metadata.labels', Invalid]]);
    expect(error?.message).toBe('Invalid value: {"app":"web"}: `selector` does not match template `labels`');
  });
});

describe('replicaset mistakes', () => {
  const cases: Case[] = [
    ['negative replicas', (r) => (r['spec'].replicas = -2), [['spec.replicas', Invalid]]],
    ['no template', (r) => delete r['spec'].template, [['spec.template', Required]]],
    ['template labels missing', (r) => delete r['spec'].template.metadata, [['spec.template.metadata.labels', Invalid]]],
    ['bad template label', (r) => (r['spec'].template.metadata.labels['bad key'] = 'x'), [['spec.template.metadata.labels', Invalid]]],
  ];

  it.each(cases)('%s', (_name, mutate, expected) => {
    const r = replicaSet();
    mutate(r);
    expectCauses('ReplicaSet', r, expected);
  });
});

describe('workload updates', () => {
  it('replicas and template may change; the selector may not', () => {
    const next = deployment();
    next['spec'].replicas = 10;
    next['spec'].template.spec.containers[0].image = 'nginx:1.26';
    expectValid('Deployment', next, deployment());
    const moved = deployment();
    moved['spec'].selector.matchLabels = { app: 'web', tier: 'front' };
    moved['spec'].template.metadata.labels.tier = 'front';
    expectCauses('Deployment', moved, [['spec.selector', Invalid]], deployment());
    const rs = replicaSet();
    rs['spec'].selector = { matchExpressions: [{ key: 'app', operator: 'Exists' }] };
    expectCauses('ReplicaSet', rs, [['spec.selector', Invalid]], replicaSet());
  });
});
