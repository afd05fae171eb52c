/**
 * Watches against real processes while leaders die: several etcd3 watchers on
 * one prefix, each attached to one specific member, while a writer puts,
 * deletes and writes multi-key txns and the leader is SIGKILLed and restarted.
 * A watcher whose member goes away resumes on another member from its last
 * revision + 1. At the end every watcher's stream must equal the store's whole
 * event history of the prefix (read by a watch from revision 1 on every member,
 * checked against acknowledged writes and against gets at past revisions): in
 * order, without gaps or duplicates, each revision within one response, and
 * continuous across its resumptions.
 *
 * Ports 26800-26899 belong to this file (a cluster at 26800 uses 26800-26821).
 */
import type { Etcd3, IWatchResponse } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { chaosClient } from '../../chaos/cluster/etcd-client.js';
import { SeededRng, type Rng } from '../../raft/core/rng.js';
import { eventually, retryOnError, sleep, startClusterForTest, type ProcessCluster } from '../support/process-cluster.js';
import { ResumingWatcher, type SeenEvent } from './resuming-watcher.js';

const BASE_PORT = 26_800;
const PREFIX = 'wc/';
const KEYS = 8;
/** Watchers per member at the start; a kill then always cuts some off. */
const WATCHERS_PER_MEMBER = 2;
const FAULT_PHASE_MS = 14_000;
const KILL_EVERY_MS = 3_500;
const DOWN_MS = 1_000;
/** Bound on the writer, whatever the pace: the history must stay small enough to compare quickly. */
const WRITES_MAX = 4_000;
const WRITE_DEADLINE_MS = 2_000;
/** Time for every watcher to deliver the end marker once the cluster is whole again. */
const SETTLE_TIMEOUT_MS = 15_000;
const READY_TIMEOUT_MS = 30_000;
/** Past revisions whose range result is compared with the replayed history. */
const SAMPLED_REVISIONS = 12;
const END_KEY = `${PREFIX}zz-end`;
/** Bound on cancelling a reference watch; a live member answers at once. */
const CANCEL_TIMEOUT_MS = 2_000;

interface AckedWrite {
  readonly revision: number;
  readonly puts: readonly (readonly [string, string])[];
  readonly deletes: readonly string[];
}

async function writeOnce(c: Etcd3, rng: Rng, n: number): Promise<AckedWrite | undefined> {
  const key = (): string => `${PREFIX}k${rng.nextInt(KEYS)}`;
  const deadline = Date.now() + WRITE_DEADLINE_MS;
  const choice = rng.nextInt(10);
  if (choice < 5) {
    const [k, v] = [key(), `v${n}`];
    const r = await c.put(k).value(v).options({ deadline }).exec();
    return { revision: Number(r.header.revision), puts: [[k, v]], deletes: [] };
  }
  if (choice < 7) {
    const k = key();
    const r = await c.delete().key(k).options({ deadline }).exec();
    return Number(r.deleted) === 0 ? undefined : { revision: Number(r.header.revision), puts: [], deletes: [k] };
  }
  const k1 = key();
  const k2 = `${PREFIX}k${(Number(k1.slice(PREFIX.length + 1)) + 1 + rng.nextInt(KEYS - 1)) % KEYS}`;
  const puts = [[k1, `t${n}a`], [k2, `t${n}b`]] as const;
  const r = await c
    .if(k1, 'Version', '<', 1_000_000_000)
    .then(c.put(k1).value(puts[0][1]), c.put(k2).value(puts[1][1]))
    .options({ deadline })
    .commit();
  return { revision: Number(r.header.revision), puts, deletes: [] };
}

/** Writes until `stopAt`; a failed write (no leader, killed member) is simply not acknowledged. */
async function writeLoop(cluster: ProcessCluster, rng: Rng, stopAt: number, acked: AckedWrite[]): Promise<void> {
  const c = chaosClient(cluster.endpoints(), { dialTimeoutMs: 1_000, callTimeoutMs: WRITE_DEADLINE_MS });
  try {
    for (let n = 0; n < WRITES_MAX && Date.now() < stopAt; n++) {
      try {
        const w = await writeOnce(c, rng, n);
        if (w !== undefined) acked.push(w);
      } catch {
        await sleep(20);
      }
    }
  } finally {
    c.close();
  }
}

async function killLeaders(cluster: ProcessCluster, stopAt: number, log: (s: string) => void): Promise<number> {
  let kills = 0;
  while (Date.now() + KILL_EVERY_MS < stopAt) {
    await sleep(KILL_EVERY_MS - DOWN_MS);
    const leader = await cluster.leaderIndex();
    await cluster.kill(leader);
    kills++;
    log(`killed the leader m${leader}`);
    await sleep(DOWN_MS);
    await cluster.restart(leader);
  }
  return kills;
}

/** The prefix's history as one fresh watch from revision 1 on `member` delivers it, up to the end marker. */
async function historyFrom(cluster: ProcessCluster, member: number, endRevision: number): Promise<SeenEvent[]> {
  const c = chaosClient([cluster.endpoint(member)]);
  const events: SeenEvent[] = [];
  // Listeners go on before the stream opens: events may follow "created" in the same read.
  const watcher = c.watch().prefix(PREFIX).startRevision('1').watcher();
  watcher.on('data', (res: IWatchResponse) => {
    for (const ev of res.events) events.push({ revision: Number(ev.kv.mod_revision), type: ev.type, key: ev.kv.key.toString(), value: ev.kv.value.toString() });
  });
  try {
    await eventually(`m${member}'s history up to revision ${endRevision}`, async () => (events.some((e) => e.revision >= endRevision) ? true : undefined), SETTLE_TIMEOUT_MS);
    return events;
  } finally {
    await Promise.race([watcher.cancel().catch(() => undefined), sleep(CANCEL_TIMEOUT_MS)]);
    c.close();
  }
}

/** Replays `history` up to `revision` into the prefix's key → value map. */
function replay(history: readonly SeenEvent[], revision: number): Map<string, string> {
  const state = new Map<string, string>();
  for (const e of history) {
    if (e.revision > revision) break;
    if (e.type === 'Put') state.set(e.key, e.value);
    else state.delete(e.key);
  }
  return state;
}

async function checkAgainstGets(cluster: ProcessCluster, history: readonly SeenEvent[]): Promise<void> {
  const revisions = [...new Set(history.map((e) => e.revision))];
  const step = Math.max(1, Math.floor(revisions.length / SAMPLED_REVISIONS));
  const c = chaosClient(cluster.endpoints(), { callTimeoutMs: WRITE_DEADLINE_MS });
  try {
    for (let i = 0; i < revisions.length; i += step) {
      const revision = revisions[i]!;
      const r = await c.getAll().prefix(PREFIX).revision(revision).exec();
      const got = new Map(r.kvs.map((kv) => [kv.key.toString(), kv.value.toString()] as const));
      expect([...got].sort(), `the prefix at revision ${revision}`).toEqual([...replay(history, revision)].sort());
    }
  } finally {
    c.close();
  }
}

function checkAcked(history: readonly SeenEvent[], acked: readonly AckedWrite[]): void {
  const at = (revision: number): SeenEvent[] => history.filter((e) => e.revision === revision);
  for (const w of acked) {
    const events = at(w.revision).map((e) => `${e.type} ${e.key}=${e.value}`);
    for (const [k, v] of w.puts) expect(events, `acknowledged put ${k}=${v} at revision ${w.revision}`).toContain(`Put ${k}=${v}`);
    for (const k of w.deletes) expect(events, `acknowledged delete of ${k} at revision ${w.revision}`).toContain(`Delete ${k}=`);
  }
}

describe('watch streams through leader kills (real processes)', () => {
  it('every watcher sees the whole history of its prefix, resuming on another member when its member dies', async () => {
    const seed = Number(process.env['STRAKE_WATCH_CHAOS_SEED'] ?? Date.now() % 1_000_000);
    const log = (s: string): void => console.log(`[watch chaos ${seed}] ${s}`);
    log(`seed ${seed} (replay the writer's choices with STRAKE_WATCH_CHAOS_SEED=${seed})`);
    const cluster = await startClusterForTest({ basePort: BASE_PORT, snapshotCount: 200 });
    await cluster.waitReady({ timeoutMs: READY_TIMEOUT_MS });
    const watchers = cluster.members.flatMap((m) =>
      Array.from({ length: WATCHERS_PER_MEMBER }, (_, j) => new ResumingWatcher({ name: `w${m.index}.${j}`, cluster, prefix: PREFIX })),
    );
    try {
      await Promise.all(watchers.map((w, i) => w.start(Math.floor(i / WATCHERS_PER_MEMBER), 1)));
      const stopAt = Date.now() + FAULT_PHASE_MS;
      const acked: AckedWrite[] = [];
      const [, kills] = await Promise.all([writeLoop(cluster, new SeededRng(seed), stopAt, acked), killLeaders(cluster, stopAt, log)]);

      await cluster.waitReady({ timeoutMs: READY_TIMEOUT_MS });
      const endRevision = await retryOnError('the end marker', () => cluster.withClient([0, 1, 2], (c) => c.put(END_KEY).value('end').exec()), READY_TIMEOUT_MS);
      const end = Number(endRevision.header.revision);
      await eventually('every watcher at the end marker', async () => (watchers.every((w) => w.lastRevision >= end) ? true : undefined), SETTLE_TIMEOUT_MS);

      const histories = await Promise.all(cluster.members.map((m) => historyFrom(cluster, m.index, end)));
      const reference = histories[0]!;
      for (const [i, h] of histories.entries()) expect(h, `m${i}'s history from revision 1`).toEqual(reference);
      checkAcked(reference, acked);
      await checkAgainstGets(cluster, reference);

      const resumptions = watchers.reduce((n, w) => n + w.attachments.length - 1, 0);
      log(`${acked.length} acknowledged writes, ${reference.length} events up to revision ${end}, ${kills} kills, ${resumptions} resumptions`);
      for (const w of watchers) {
        expect(w.violations, `${w.name}: delivery`).toEqual([]);
        expect(w.events, `${w.name}: its stream (attachments ${JSON.stringify(w.attachments)})`).toEqual(reference);
      }
      expect(kills).toBeGreaterThanOrEqual(2);
      expect(acked.length).toBeGreaterThan(50);
      // The first kill alone cuts off the watchers attached to that member.
      expect(resumptions).toBeGreaterThanOrEqual(WATCHERS_PER_MEMBER);
    } finally {
      await Promise.all(watchers.map((w) => w.close()));
    }
  }, 90_000);
});
