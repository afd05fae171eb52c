/**
 * The pure parts of `strake kv`, without a cluster: the txn script parser,
 * key ranges, and the formats etcdctl users read (JSON integers, sizes,
 * durations, tables).
 */
import { CompareResult, CompareTarget } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { KvUsageError } from '../../cli/kv/errors.js';
import { toJson } from '../../cli/kv/json.js';
import { keyRange, parseLeaseId, prefixEnd } from '../../cli/kv/kv-requests.js';
import { goDuration, humanBytes, leaseIdHex, memberIdHex, renderTable } from '../../cli/kv/output.js';
import { parseTxn } from '../../cli/kv/txn-parser.js';

describe('txn script', () => {
  it('splits compares, success and failure requests at blank lines', () => {
    const txn = parseTxn('value("k") = "v"\nmod("k") < "10"\n\nput k "a b" --prev-kv\nget k --prefix\n\ndel k\n\n');
    expect(txn.compare).toEqual([
      { key: Buffer.from('k'), result: CompareResult.Equal, target: CompareTarget.Value, value: Buffer.from('v') },
      { key: Buffer.from('k'), result: CompareResult.Less, target: CompareTarget.Mod, mod_revision: '10' },
    ]);
    expect(txn.success?.[0]?.request_put).toMatchObject({ key: Buffer.from('k'), value: Buffer.from('a b'), prev_kv: true });
    expect(txn.success?.[1]?.request_range).toMatchObject({ key: Buffer.from('k'), range_end: Buffer.from('l') });
    expect(txn.failure?.[0]?.request_delete_range).toMatchObject({ key: Buffer.from('k') });
  });

  it('accepts the end of input in place of the last blank line, unquoted numbers and hex lease ids', () => {
    const txn = parseTxn('version("k") != 0\nlease("k") = "1f"\n\nput k v');
    expect(txn.compare?.[0]).toMatchObject({ result: CompareResult.NotEqual, target: CompareTarget.Version, version: '0' });
    expect(txn.compare?.[1]).toMatchObject({ target: CompareTarget.Lease, lease: '31' });
    expect(txn.failure).toEqual([]);
  });

  it.each([
    ['nonsense\n\n\n', 'line 1: malformed comparison: nonsense'],
    ['size("k") = "1"\n\n\n', 'line 1: malformed comparison: size("k") = "1" (unknown target size)'],
    ['version("k") = "one"\n\n\n', 'line 1: invalid txn compare request'],
    ['\nput k\n\n', 'line 2: invalid txn request: put k'],
    ['\nfrob k\n\n', 'line 2: invalid txn request: frob k (expected get, put or del)'],
    ['\nget k --nope\n\n', "line 2: invalid txn request: get k --nope (unknown option '--nope')"],
    ['\n\n\n\nmore\n', 'line 5: unexpected input after the failure requests: more'],
  ])('rejects %j naming the line', (script, message) => {
    expect(() => parseTxn(script)).toThrow(KvUsageError);
    expect(() => parseTxn(script)).toThrow(message);
  });
});

describe('key ranges', () => {
  it('--prefix ends after the last key with the prefix; all-0xff and empty prefixes mean every key from there', () => {
    expect(prefixEnd(Buffer.from('abc'))).toEqual(Buffer.from('abd'));
    expect(prefixEnd(Buffer.from([0x61, 0xff]))).toEqual(Buffer.from([0x62]));
    expect(prefixEnd(Buffer.from([0xff, 0xff]))).toEqual(Buffer.from([0]));
    expect(keyRange('get', '', undefined, { prefix: true, fromKey: false })).toEqual({ key: Buffer.from([0]), range_end: Buffer.from([0]) });
    expect(keyRange('get', 'a', undefined, { prefix: false, fromKey: true })).toEqual({ key: Buffer.from('a'), range_end: Buffer.from([0]) });
  });

  it('refuses --prefix with --from-key, and a range end with either', () => {
    expect(() => keyRange('get', 'a', undefined, { prefix: true, fromKey: true })).toThrow(KvUsageError);
    expect(() => keyRange('get', 'a', 'b', { prefix: true, fromKey: false })).toThrow(KvUsageError);
  });

  it('lease ids are hex up to the largest int64', () => {
    expect(parseLeaseId('7fffffffffffffff')).toBe(0x7fff_ffff_ffff_ffffn);
    expect(() => parseLeaseId('8000000000000000')).toThrow(KvUsageError);
    expect(() => parseLeaseId('0x1')).toThrow(KvUsageError);
  });
});

describe('output formats', () => {
  it('JSON prints 64-bit integers exactly and leaves out undefined fields', () => {
    expect(toJson({ id: 18_446_744_073_709_551_615n, skipped: undefined, list: [true, null, 'x'] })).toBe(
      '{"id":18446744073709551615,"list":[true,null,"x"]}',
    );
  });

  it('ids print as etcdctl prints them', () => {
    expect(leaseIdHex('255')).toBe('00000000000000ff');
    expect(memberIdHex('251251968037185')).toBe('e483284dd141');
    expect(memberIdHex('-1')).toBe('ffffffffffffffff');
  });

  it('sizes like go-humanize and durations like Go', () => {
    expect([humanBytes(9), humanBytes(956), humanBytes(1056), humanBytes(25_000), humanBytes(1_049_000)]).toEqual([
      '9 B',
      '956 B',
      '1.1 kB',
      '25 kB',
      '1.0 MB',
    ]);
    expect([goDuration(812n), goDuration(7_884_329n), goDuration(1_500_000_000n), goDuration(123_000_000_001n)]).toEqual([
      '812ns',
      '7.884329ms',
      '1.5s',
      '2m3.000000001s',
    ]);
  });

  it('tables centre the headers and right-align the cells, like etcdctl', () => {
    expect(renderTable(['ID', 'STATUS', 'NAME'], [['1df8f51cb226', 'started', 'm2']])).toEqual([
      '+--------------+---------+------+',
      '|      ID      | STATUS  | NAME |',
      '+--------------+---------+------+',
      '| 1df8f51cb226 | started |   m2 |',
      '+--------------+---------+------+',
    ]);
  });
});
