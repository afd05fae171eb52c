/**
 * Raft core speed: a fault-free cluster of 3 and of 5 in-process replicas
 * under a continuous proposal load, with a minimal driver (MemoryStorage,
 * instant in-order delivery, no checkers). Prints committed entries per CPU
 * second — the ceiling the core itself puts on throughput, before any disk or
 * network cost.
 *
 * Run: node dist/bench/raft-core.js
 */
import { bootstrapEntries } from '../raft/core/conf-change.js';
import { SeededRng } from '../raft/core/rng.js';
import { RawNode } from '../raft/core/raw-node.js';
import { MemoryStorage } from '../raft/core/storage.js';
import type { Message } from '../raft/core/types.js';
import { StateRole } from '../raft/core/types.js';

/** CPU time measured per cluster size: long enough to average over GC pauses. */
const MEASURE_CPU_MS = 3_000;
/** CPU time of an unmeasured run per cluster size first, so the JIT has compiled the hot paths. */
const WARMUP_CPU_MS = 1_000;
/** Ticks allowed for the first election before the benchmark gives up. */
const ELECTION_TICKS_MAX = 1_000;
/** Proposals per tick: enough to keep appends batched, as a busy server's would be. */
const PROPOSALS_PER_TICK = 64;
/** Payload of each proposal: a small key-value write. */
const PROPOSAL_BYTES = 128;
/** Message deliveries per tick, at most: a bound on the inner loop (a tick needs a few hundred). */
const DELIVERIES_PER_TICK_MAX = 100_000;
/** Each replica compacts its log once this many applied entries are behind its snapshot. */
const COMPACT_EVERY_ENTRIES = 10_000;
/** Ticks per benchmark run, at most (a bound; MEASURE_CPU_MS normally ends the run). */
const BENCH_TICKS_MAX = 1_000_000;

interface Member {
  readonly node: RawNode;
  readonly storage: MemoryStorage;
  snapshotIndex: number;
}

interface BenchResult {
  readonly replicas: number;
  readonly committed: number;
  readonly cpuSeconds: number;
  readonly ticks: number;
}

function startCluster(replicas: number): Map<number, Member> {
  const voters = Array.from({ length: replicas }, (_, i) => i + 1);
  const boot = bootstrapEntries(voters);
  const members = new Map<number, Member>();
  for (const id of voters) {
    const storage = new MemoryStorage();
    storage.append(boot);
    storage.setHardState({ term: 1, vote: 0, commit: boot.length });
    const node = new RawNode({ id, storage, rng: new SeededRng(id), electionTicks: 10, heartbeatTicks: 1 });
    members.set(id, { node, storage, snapshotIndex: 0 });
  }
  return members;
}

/** Handles every member's Ready batches and delivers the messages, until the cluster is quiet. */
function settle(members: Map<number, Member>, onCommitted: (n: number) => void, leaderId: number): void {
  const queue: Message[] = [];
  const sink = (id: number): ((n: number) => void) | undefined => (id === leaderId ? onCommitted : undefined);
  for (const [id, m] of members) drain(m, queue, sink(id));
  for (let head = 0; head < queue.length && head < DELIVERIES_PER_TICK_MAX; head++) {
    const msg = queue[head]!;
    const to = members.get(msg.to);
    if (to === undefined) continue;
    to.node.step(msg);
    drain(to, queue, sink(msg.to));
  }
}

function drain(m: Member, queue: Message[], onCommitted: ((n: number) => void) | undefined): void {
  while (m.node.hasReady()) {
    const rd = m.node.ready();
    if (rd.snapshot !== undefined) m.storage.applySnapshot(rd.snapshot);
    m.storage.append(rd.entries);
    if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
    for (const msg of rd.messages) queue.push(msg);
    const last = rd.committedEntries[rd.committedEntries.length - 1];
    onCommitted?.(rd.committedEntries.length);
    m.node.advance();
    if (last !== undefined && last.index - m.snapshotIndex >= COMPACT_EVERY_ENTRIES) {
      m.storage.createSnapshot(last.index, m.node.status().confState, new Uint8Array());
      m.storage.compact(last.index);
      m.snapshotIndex = last.index;
    }
  }
}

function electLeader(members: Map<number, Member>): number {
  members.get(1)!.node.campaign();
  for (let t = 0; t < ELECTION_TICKS_MAX; t++) {
    settle(members, () => {}, 0);
    for (const [id, m] of members) if (m.node.status().role === StateRole.Leader) return id;
    for (const m of members.values()) m.node.tick();
  }
  throw new Error(`no leader after ${ELECTION_TICKS_MAX} ticks`);
}

function bench(replicas: number, measureCpuMs: number): BenchResult {
  const members = startCluster(replicas);
  const leaderId = electLeader(members);
  const leader = members.get(leaderId)!;
  const payload = new Uint8Array(PROPOSAL_BYTES).fill(7);
  let committed = 0;
  const count = (n: number): void => {
    committed += n;
  };
  const start = process.cpuUsage();
  let ticks = 0;
  let cpuMs = 0;
  for (; ticks < BENCH_TICKS_MAX && cpuMs < measureCpuMs; ticks++) {
    for (let p = 0; p < PROPOSALS_PER_TICK; p++) leader.node.propose(payload);
    settle(members, count, leaderId);
    for (const m of members.values()) m.node.tick();
    const used = process.cpuUsage(start);
    cpuMs = (used.user + used.system) / 1000;
  }
  return { replicas, committed, cpuSeconds: cpuMs / 1000, ticks };
}

function main(): void {
  for (const replicas of [3, 5]) bench(replicas, WARMUP_CPU_MS);
  for (const replicas of [3, 5]) {
    const r = bench(replicas, MEASURE_CPU_MS);
    const perCpuSecond = Math.round(r.committed / r.cpuSeconds);
    process.stdout.write(
      `raft-core ${r.replicas} replicas: ${perCpuSecond} committed entries per CPU second ` +
        `(${r.committed} entries in ${r.cpuSeconds.toFixed(2)} s CPU, ${r.ticks} ticks)\n`,
    );
  }
}

main();
