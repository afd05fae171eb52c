/**
 * The apply entry point: commands survive encoding, malformed entries and bad
 * requests become error results (the same on every replica), never exceptions.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  COMMAND_FORMAT_VERSION,
  MAX_REQUEST_BYTES,
  MalformedCommandError,
  MvccStateMachine,
  applyCommand,
  applyEncodedCommand,
  decodeCommand,
  encodeCommand,
  validateRequestBytes,
  type Command,
} from '../../store/mvcc/index.js';
import { b, ok } from './helpers.js';

const T0_MS = 1_700_000_000_000;

const SAMPLES: Command[] = [
  { op: 'put', request: { key: b('k'), value: b('\x00\xff'), lease: 0, prevKv: true } },
  { op: 'deleteRange', request: { key: b('a'), rangeEnd: b('\0'), prevKv: false } },
  {
    op: 'txn',
    request: {
      compare: [
        { key: b('k'), target: 'MOD', result: 'EQUAL', modRevision: 2 ** 40 },
        { key: b('k'), rangeEnd: b('l'), target: 'VALUE', result: 'NOT_EQUAL', value: b('') },
      ],
      success: [
        { op: 'range', request: { key: b('k'), limit: 5, sortOrder: 'DESCEND', sortTarget: 'MOD', keysOnly: true } },
        { op: 'txn', request: { failure: [{ op: 'put', request: { key: b('n'), ignoreLease: true } }] } },
      ],
      failure: [{ op: 'deleteRange', request: { key: b('x') } }],
    },
  },
  { op: 'compact', request: { revision: 12, physical: true } },
  { op: 'leaseGrant', request: { id: 0, ttlSeconds: 60, nowMs: T0_MS } },
  { op: 'leaseRevoke', request: { id: -5 } },
  { op: 'leaseRevoke', request: { id: 5, ifExpiredAtMs: T0_MS } },
  { op: 'leaseRenew', request: { id: 5, nowMs: T0_MS } },
  { op: 'leaseCheckpoint', request: { checkpoints: [{ id: 5, remainingTtlSeconds: 10 }] } },
  { op: 'leasePromote', request: { nowMs: T0_MS, extendMs: 1_500 } },
];

const packr = new Packr({ useRecords: false });

describe('encoding', () => {
  it.each(SAMPLES.map((c) => [c.op, c] as const))('%s round-trips', (_op, command) => {
    expect(decodeCommand(encodeCommand(command))).toEqual(command);
  });

  it('rejects entries that are not a versioned command, naming what is wrong', () => {
    const cases: [unknown, string][] = [
      [{ op: 'put' }, 'not [formatVersion, command]'],
      [[COMMAND_FORMAT_VERSION + 1, { op: 'put', request: { key: b('k') } }], 'format version'],
      [[COMMAND_FORMAT_VERSION, { op: 'explode', request: {} }], 'op is explode'],
      [[COMMAND_FORMAT_VERSION, { op: 'put', request: { key: 'k' } }], 'request.key is not bytes'],
      [[COMMAND_FORMAT_VERSION, { op: 'put', request: { key: b('k'), lease: 1.5 } }], 'request.lease'],
      [[COMMAND_FORMAT_VERSION, { op: 'compact', request: { revision: 2 ** 60 } }], 'not a safe integer'],
      [[COMMAND_FORMAT_VERSION, { op: 'range', request: { key: b('k') } }], 'op is range'],
      [[COMMAND_FORMAT_VERSION, { op: 'txn', request: { compare: [{ key: b('k'), target: 'SIZE', result: 'EQUAL' }] } }], 'target is SIZE'],
    ];
    for (const [raw, message] of cases) {
      const decoded = decodeCommand(packr.pack(raw));
      expect(decoded).toBeInstanceOf(MalformedCommandError);
      expect((decoded as MalformedCommandError).message).toContain(message);
    }
    expect(decodeCommand(new Uint8Array([0xc1, 0x00]))).toBeInstanceOf(MalformedCommandError);
  });

  it('bounds txn nesting while decoding', () => {
    let txn: object = { success: [] };
    for (let i = 0; i < 200; i++) txn = { success: [{ op: 'txn', request: txn }] };
    const decoded = decodeCommand(packr.pack([COMMAND_FORMAT_VERSION, { op: 'txn', request: txn }]));
    expect((decoded as MalformedCommandError).message).toContain('deeper than');
  });

  it('proposals above the request size limit are refused with etcd\'s message', () => {
    const big = encodeCommand({ op: 'put', request: { key: b('k'), value: new Uint8Array(MAX_REQUEST_BYTES) } });
    const error = validateRequestBytes(big.length);
    expect(error?.message).toBe('etcdserver: request is too large');
    expect(validateRequestBytes(encodeCommand(SAMPLES[0]!).length)).toBeUndefined();
  });
});

describe('applyCommand', () => {
  it('dispatches each command to the state machine', () => {
    const sm = new MvccStateMachine();
    const grant = applyCommand({ op: 'leaseGrant', request: { id: 0, ttlSeconds: 60, nowMs: T0_MS } }, sm);
    const id = ok(grant).id;
    expect(ok(applyCommand({ op: 'put', request: { key: b('k'), value: b('v'), lease: id } }, sm)).revision).toBe(2);
    expect(ok(applyCommand({ op: 'leaseRenew', request: { id, nowMs: T0_MS + 1 } }, sm)).ttlSeconds).toBe(60);
    expect(ok(applyCommand({ op: 'leaseRevoke', request: { id } }, sm)).revision).toBe(3);
    expect(sm.status().keyCount).toBe(0);
  });

  it('bad requests become error results, never exceptions, and change nothing', () => {
    const sm = new MvccStateMachine();
    const before = sm.snapshot();
    const bad: Command[] = [
      { op: 'put', request: { key: b('') } },
      { op: 'put', request: { key: b('k'), lease: 3 } },
      { op: 'put', request: { key: b('k'), ignoreValue: true } },
      { op: 'deleteRange', request: { key: b('') } },
      { op: 'txn', request: { success: [{ op: 'put', request: { key: b('a') } }, { op: 'put', request: { key: b('a') } }] } },
      { op: 'compact', request: { revision: 5 } },
      { op: 'leaseRevoke', request: { id: 1 } },
      { op: 'leaseRenew', request: { id: 1, nowMs: T0_MS } },
      { op: 'leaseGrant', request: { id: 1, ttlSeconds: 1e10, nowMs: T0_MS } },
    ];
    const codes = bad.map((command) => {
      const result = applyCommand(command, sm);
      return result.ok ? 'ok' : result.error.code;
    });
    expect(codes).toEqual([
      'EMPTY_KEY', 'LEASE_NOT_FOUND', 'KEY_NOT_FOUND', 'EMPTY_KEY', 'DUPLICATE_KEY',
      'FUTURE_REVISION', 'LEASE_NOT_FOUND', 'LEASE_NOT_FOUND', 'LEASE_TTL_TOO_LARGE',
    ]);
    expect(sm.snapshot()).toEqual(before);
  });

  it('applies encoded entries, and reports a malformed one as a result', () => {
    const sm = new MvccStateMachine();
    const applied = applyEncodedCommand(encodeCommand({ op: 'put', request: { key: b('k'), value: b('v') } }), sm);
    expect(applied.ok).toBe(true);
    const garbage = applyEncodedCommand(new Uint8Array([1, 2, 3]), sm);
    expect(garbage.ok).toBe(false);
    expect(!garbage.ok && garbage.error.code).toBe('MALFORMED_COMMAND');
    expect(sm.currentRevision).toBe(2);
  });
});
