/**
 * Shared setup of the suites for the extensions beyond basic Raft
 * (features.test.ts, learners-and-limits.test.ts, replication-flow.test.ts).
 */
import { expect } from 'vitest';
import type { Message } from '../../raft/core/types.js';
import { Network, type NetworkOptions } from './network.js';

export const ELECTION_TICKS = 10;

export function electedNet(opts: NetworkOptions, leader = 1): Network {
  const net = new Network(opts);
  net.campaign(leader);
  expect(net.status(leader).role).toBe('Leader');
  return net;
}

export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Ticks `ids` one at a time (stabilizing) until `done`, at most `max` ticks; returns the ticks taken or -1. */
export function tickUntil(net: Network, ids: readonly number[], max: number, done: () => boolean): number {
  for (let t = 1; t <= max; t++) {
    net.tickStabilize(1, ids);
    if (done()) return t;
  }
  return -1;
}

export function sentSince(net: Network, mark: number, pred: (m: Message) => boolean): Message[] {
  return net.sent.slice(mark).map((s) => s.msg).filter(pred);
}
