/**
 * Shared setup of the paper conformance suites (paper*.test.ts): basic Raft
 * with pre-vote and check-quorum off, hand-written messages, elected networks.
 */
import { expect } from 'vitest';
import type { Entry, HardState, Message, MessageType } from '../../raft/core/types.js';
import { NONE } from '../../raft/core/types.js';
import { Network, type NetworkOptions } from './network.js';

export const ELECTION_TICKS = 10;

export function paperNet(opts: NetworkOptions): Network {
  return new Network({ ...opts, config: { preVote: false, checkQuorum: false, ...opts.config } });
}

export function hs(term: number, vote = NONE, commit = 0): HardState {
  return { term, vote, commit };
}

/** A message from `from` to `to`, with the fields a peer would fill in. */
export function msg(type: MessageType, from: number, to: number, term: number, rest: Partial<Message> = {}): Message {
  return { type, from, to, term, ...rest };
}

export function app(from: number, to: number, term: number, prev: [number, number], entries: Entry[], commit = 0): Message {
  return msg('App', from, to, term, { index: prev[0], logTerm: prev[1], entries, commit });
}

export function ofType(msgs: readonly Message[], type: MessageType): Message[] {
  return msgs.filter((m) => m.type === type);
}

/** Builds a network, elects node 1 and settles. */
export function electedNet(opts: NetworkOptions): Network {
  const net = paperNet(opts);
  net.campaign(1);
  expect(net.status(1).role).toBe('Leader');
  return net;
}

/**
 * Node 1 alone (the other voters absent) as leader of `term`: it campaigns,
 * the absent voters `granters` grant, and its first appends are taken from the outbox.
 */
export function loneLeader(opts: NetworkOptions, granters: readonly number[]): Network {
  const net = paperNet({ ...opts, nodes: [1] });
  net.campaign(1);
  const term = net.status(1).term;
  for (const v of granters) net.deliver(msg('VoteResp', v, 1, term, { reject: false }));
  net.stabilize();
  expect(net.status(1).role).toBe('Leader');
  net.takeOutbox();
  return net;
}

export function committedTexts(net: Network, id: number): string[] {
  return net.appliedState(id);
}

/** Ticks node 1 until `done` (bounded by three election timeouts); returns the ticks taken. */
export function ticksUntil(net: Network, done: () => boolean): number {
  for (let t = 1; t <= 3 * ELECTION_TICKS; t++) {
    net.tick(1, [1]);
    net.stabilize();
    if (done()) return t;
  }
  throw new Error('condition not reached within three election timeouts');
}
