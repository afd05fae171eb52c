/**
 * Coalescing of one Ready's messages (raft/core/coalesce.ts): appends and
 * forwarded proposals to one peer join when that sends the same entries, and
 * never otherwise.
 */
import { describe, expect, it } from 'vitest';
import { coalesceInto } from '../../raft/core/coalesce.js';
import type { Message } from '../../raft/core/types.js';
import { electedNet, sentSince } from './features-helpers.js';
import { entry } from './network.js';
import { app, msg } from './paper-helpers.js';

const NO_LIMIT = 1 << 30;

describe('coalesceInto', () => {
  it('joins an append that continues the last one queued for the peer, taking the later commit', () => {
    const queue: Message[] = [app(1, 2, 2, [5, 2], [entry(6, 2, 'a')], 4), app(1, 3, 2, [5, 2], [entry(6, 2, 'a')], 4)];
    expect(coalesceInto(queue, app(1, 2, 2, [6, 2], [entry(7, 2, 'b'), entry(8, 2, 'c')], 5), NO_LIMIT)).toBe(true);
    expect(queue).toHaveLength(2);
    expect(queue[0]!.entries?.map((e) => e.index)).toEqual([6, 7, 8]);
    expect(queue[0]!.index).toBe(5);
    expect(queue[0]!.commit).toBe(5);
    expect(queue[1]!.entries?.map((e) => e.index)).toEqual([6]); // the other peer's message is untouched
  });

  it('refuses appends that do not continue the queued one', () => {
    const base = (): Message[] => [app(1, 2, 2, [5, 2], [entry(6, 2, 'a')])];
    const cases: Array<[string, Message]> = [
      ['a gap', app(1, 2, 2, [7, 2], [entry(8, 2)])],
      ['another log term at the join', app(1, 2, 2, [6, 1], [entry(7, 2)])],
      ['another message term', app(1, 2, 3, [6, 2], [entry(7, 3)])],
      ['no entries', app(1, 2, 2, [6, 2], [])],
    ];
    for (const [what, m] of cases) {
      const queue = base();
      expect(coalesceInto(queue, m, NO_LIMIT), what).toBe(false);
      expect(queue[0]!.entries, what).toHaveLength(1);
    }
  });

  it('never reorders: a later message of another type to the peer stops the join', () => {
    const queue: Message[] = [app(1, 2, 2, [5, 2], [entry(6, 2)]), msg('Heartbeat', 1, 2, 2)];
    expect(coalesceInto(queue, app(1, 2, 2, [6, 2], [entry(7, 2)]), NO_LIMIT)).toBe(false);
  });

  it('keeps a message within the byte bound', () => {
    const queue: Message[] = [app(1, 2, 2, [5, 2], [entry(6, 2, 'x'.repeat(60))])];
    expect(coalesceInto(queue, app(1, 2, 2, [6, 2], [entry(7, 2, 'y'.repeat(60))]), 100)).toBe(false);
    expect(coalesceInto(queue, app(1, 2, 2, [6, 2], [entry(7, 2, 'y'.repeat(60))]), 1000)).toBe(true);
  });

  it('joins forwarded proposals to the leader in their order', () => {
    const prop = (data: string): Message => msg('Prop', 2, 1, 0, { entries: [entry(0, 0, data)] });
    const queue: Message[] = [prop('a')];
    expect(coalesceInto(queue, prop('b'), NO_LIMIT)).toBe(true);
    expect(queue).toHaveLength(1);
    expect(queue[0]!.entries?.map((e) => new TextDecoder().decode(e.data))).toEqual(['a', 'b']);
  });
});

describe('a leader under a burst of proposals', () => {
  it('sends each follower one append for proposals made between two Readys, and everything commits', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    const mark = net.sent.length;
    for (let i = 0; i < 8; i++) net.propose(1, `p${i}`);
    net.stabilize();
    const appendsTo = (to: number) => sentSince(net, mark, (m) => m.type === 'App' && m.to === to && (m.entries?.length ?? 0) > 0);
    expect(appendsTo(2)).toHaveLength(1);
    expect(appendsTo(2)[0]!.entries).toHaveLength(8);
    expect(appendsTo(3)).toHaveLength(1);
    // One answer for the eight entries (and one for the empty append that carries the commit).
    const answers = sentSince(net, mark, (m) => m.type === 'AppResp' && m.from === 2).map((m) => m.index);
    expect(answers).toEqual([answers[0], answers[0]]);
    for (const id of [1, 2, 3]) expect(net.appliedState(id).slice(-8)).toEqual(Array.from({ length: 8 }, (_, i) => `p${i}`));
  });

  it('a follower forwards a burst of proposals as one message', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    const mark = net.sent.length;
    for (let i = 0; i < 5; i++) net.propose(3, `f${i}`);
    net.stabilize();
    const forwarded = sentSince(net, mark, (m) => m.type === 'Prop' && m.from === 3);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.entries).toHaveLength(5);
    expect(net.appliedState(1).slice(-5)).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
  });
});

describe('heartbeats', () => {
  const hb = (to: number, commit: number, context?: string): Message => msg('Heartbeat', 1, to, 2, { commit, ...(context === undefined ? {} : { context }) });

  it('a later heartbeat to the peer replaces the queued one', () => {
    const queue: Message[] = [hb(2, 3, 'r1'), hb(3, 3, 'r1')];
    expect(coalesceInto(queue, hb(2, 4, 'r2'), NO_LIMIT)).toBe(true);
    expect(queue).toEqual([hb(2, 4, 'r2'), hb(3, 3, 'r1')]);
  });

  it('one without a read context never replaces one with, nor a lower commit a higher one', () => {
    const queue: Message[] = [hb(2, 3, 'r1')];
    expect(coalesceInto(queue, hb(2, 3), NO_LIMIT)).toBe(false);
    expect(coalesceInto([hb(2, 5, 'r1')], hb(2, 4, 'r2'), NO_LIMIT)).toBe(false);
  });

  it('reads that share a Ready are all confirmed by the one heartbeat round left', () => {
    const net = electedNet({ voters: [1, 2, 3] });
    const mark = net.sent.length;
    for (const ctx of ['a', 'b', 'c']) net.raw(1).readIndex(ctx);
    net.stabilize();
    expect(sentSince(net, mark, (m) => m.type === 'Heartbeat' && m.to === 2)).toHaveLength(1);
    const released = net.mustNode(1).readys.flatMap((rd) => rd.readStates.map((rs) => rs.requestCtx));
    expect(released.slice(-3)).toEqual(['a', 'b', 'c']);
  });
});
