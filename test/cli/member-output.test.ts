/**
 * What `strake kv member ...` and `move-leader` print, without a cluster:
 * etcdctl 3.4's lines (Go's `%16x` pads ids with spaces), and after `member add`
 * its ETCD_* lines plus a `strake master` command that the shell reads back as
 * the intended arguments.
 */
import { execFileSync } from 'node:child_process';
import type { IMember } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { KvUsageError } from '../../cli/kv/errors.js';
import { parseMemberId } from '../../cli/kv/member-commands.js';
import {
  defaultListenClient,
  leadershipTransferredLine,
  memberAddedLine,
  memberRemovedLine,
  newMemberLines,
  shellQuote,
} from '../../cli/kv/member-output.js';

const member = (id: number, name: string, port: number): IMember => ({
  ID: String(id),
  name,
  peerURLs: [`http://127.0.0.1:${port}`],
  clientURLs: name === '' ? [] : [`http://127.0.0.1:${port + 1}`],
  isLearner: false,
});

describe('member command output', () => {
  it("prints ids as etcdctl 3.4's %16x does (and, like 3.4, no \"as learner\")", () => {
    expect(memberAddedLine(String(0xc2471f83a5df), String(0x63acca36d230))).toBe('Member     c2471f83a5df added to cluster     63acca36d230');
    expect(memberAddedLine('18', '255')).toBe('Member               12 added to cluster               ff');
    expect(memberRemovedLine(0x1234n, '1')).toBe('Member             1234 removed from cluster                1');
    expect(leadershipTransferredLine('10', 0xabcn)).toBe('Leadership transferred from a to abc');
  });

  it('reads member ids in hex, as etcdctl does', () => {
    expect(parseMemberId('c2471f83a5df')).toBe(0xc2471f83a5dfn);
    expect(parseMemberId('FFFFFFFFFFFFFFFF')).toBe(2n ** 64n - 1n);
    expect(() => parseMemberId('xyz')).toThrow(KvUsageError);
    expect(() => parseMemberId('1'.repeat(17))).toThrow(KvUsageError);
  });

  it('after member add: the ETCD_* lines and a strake master command for the new member', () => {
    const members = [member(1, 'm0', 36_000), member(0xabc, '', 36_030), member(2, 'm1', 36_010), member(3, '', 36_040)];
    const lines = newMemberLines({
      name: 'm3',
      newId: String(0xabc),
      peerUrls: ['http://127.0.0.1:36030'],
      members,
      dataDir: '/data/my dir',
      listenClient: defaultListenClient('http://127.0.0.1:36030'),
      clusterToken: 'tok',
    });
    expect(lines.slice(0, 5)).toEqual([
      '',
      'ETCD_NAME="m3"',
      'ETCD_INITIAL_CLUSTER="m0=http://127.0.0.1:36000,m3=http://127.0.0.1:36030,m1=http://127.0.0.1:36010,=http://127.0.0.1:36040"',
      'ETCD_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:36030"',
      'ETCD_INITIAL_CLUSTER_STATE="existing"',
    ]);
    const command = lines[lines.length - 1]!;
    // What a POSIX shell makes of the line is exactly the intended argv.
    const argv = execFileSync('sh', ['-c', `for a in ${command}; do printf '%s\\n' "$a"; done`]).toString().trim().split('\n');
    expect(argv).toEqual([
      'strake', 'master',
      '--name', 'm3',
      '--data-dir', '/data/my dir',
      '--listen-peer', 'http://127.0.0.1:36030',
      '--listen-client', '127.0.0.1:36031',
      // An unstarted member has no name yet; strake master needs one, any will do.
      '--initial-cluster', 'm0=http://127.0.0.1:36000,m3=http://127.0.0.1:36030,m1=http://127.0.0.1:36010,member-3=http://127.0.0.1:36040',
      '--initial-cluster-state', 'existing',
      '--cluster-token', 'tok',
    ]);
  });

  it('quotes for the shell only what needs it', () => {
    expect(shellQuote('http://127.0.0.1:1,a=b')).toBe('http://127.0.0.1:1,a=b');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});
