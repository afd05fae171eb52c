/**
 * Namespace, Node, ConfigMap, Secret, Event, ServiceAccount, Lease.
 */
import { describe, expect, it } from 'vitest';
import { FieldErrorType } from '../../../proto/k8s/meta.js';
import { CONFIG_DATA_BYTES_MAX } from '../../../control-plane/validation/config.js';
import { applyDefaults, validateObject } from '../../../control-plane/validation/index.js';
import { causes, expectCauses, expectValid, type Json } from './helpers.js';

const { Required, Invalid, Duplicate, NotSupported, Forbidden, TooLong } = FieldErrorType;

type Case = readonly [string, (o: Json) => void, [string, string][]];

function run(kind: string, make: () => Json, cases: readonly Case[]): void {
  it(`a valid ${kind} passes`, () => expectValid(kind, make()));
  it.each(cases)('%s', (_name, mutate, expected) => {
    const o = make();
    mutate(o);
    expectCauses(kind, o, expected);
  });
}

describe('Namespace', () => {
  run('Namespace', () => ({ metadata: { name: 'team-a' }, spec: { finalizers: ['kubernetes', 'example.com/cleanup'] } }), [
    ['name with a dot', (n) => (n['metadata'].name = 'team.a'), [['metadata.name', Invalid]]],
    ['namespace set', (n) => (n['metadata'].namespace = 'x'), [['metadata.namespace', Forbidden]]],
    ['unqualified custom finalizer', (n) => n['spec'].finalizers.push('cleanup'), [['spec.finalizers', Invalid]]],
    ['unknown phase', (n) => (n['status'] = { phase: 'Gone' }), [['status.phase', NotSupported]]],
  ]);
});

describe('Node', () => {
  const node = (): Json => ({
    metadata: { name: 'node-1.example.com', labels: { 'kubernetes.io/hostname': 'node-1' } },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] },
    status: {
      capacity: { cpu: '4', memory: '16Gi', pods: '110', 'example.com/gpu': '2' },
      addresses: [{ type: 'InternalIP', address: '192.168.1.10' }],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  });
  run('Node', node, [
    ['bad pod CIDR', (n) => (n['spec'] = { podCIDR: '10.244.1.0/40' }), [['spec.podCIDR', Invalid]]],
    ['too many pod CIDRs', (n) => (n['spec'].podCIDRs = ['10.244.1.0/24', 'fd00::/64', '10.245.1.0/24']), [['spec.podCIDRs', Invalid]]],
    ['taint without effect', (n) => delete n['spec'].taints[0].effect, [['spec.taints[0].effect', Required]]],
    ['taint effect unknown', (n) => (n['spec'].taints[0].effect = 'Evict'), [['spec.taints[0].effect', NotSupported]]],
    ['taint key invalid', (n) => (n['spec'].taints[0].key = 'a b'), [['spec.taints[0].key', Invalid]]],
    [
      'duplicate taint',
      (n) => n['spec'].taints.push({ key: 'dedicated', value: 'other', effect: 'NoSchedule' }),
      [['spec.taints[1]', Duplicate]],
    ],
    [
      'malformed capacity (and allocatable, defaulted from it)',
      (n) => (n['status'].capacity.cpu = 'four'),
      [
        ['status.capacity.cpu', Invalid],
        ['status.allocatable.cpu', Invalid],
      ],
    ],
    ['negative allocatable', (n) => (n['status'].allocatable = { cpu: '-1' }), [['status.allocatable.cpu', Invalid]]],
  ]);

  it('pod CIDRs can be set once, then never changed', () => {
    const bare = node();
    delete bare['spec'].podCIDR;
    delete bare['spec'].podCIDRs;
    expectValid('Node', node(), bare);
    const moved = node();
    moved['spec'].podCIDR = '10.244.2.0/24';
    moved['spec'].podCIDRs = ['10.244.2.0/24'];
    expectCauses('Node', moved, [['spec.podCIDRs', Forbidden]], node());
  });
});

describe('ConfigMap', () => {
  run('ConfigMap', () => ({ metadata: { name: 'cfg', namespace: 'd' }, data: { 'app.conf': 'x=1', KEY_NAME: '' }, binaryData: { 'logo.png': 'iVBORw0KGgo=' } }), [
    ['bad key', (c) => (c['data']['a/b'] = 'x'), [['data[a/b]', Invalid]]],
    ['key in data and binaryData', (c) => (c['data']['logo.png'] = 'x'), [['data[logo.png]', Invalid]]],
    ['binaryData not base64', (c) => (c['binaryData']['x'] = 'not base64!'), [['binaryData[x]', Invalid]]],
    ['too large', (c) => (c['data']['big'] = 'x'.repeat(CONFIG_DATA_BYTES_MAX)), [['', TooLong]]],
  ]);

  it('immutable config maps keep their data and their flag', () => {
    const frozen = { metadata: { name: 'cfg', namespace: 'd' }, data: { a: '1' }, immutable: true };
    expectValid('ConfigMap', { ...frozen, metadata: { ...frozen.metadata, labels: { x: 'y' } } }, frozen);
    expectCauses('ConfigMap', { ...frozen, data: { a: '2' } }, [['data', Forbidden]], frozen);
    expectCauses('ConfigMap', { ...frozen, immutable: false }, [['immutable', Forbidden]], frozen);
  });
});

describe('Secret', () => {
  run('Secret', () => ({ metadata: { name: 'db', namespace: 'd' }, data: { password: 'aHVudGVyMg==' }, stringData: { user: 'admin' } }), [
    ['not base64, without echoing the secret', (s) => (s['data'].password = 'hunter2'), [['data[password]', Invalid]]],
    ['bad key', (s) => (s['stringData'] = { 'a b': 'x' }), [['data[a b]', Invalid]]],
    ['tls without its keys', (s) => (s['type'] = 'kubernetes.io/tls'), [['data[tls.crt]', Required], ['data[tls.key]', Required]]],
    [
      'service account token without its account',
      (s) => (s['type'] = 'kubernetes.io/service-account-token'),
      [['metadata.annotations[kubernetes.io/service-account.name]', Required]],
    ],
    ['too large', (s) => (s['stringData'] = { big: 'x'.repeat(CONFIG_DATA_BYTES_MAX) }), [['data', TooLong]]],
  ]);

  it('never puts secret bytes in a message', () => {
    const errors = validateObject('Secret', applyDefaults('Secret', { metadata: { name: 's', namespace: 'd' }, data: { p: 'hunter2' } }));
    expect(errors[0]?.message).toBe('Invalid value: "<secret contents redacted>": illegal base64 data');
  });

  it('type and immutable data may not change', () => {
    const old = { metadata: { name: 's', namespace: 'd' }, data: { a: 'MQ==' }, immutable: true };
    expectCauses('Secret', { ...old, type: 'kubernetes.io/basic-auth', data: { a: 'Mg==' } }, [
      ['data[username]', Required],
      ['data[password]', Required],
      ['type', Invalid],
      ['data', Forbidden],
    ], old);
  });
});

describe('Event', () => {
  const event = (): Json => ({
    metadata: { name: 'web-0.17a1b2c3d4e5f6a7', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-0', uid: 'u1' },
    reason: 'Scheduled',
    message: 'Successfully assigned default/web-0 to node-1',
    type: 'Normal',
    count: 1,
    firstTimestamp: '2024-01-01T00:00:00Z',
    lastTimestamp: '2024-01-01T00:00:00Z',
    source: { component: 'default-scheduler' },
  });
  run('Event', event, [
    ['namespace mismatch', (e) => (e['involvedObject'].namespace = 'other'), [['involvedObject.namespace', Invalid]]],
    ['negative count', (e) => (e['count'] = -1), [['count', Invalid]]],
    [
      'new-style event without reporter',
      (e) => (e['eventTime'] = '2024-01-01T00:00:00.000000Z'),
      [['reportingInstance', Required], ['action', Required], ['reportingComponent', Required]],
    ],
  ]);

  it('events about cluster-scoped objects live in default', () => {
    const e = event();
    e['involvedObject'] = { kind: 'Node', name: 'node-1' };
    expectValid('Event', e);
    e['metadata'].namespace = 'kube-system';
    expectCauses('Event', e, [['involvedObject.namespace', Invalid]]);
  });
});

describe('ServiceAccount and Lease', () => {
  run('ServiceAccount', () => ({ metadata: { name: 'default', namespace: 'd' }, secrets: [] }), [
    ['bad name', (s) => (s['metadata'].name = 'Default'), [['metadata.name', Invalid]]],
  ]);

  run(
    'Lease',
    () => ({
      metadata: { name: 'kube-scheduler', namespace: 'kube-system' },
      spec: {
        holderIdentity: 'master-1_4b9c',
        leaseDurationSeconds: 15,
        acquireTime: '2024-01-01T00:00:00.000000Z',
        renewTime: '2024-01-01T00:00:10.123456Z',
        leaseTransitions: 3,
      },
    }),
    [
      ['zero duration', (l) => (l['spec'].leaseDurationSeconds = 0), [['spec.leaseDurationSeconds', Invalid]]],
      ['negative transitions', (l) => (l['spec'].leaseTransitions = -1), [['spec.leaseTransitions', Invalid]]],
      ['malformed renewTime', (l) => (l['spec'].renewTime = 'yesterday'), [['spec.renewTime', Invalid]]],
    ],
  );

  it('a lease with no spec is valid (the holder fills it)', () => {
    expect(causes(validateObject('Lease', { metadata: { name: 'n1', namespace: 'kube-node-lease' } }))).toEqual([]);
  });
});
