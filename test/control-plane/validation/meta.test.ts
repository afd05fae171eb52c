/**
 * Metadata rules every kind shares, checked through validateObject as the API
 * server calls it.
 */
import { describe, expect, it } from 'vitest';
import { FieldErrorType } from '../../../proto/k8s/meta.js';
import { ANNOTATIONS_TOTAL_BYTES_MAX } from '../../../control-plane/validation/meta.js';
import { validateObject } from '../../../control-plane/validation/index.js';
import { causes, expectCauses, expectValid, type Json } from './helpers.js';

const { Required, Invalid, Forbidden, TooLong } = FieldErrorType;

function configMap(metadata: Json): Json {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { a: 'b' } };
}

describe('name and generateName', () => {
  it('accepts a name, or a generateName alone', () => {
    expectValid('ConfigMap', configMap({ name: 'cfg', namespace: 'default' }));
    expectValid('ConfigMap', configMap({ generateName: 'cfg-', namespace: 'default' }));
  });

  it('requires one of them, with Kubernetes\' message', () => {
    const [error] = expectCauses('ConfigMap', configMap({ namespace: 'default' }), [['metadata.name', Required]]);
    expect(error?.message).toBe('Required value: name or generateName is required');
  });

  it('reports a bad name with the value and the rule', () => {
    const [error] = expectCauses('ConfigMap', configMap({ name: 'Bad_Name', namespace: 'default' }), [['metadata.name', Invalid]]);
    expect(error?.message).toMatch(/^Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/);
  });

  it('reports a bad generateName', () => {
    expectCauses('ConfigMap', configMap({ generateName: 'Bad-', namespace: 'default' }), [['metadata.generateName', Invalid]]);
  });
});

describe('namespace scope', () => {
  it('namespaced kinds require a namespace, and it must be a DNS label', () => {
    expectCauses('ConfigMap', configMap({ name: 'cfg' }), [['metadata.namespace', Required]]);
    expectCauses('ConfigMap', configMap({ name: 'cfg', namespace: 'a.b' }), [['metadata.namespace', Invalid]]);
  });

  it('cluster-scoped kinds refuse one', () => {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', namespace: 'default' } };
    const [error] = expectCauses('Node', node, [['metadata.namespace', Forbidden]]);
    expect(error?.message).toBe('Forbidden: not allowed on this type');
  });
});

describe('labels, annotations, owner references, finalizers', () => {
  it('checks label keys and values', () => {
    const errors = expectCauses(
      'ConfigMap',
      configMap({ name: 'c', namespace: 'd', labels: { 'bad key': 'ok', good: '-bad-value', 'example.com/app': 'web' } }),
      [
        ['metadata.labels', Invalid],
        ['metadata.labels', Invalid],
      ],
    );
    expect(errors[0]?.message).toMatch(/^Invalid value: "bad key": name part must consist of/);
    expect(errors[1]?.message).toMatch(/^Invalid value: "-bad-value": a valid label must be an empty string/);
  });

  it('ignores case in annotation keys and bounds their total size', () => {
    expectValid('ConfigMap', configMap({ name: 'c', namespace: 'd', annotations: { 'Example.com/Note': 'x' } }));
    const big = 'x'.repeat(ANNOTATIONS_TOTAL_BYTES_MAX);
    expectCauses('ConfigMap', configMap({ name: 'c', namespace: 'd', annotations: { k: big } }), [['metadata.annotations', TooLong]]);
    expectValid('ConfigMap', configMap({ name: 'c', namespace: 'd', annotations: { k: big.slice(1) } }));
  });

  it('owner references need apiVersion, kind, name and uid; one controller at most', () => {
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true };
    expectValid('ConfigMap', configMap({ name: 'c', namespace: 'd', ownerReferences: [owner] }));
    expectCauses('ConfigMap', configMap({ name: 'c', namespace: 'd', ownerReferences: [{ ...owner, apiVersion: 'apps/', uid: '' }] }), [
      ['metadata.ownerReferences[0].apiVersion', Invalid],
      ['metadata.ownerReferences[0].uid', Invalid],
    ]);
    expectCauses('ConfigMap', configMap({ name: 'c', namespace: 'd', ownerReferences: [owner, { ...owner, name: 'rs2', uid: 'u2' }] }), [
      ['metadata.ownerReferences', Invalid],
    ]);
  });

  it('finalizers are qualified names; orphan and foregroundDeletion exclude each other', () => {
    expectCauses('ConfigMap', configMap({ name: 'c', namespace: 'd', finalizers: ['example.com/x', 'bad/x/y'] }), [
      ['metadata.finalizers[1]', Invalid],
    ]);
    expectCauses('ConfigMap', configMap({ name: 'c', namespace: 'd', finalizers: ['orphan', 'foregroundDeletion'] }), [
      ['metadata.finalizers', Invalid],
    ]);
  });
});

describe('metadata on update', () => {
  const old = configMap({ name: 'c', namespace: 'd', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z' });

  it('allows label changes and a missing uid (the server fills it)', () => {
    expectValid('ConfigMap', configMap({ name: 'c', namespace: 'd', labels: { a: 'b' } }), old);
  });

  it('refuses a changed name, namespace, uid or creationTimestamp', () => {
    const errors = expectCauses(
      'ConfigMap',
      configMap({ name: 'c2', namespace: 'd', uid: 'u2', creationTimestamp: '2025-01-01T00:00:00Z' }),
      [
        ['metadata.name', Invalid],
        ['metadata.uid', Invalid],
        ['metadata.creationTimestamp', Invalid],
      ],
      old,
    );
    expect(errors[0]?.message).toBe('Invalid value: "c2": field is immutable');
  });

  it('refuses new finalizers on an object being deleted', () => {
    const deleting = configMap({ name: 'c', namespace: 'd', deletionTimestamp: '2024-01-01T00:00:00Z', finalizers: ['a.io/x'] });
    expectCauses('ConfigMap', configMap({ name: 'c', namespace: 'd', finalizers: ['a.io/x', 'a.io/y'] }), [['metadata.finalizers', Forbidden]], deleting);
    expectValid('ConfigMap', configMap({ name: 'c', namespace: 'd', finalizers: [] }), deleting);
  });
});

describe('unknown kinds', () => {
  it('get metadata validation only, with either scope', () => {
    const widget = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { anything: [1, 2] } };
    expect(validateObject('Widget', widget)).toEqual([]);
    expect(causes(validateObject('Widget', { metadata: { name: 'W', namespace: 'ns' } }))).toEqual([['metadata.name', Invalid]]);
  });
});
