/**
 * An in-memory network of RawNodes for tests (after etcd's newNetwork).
 *
 * Each node has a MemoryStorage and a tiny state machine (the list of applied
 * payloads). The driver follows the Ready contract: persist snapshot, entries
 * and hard state; send messages; apply; advance. Messages go into one FIFO
 * queue and are delivered by `deliverAll`/`stabilize`, so tests may also step
 * through an exchange one hop at a time.
 *
 * Members that have no node in the network (see `NetworkOptions.nodes`) are
 * "absent": messages addressed to them land in `outbox` instead of being
 * dropped, so a test can play their part by hand.
 *
 * Every Ready goes through driver.ts, which also checks the invariants the
 * Ready contract relies on and throws on a violation.
 */
import { SeededRng, type Rng } from '../../raft/core/rng.js';
import { MemoryStorage } from '../../raft/core/storage.js';
import { RawNode, type ProgressStatus, type Status } from '../../raft/core/raw-node.js';
import { encodeConfChange, type ConfChange } from '../../raft/core/conf-change.js';
import {
  applyReady,
  bytes,
  checkMessagesDurable,
  confAfter,
  payloads,
  persist,
  type NodeConfig,
  type TestNode,
} from './driver.js';
import type { ConfState, Entry, HardState, Message, MessageType, Ready, Snapshot } from '../../raft/core/types.js';

export { bytes, text, type NodeConfig, type TestNode } from './driver.js';

/** Bound on delivery rounds in one stabilize(); a healthy exchange settles in far fewer. */
export const STABILIZE_ROUNDS_MAX = 10_000;

export interface NetworkOptions {
  readonly voters: readonly number[];
  readonly learners?: readonly number[];
  /** Members that get a RawNode; default: every voter and learner. */
  readonly nodes?: readonly number[];
  /** Applied to every node; defaults: electionTicks 10, heartbeatTicks 1. */
  readonly config?: NodeConfig;
  /** Per-node overrides, applied after `config`. */
  readonly configFor?: (id: number) => NodeConfig;
  /** Pre-existing log per node: the term of entries 1, 2, 3, … */
  readonly logs?: Readonly<Record<number, readonly number[]>>;
  /** Pre-existing hard state per node (persisted before the node starts). */
  readonly hardStates?: Readonly<Record<number, HardState>>;
  /** Seeds the nodes' RNGs (node i gets seed * 1000 + i). */
  readonly seed?: number;
}

export interface SentMessage {
  readonly msg: Message;
  readonly dropped: boolean;
}


type DropRule = (m: Message) => boolean;

export class Network {
  readonly members: readonly number[];
  readonly nodes = new Map<number, TestNode>();
  /** Messages addressed to members without a node. */
  outbox: Message[] = [];
  /** Every message handed out by a Ready, delivered or not, in send order. */
  readonly sent: SentMessage[] = [];
  /** Delivered messages that RawNode.step refused (returned false). */
  readonly refused: Message[] = [];
  private queue: Message[] = [];
  private rules: DropRule[] = [];
  private readonly isolated = new Set<number>();
  private chaos: { rng: Rng; duplicatePct: number } | undefined;
  private readonly duplicates = new WeakSet<Message>();
  private readonly seed: number;
  private readonly baseConfig: NodeConfig;
  private readonly configFor: (id: number) => NodeConfig;

  constructor(opts: NetworkOptions) {
    const learners = opts.learners ?? [];
    this.members = [...opts.voters, ...learners];
    this.seed = opts.seed ?? 1;
    this.baseConfig = { electionTicks: 10, heartbeatTicks: 1, ...opts.config };
    this.configFor = opts.configFor ?? (() => ({}));
    const confState: ConfState = { voters: [...opts.voters], learners: [...learners] };
    for (const id of opts.nodes ?? this.members) {
      const storage = new MemoryStorage(confState);
      const terms = opts.logs?.[id] ?? [];
      storage.append(terms.map((term, i) => entry(i + 1, term, `e${i + 1}@t${term}`)));
      const hs = opts.hardStates?.[id];
      if (hs !== undefined) storage.setHardState(hs);
      this.addNode(id, storage);
    }
  }

  /** Starts a node over `storage` (a new member, or a restart over surviving storage). */
  addNode(id: number, storage: MemoryStorage, appliedIndex = 0): TestNode {
    const config: NodeConfig = { ...this.baseConfig, ...this.configFor(id) };
    const raw = new RawNode({
      ...config,
      electionTicks: config.electionTicks ?? 10,
      heartbeatTicks: config.heartbeatTicks ?? 1,
      appliedIndex,
      id,
      storage,
      rng: new SeededRng(this.seed * 1000 + id),
    });
    const node: TestNode = {
      id,
      raw,
      storage,
      config,
      appliedIndex,
      appliedEntries: [],
      snapshotState: [],
      snapshotConf: storage.initialState().confState,
      readStates: [],
      readys: [],
      lastHardState: storage.initialState().hardState,
    };
    this.nodes.set(id, node);
    return node;
  }

  /** Simulates a crash and restart: unsent messages and unpersisted state are lost. */
  restart(id: number): TestNode {
    const old = this.mustNode(id);
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
    const node = this.addNode(id, old.storage, old.appliedIndex);
    node.appliedEntries = old.appliedEntries;
    node.snapshotState = old.snapshotState;
    node.snapshotConf = old.snapshotConf;
    return node;
  }

  mustNode(id: number): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id} in the network`);
    return n;
  }

  raw(id: number): RawNode {
    return this.mustNode(id).raw;
  }

  status(id: number): Status {
    return this.raw(id).status();
  }

  /** The leader's view of `follower`, or undefined when `leader` does not lead or does not track it. */
  progress(leader: number, follower: number): ProgressStatus | undefined {
    return this.status(leader).progress?.get(follower);
  }

  /** The ids whose node believes it is the leader. */
  leaders(): number[] {
    return [...this.nodes.keys()].filter((id) => this.status(id).role === 'Leader');
  }

  // ---- faults -------------------------------------------------------------

  /** Drops every message to or from `id` until recover(). */
  isolate(id: number): void {
    this.isolated.add(id);
  }

  /** Drops messages between a and b, both ways. */
  cut(a: number, b: number): void {
    this.drop(a, b);
    this.drop(b, a);
  }

  /** Drops messages from `from` to `to`. */
  drop(from: number, to: number): void {
    this.rules.push((m) => m.from === from && m.to === to);
  }

  /** Drops every message of this type. */
  ignore(type: MessageType): void {
    this.rules.push((m) => m.type === type);
  }

  /** Drops messages between nodes of different groups; nodes in no group keep talking to everyone. */
  partition(...groups: ReadonlyArray<readonly number[]>): void {
    const groupOf = new Map<number, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    this.rules.push((m) => {
      const a = groupOf.get(m.from);
      const b = groupOf.get(m.to);
      return a !== undefined && b !== undefined && a !== b;
    });
  }

  /** Drops messages matching `pred`. */
  dropIf(pred: (m: Message) => boolean): void {
    this.rules.push(pred);
  }

  /** Heals every fault. Messages already dropped stay lost. */
  recover(): void {
    this.rules = [];
    this.isolated.clear();
  }

  private isDropped(m: Message): boolean {
    return this.isolated.has(m.from) || this.isolated.has(m.to) || this.rules.some((r) => r(m));
  }

  // ---- driving ------------------------------------------------------------

  /**
   * Handles one Ready of `id` if it has one: persists, queues the messages
   * (subject to faults), applies, advances. Returns the Ready.
   */
  processReady(id: number): Ready | undefined {
    const node = this.mustNode(id);
    if (!node.raw.hasReady()) return undefined;
    const rd = node.raw.ready();
    node.readys.push(rd);
    persist(node, rd);
    checkMessagesDurable(node, rd);
    this.send(rd.messages);
    applyReady(node, rd);
    node.raw.advance();
    return rd;
  }

  /** Processes Readys of `id` until it has none (bounded). */
  flush(id: number): Ready[] {
    const out: Ready[] = [];
    for (let i = 0; i < STABILIZE_ROUNDS_MAX; i++) {
      const rd = this.processReady(id);
      if (rd === undefined) return out;
      out.push(rd);
    }
    throw new Error(`node ${id} kept producing Readys after ${STABILIZE_ROUNDS_MAX} rounds`);
  }

  /** Queues messages for delivery, applying the faults in force now. */
  send(msgs: readonly Message[]): void {
    for (const m of msgs) {
      const dropped = this.isDropped(m);
      this.sent.push({ msg: m, dropped });
      if (dropped) continue;
      if (this.nodes.has(m.to)) this.queue.push(m);
      else this.outbox.push(m);
    }
  }

  /** Steps one message into its recipient. */
  deliver(m: Message): void {
    const node = this.mustNode(m.to);
    if (!node.raw.step(m)) {
      this.refused.push(m);
      return;
    }
    // The transport tells the sender a snapshot arrived, as a real one would.
    if (m.type === 'Snap') this.nodes.get(m.from)?.raw.reportSnapshot(m.to, true);
  }

  /**
   * From now on, each delivery round shuffles the queued messages and hands a
   * copy of some of them to the next round as well (a reordering, duplicating
   * transport). `rng` makes it replayable; pass undefined to stop.
   */
  setChaos(chaos: { rng: Rng; duplicatePct: number } | undefined): void {
    this.chaos = chaos;
  }

  /** Delivers everything queued now (not what those deliveries produce). Returns how many. */
  deliverAll(): number {
    const batch = this.queue;
    this.queue = [];
    const chaos = this.chaos;
    if (chaos !== undefined) {
      for (let i = batch.length - 1; i > 0; i--) {
        const j = chaos.rng.nextInt(i + 1);
        [batch[i], batch[j]] = [batch[j]!, batch[i]!];
      }
    }
    for (const m of batch) {
      if (chaos !== undefined && !this.duplicates.has(m) && chaos.rng.nextInt(100) < chaos.duplicatePct) {
        const copy = { ...m };
        this.duplicates.add(copy); // a copy is delivered once more at most: keeps the queue bounded
        this.queue.push(copy);
      }
      this.deliver(m);
    }
    return batch.length;
  }

  /** Messages queued for delivery, oldest first. */
  pending(): readonly Message[] {
    return this.queue;
  }

  /** Removes and returns the queued messages: a test holds them back to deliver later with requeue(). */
  takePending(): Message[] {
    const out = this.queue;
    this.queue = [];
    return out;
  }

  /** Queues messages taken earlier (delayed delivery); faults in force now still apply. */
  requeue(msgs: readonly Message[]): void {
    for (const m of msgs) if (!this.isDropped(m)) this.queue.push(m);
  }

  /** Removes and returns the messages addressed to absent members. */
  takeOutbox(): Message[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  /** Processes Readys and delivers messages until nothing is left to do (bounded). */
  stabilize(): void {
    for (let round = 0; round < STABILIZE_ROUNDS_MAX; round++) {
      let busy = false;
      for (const id of this.nodes.keys()) {
        if (this.flush(id).length > 0) busy = true;
      }
      if (this.deliverAll() > 0) busy = true;
      if (!busy) return;
    }
    throw new Error(`network did not settle within ${STABILIZE_ROUNDS_MAX} rounds`);
  }

  /** Ticks each listed node (default: all) `n` times without processing anything. */
  tick(n = 1, ids: readonly number[] = [...this.nodes.keys()]): void {
    for (let i = 0; i < n; i++) for (const id of ids) this.raw(id).tick();
  }

  /** Ticks the listed nodes (default: all) once and stabilizes, `n` times. */
  tickStabilize(n = 1, ids: readonly number[] = [...this.nodes.keys()]): void {
    for (let i = 0; i < n; i++) {
      this.tick(1, ids);
      this.stabilize();
    }
  }

  /** Starts an election on `id` and stabilizes. */
  campaign(id: number): void {
    this.raw(id).campaign();
    this.stabilize();
  }

  propose(id: number, data: string): void {
    this.raw(id).propose(bytes(data));
  }

  proposeConfChange(id: number, cc: ConfChange): void {
    this.raw(id).proposeConfChange(cc);
  }

  /**
   * Compacts `id`'s storage at `index` (default: its applied index): records a
   * snapshot of the state machine there, then discards the entries it covers.
   */
  compact(id: number, index?: number): Snapshot {
    const node = this.mustNode(id);
    const at = index ?? node.appliedIndex;
    if (at > node.appliedIndex) throw new Error(`node ${id} cannot snapshot at ${at}: it applied only ${node.appliedIndex}`);
    const covered = node.appliedEntries.filter((e) => e.index <= at);
    const state = [...node.snapshotState, ...payloads(covered)];
    const snap = node.storage.createSnapshot(at, confAfter(node.snapshotConf, covered), bytes(JSON.stringify(state)));
    node.storage.compact(at);
    return snap;
  }

  // ---- reading state ------------------------------------------------------

  /** The node's stable log (everything after its snapshot). */
  log(id: number): Entry[] {
    const s = this.mustNode(id).storage;
    return s.entries(s.firstIndex(), s.lastIndex() + 1, Number.POSITIVE_INFINITY);
  }

  /** [index, term] of each entry of the node's stable log. */
  logTerms(id: number): Array<[number, number]> {
    return this.log(id).map((e) => [e.index, e.term]);
  }

  /** The application state of `id`: every applied non-empty normal payload, in order. */
  appliedState(id: number): string[] {
    const node = this.mustNode(id);
    return [...node.snapshotState, ...payloads(node.appliedEntries)];
  }

  /** Messages sent (delivered or dropped) matching `pred`. */
  sentWhere(pred: (m: Message) => boolean): Message[] {
    return this.sent.filter((s) => pred(s.msg)).map((s) => s.msg);
  }
}

export function entry(index: number, term: number, data = ''): Entry {
  return { index, term, type: 'Normal', data: bytes(data) };
}

export function confChangeEntry(index: number, term: number, cc: ConfChange): Entry {
  return { index, term, type: 'ConfChange', data: encodeConfChange(cc) };
}
