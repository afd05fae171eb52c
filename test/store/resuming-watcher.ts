/**
 * A watch client that follows one prefix across member failures, for the watch
 * chaos test: it is attached to one member at a time (a single-endpoint etcd3
 * client without retries), and when that member's stream breaks it resumes on
 * another running member from the revision after the last event it received —
 * what a careful client does (not the etcd3 client's own reconnect, which
 * resumes after the response header's revision and stays on the same host).
 *
 * It records every event, every attachment, and any delivery it can tell is
 * wrong by itself: a response that starts at or before a revision already
 * received (a duplicate, or a revision split across responses), events out of
 * order within a response, or a server-side cancel.
 */
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import { chaosClient } from '../../chaos/cluster/etcd-client.js';
import { errorMessage, sleep } from '../../chaos/cluster/poll.js';
import type { ProcessCluster } from '../../chaos/cluster/process-cluster.js';

/** A created response comes within one round trip from a live member. */
const ATTACH_TIMEOUT_MS = 3_000;
/** A watcher that finds no member for this long has failed (the cluster's members come back in about a second). */
const RESUME_TIMEOUT_MS = 20_000;
const RESUME_RETRY_MS = 100;
/** Bound on a clean cancel at the end; a dead stream never answers it. */
const CANCEL_TIMEOUT_MS = 2_000;

export interface SeenEvent {
  readonly revision: number;
  readonly type: 'Put' | 'Delete';
  readonly key: string;
  readonly value: string;
}

export interface Attachment {
  readonly member: number;
  readonly fromRevision: number;
}

interface Current {
  readonly generation: number;
  readonly client: Etcd3;
  readonly watcher: Watcher;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class ResumingWatcher {
  readonly name: string;
  readonly events: SeenEvent[] = [];
  readonly attachments: Attachment[] = [];
  readonly violations: string[] = [];
  /** Revision of the last event received; the next attachment starts after it. */
  lastRevision = 0;
  private generation = 0;
  private current: Current | undefined;
  private closed = false;
  private resuming: Promise<void> | undefined;

  constructor(private readonly o: { readonly name: string; readonly cluster: ProcessCluster; readonly prefix: string }) {
    this.name = o.name;
  }

  /** Attaches to `member` from `fromRevision`; throws if that fails. */
  async start(member: number, fromRevision: number): Promise<void> {
    const failure = await this.attach(member, fromRevision);
    if (failure !== undefined) throw new Error(`${this.name}: cannot watch on m${member}: ${failure}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    const current = this.current;
    this.current = undefined;
    if (current !== undefined) {
      await withTimeout(current.watcher.cancel(), CANCEL_TIMEOUT_MS, 'cancel').catch(() => undefined);
      current.client.close();
    }
    await this.resuming;
  }

  /** undefined when attached, else why not. */
  private async attach(member: number, fromRevision: number): Promise<string | undefined> {
    const generation = ++this.generation;
    const client = chaosClient([this.o.cluster.endpoint(member)], { dialTimeoutMs: ATTACH_TIMEOUT_MS });
    // Listeners go on before the stream opens: events may follow "created" in the same read.
    const watcher = client.watch().prefix(this.o.prefix).startRevision(String(fromRevision)).watcher();
    watcher.on('data', (res: IWatchResponse) => this.onData(generation, res));
    watcher.on('disconnected', () => this.onLost(generation, member));
    watcher.on('error', (err: unknown) => {
      if (generation === this.generation) this.violations.push(`m${member} cancelled the watch: ${errorMessage(err)}`);
      this.onLost(generation, member);
    });
    try {
      await withTimeout(new Promise((resolve) => watcher.once('connected', resolve)), ATTACH_TIMEOUT_MS, `watch on m${member}`);
    } catch (err) {
      this.dispose({ generation, client, watcher });
      return errorMessage(err);
    }
    if (generation !== this.generation || this.closed) {
      this.dispose({ generation, client, watcher });
      return 'superseded';
    }
    this.current = { generation, client, watcher };
    this.attachments.push({ member, fromRevision });
    return undefined;
  }

  /** Detaches synchronously (so the etcd3 client does not reconnect on its own), then closes. */
  private dispose(c: Current): void {
    void c.watcher.cancel().catch(() => undefined);
    c.client.close();
  }

  private onData(generation: number, res: IWatchResponse): void {
    if (generation !== this.generation || res.events.length === 0) return;
    const first = Number(res.events[0]!.kv.mod_revision);
    if (first <= this.lastRevision) this.violations.push(`a response starts at revision ${first}, but revision ${this.lastRevision} was already received`);
    let previous = first;
    for (const ev of res.events) {
      const revision = Number(ev.kv.mod_revision);
      if (revision < previous) this.violations.push(`revision ${revision} after ${previous} in one response`);
      previous = revision;
      this.events.push({ revision, type: ev.type, key: ev.kv.key.toString(), value: ev.kv.value.toString() });
    }
    this.lastRevision = previous;
  }

  /** Only an established attachment starts a resume; a failing attach is retried by the loop that made it. */
  private onLost(generation: number, member: number): void {
    const current = this.current;
    if (current === undefined || current.generation !== generation || this.closed) return;
    this.generation++;
    this.current = undefined;
    this.dispose(current);
    this.resuming = this.resume(member);
  }

  /** Bounded: tries the other running members in turn until one accepts the watch. */
  private async resume(lostMember: number): Promise<void> {
    const deadline = Date.now() + RESUME_TIMEOUT_MS;
    let lastFailure = 'no other member was running';
    for (let attempt = 0; Date.now() < deadline && !this.closed; attempt++) {
      const others = this.o.cluster.runningIndices().filter((i) => i !== lostMember);
      const member = others[(attempt + this.attachments.length) % Math.max(1, others.length)];
      if (member !== undefined) {
        const failure = await this.attach(member, this.lastRevision + 1);
        if (failure === undefined || this.closed) return;
        lastFailure = `m${member}: ${failure}`;
      }
      await sleep(RESUME_RETRY_MS);
    }
    if (!this.closed) this.violations.push(`could not resume within ${RESUME_TIMEOUT_MS} ms after losing m${lostMember} (last: ${lastFailure})`);
  }
}
