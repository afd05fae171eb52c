/**
 * EventRecorder: what the scheduler, the controllers and the node agent use
 * to tell users what they did, as core/v1 Events that `kubectl describe`
 * lists (it selects events by involvedObject.name/namespace/kind/uid). Like
 * client-go's recorder:
 *  - `event()` never blocks and never throws: it queues (bounded; the
 *    overflow is dropped and counted) and one loop writes in order;
 *  - a spam filter, a token bucket per source and involved object (burst 25,
 *    then one every 5 minutes), drops floods about one object;
 *  - a repeat of the same (object and field, type, reason, message) PATCHes the count
 *    and lastTimestamp of the event written before instead of creating one;
 *    if that event is gone (expired), it is created again under its name.
 *
 * Writes are not retried: an event is a hint, and a failed write is logged.
 */
import { randomBytes } from 'node:crypto';
import type { Event, ObjectReference } from '../../../proto/k8s/core-v1.js';
import type { KubeObject } from '../../../proto/k8s/meta.js';
import { isNotFound, PatchType, Resources, type ApiClient } from '../api-client.js';
import { realClock, type Clock } from '../clock.js';
import { BoundedLru } from './bounded-lru.js';
import { EventRecorderError, EventRecorderErrorCode } from './errors.js';
import { TokenBucket } from './token-bucket.js';

export const EventType = { Normal: 'Normal', Warning: 'Warning' } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** What an event may say beyond its object: which part of it (client-go's reference fieldPath). */
export interface EventOptions {
  /** e.g. `spec.containers{app}`: the kubelet's events about one container of a pod. */
  readonly fieldPath?: string;
}

/** What a component needs of a recorder (tests may pass their own). */
export interface EventSink {
  event(obj: KubeObject, type: EventType, reason: string, message: string, options?: EventOptions): void;
}

export interface EventRecorderConfig {
  /** client-go's spam filter: events about one object from one source, at most this many at once... */
  readonly spamBurst: number;
  /** ...then this many per second (1 per 5 minutes). */
  readonly spamPerSecond: number;
  /** Recent events remembered for aggregation (client-go's LRU size). */
  readonly recentEventsMax: number;
  /** Events waiting to be written; more are dropped (client-go's broadcaster queue length). */
  readonly queuedEventsMax: number;
}

export const EVENT_RECORDER_DEFAULTS: EventRecorderConfig = {
  spamBurst: 25,
  spamPerSecond: 1 / 300,
  recentEventsMax: 4096,
  queuedEventsMax: 1000,
};

/** Longer messages are cut (events.k8s.io's note limit): an event is a hint, not a log. */
export const EVENT_MESSAGE_CHARS_MAX = 1024;
/** Event names are DNS subdomains: the object's name, a dot and 16 hex digits must fit in 253. */
const EVENT_NAME_CHARS_MAX = 253;
const EVENT_NAME_SUFFIX_BYTES = 8;
/** Events about cluster-scoped objects (nodes) live here, as in Kubernetes. */
export const CLUSTER_SCOPED_EVENT_NAMESPACE = 'default';

/** The two writes the recorder makes. */
export type EventClient = Pick<ApiClient, 'create' | 'patch'>;

export interface EventRecorderOptions extends Partial<EventRecorderConfig> {
  readonly client: EventClient;
  /** source.component and reportingComponent, e.g. "node-controller". */
  readonly component: string;
  readonly host?: string;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
}

interface Pending {
  readonly involved: ObjectReference;
  readonly namespace: string;
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
  readonly atMs: number;
}

interface Recent {
  readonly name: string;
  readonly firstTimestamp: string;
  count: number;
}

export class EventRecorder implements EventSink {
  readonly config: EventRecorderConfig;
  private readonly client: EventClient;
  private readonly component: string;
  private readonly host: string | undefined;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly queue: Pending[] = [];
  private readonly recent: BoundedLru<string, Recent>;
  private readonly spam: BoundedLru<string, TokenBucket>;
  private draining: Promise<void> | undefined;
  private stopped = false;
  /** Events dropped: queue full, spam filter, or stopped. */
  dropped = 0;

  constructor(o: EventRecorderOptions) {
    const { client, component, host, clock, log, ...overrides } = o;
    this.config = checkConfig({ ...EVENT_RECORDER_DEFAULTS, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) });
    if (component === '') throw new EventRecorderError(EventRecorderErrorCode.InvalidConfig, 'component must not be empty: it is how users tell who reported an event');
    this.client = client;
    this.component = component;
    this.host = host;
    this.clock = clock ?? realClock;
    this.log = log ?? (() => {});
    this.recent = new BoundedLru(this.config.recentEventsMax);
    this.spam = new BoundedLru(this.config.recentEventsMax);
  }

  /** Records an event about `obj`; returns at once and never throws. */
  event(obj: KubeObject, type: EventType, reason: string, message: string, options: EventOptions = {}): void {
    try {
      if (this.stopped || this.queue.length >= this.config.queuedEventsMax) {
        this.dropped++;
        return;
      }
      const namespace = obj.metadata.namespace === undefined || obj.metadata.namespace === '' ? CLUSTER_SCOPED_EVENT_NAMESPACE : obj.metadata.namespace;
      const text = message.length > EVENT_MESSAGE_CHARS_MAX ? message.slice(0, EVENT_MESSAGE_CHARS_MAX) : message;
      this.queue.push({ involved: referenceTo(obj, options.fieldPath), namespace, type, reason, message: text, atMs: this.clock.nowMs() });
      this.kick();
    } catch (err) {
      this.dropped++;
      this.log(`event recorder: dropped ${reason} event: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Resolves once every event queued so far has been written (or failed). */
  async flush(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  /** Drops what is queued and everything recorded later. */
  stop(): void {
    this.stopped = true;
    this.dropped += this.queue.splice(0).length;
  }

  /** Starts the writing loop unless it runs; a loop that ends looks again, so an event queued as it ends is not stranded. */
  private kick(): void {
    if (this.draining !== undefined || this.queue.length === 0) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
      try {
        await this.write(next);
      } catch (err) {
        this.log(`event recorder: could not write ${next.reason} event about ${describe(next.involved)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  private async write(e: Pending): Promise<void> {
    if (!this.allowedBySpamFilter(e)) {
      this.dropped++;
      return;
    }
    const key = JSON.stringify([this.component, this.host ?? '', e.involved.kind, e.involved.namespace, e.involved.name, e.involved.uid, e.involved.apiVersion, e.involved.fieldPath ?? '', e.type, e.reason, e.message]);
    const seen = this.recent.get(key);
    const lastTimestamp = isoSeconds(e.atMs);
    if (seen !== undefined) {
      try {
        await this.client.patch(Resources.Events, e.namespace, seen.name, PatchType.Merge, { count: seen.count + 1, lastTimestamp });
        seen.count++;
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.recent.delete(key); // expired or deleted: write it again, keeping its count
        await this.create(e, key, { name: seen.name, firstTimestamp: seen.firstTimestamp, count: seen.count + 1 }, lastTimestamp);
        return;
      }
    }
    await this.create(e, key, { name: eventName(e.involved.name ?? ''), firstTimestamp: lastTimestamp, count: 1 }, lastTimestamp);
  }

  private async create(e: Pending, key: string, r: Recent, lastTimestamp: string): Promise<void> {
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: r.name, namespace: e.namespace },
      involvedObject: e.involved,
      reason: e.reason,
      message: e.message,
      type: e.type,
      count: r.count,
      firstTimestamp: r.firstTimestamp,
      lastTimestamp,
      source: this.host === undefined ? { component: this.component } : { component: this.component, host: this.host },
      reportingComponent: this.component,
      reportingInstance: this.host ?? '',
    };
    await this.client.create(Resources.Events, e.namespace, event);
    this.recent.set(key, { ...r });
  }

  private allowedBySpamFilter(e: Pending): boolean {
    const key = JSON.stringify([this.component, this.host ?? '', e.involved.kind, e.involved.namespace, e.involved.name, e.involved.uid, e.involved.apiVersion]);
    let bucket = this.spam.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.config.spamPerSecond, this.config.spamBurst, e.atMs, { startFull: true });
      this.spam.set(key, bucket);
    }
    return bucket.tryTake(e.atMs);
  }
}

function referenceTo(obj: KubeObject, fieldPath: string | undefined): ObjectReference {
  const m = obj.metadata;
  const ref: ObjectReference = { kind: obj.kind ?? '', name: m.name ?? '', uid: m.uid ?? '', apiVersion: obj.apiVersion ?? '' };
  if (m.namespace !== undefined && m.namespace !== '') ref.namespace = m.namespace;
  if (m.resourceVersion !== undefined) ref.resourceVersion = m.resourceVersion;
  if (fieldPath !== undefined && fieldPath !== '') ref.fieldPath = fieldPath;
  return ref;
}

/** `<object name>.<16 hex digits>`, the name cut so the whole stays a valid DNS subdomain. */
function eventName(objectName: string): string {
  const suffix = randomBytes(EVENT_NAME_SUFFIX_BYTES).toString('hex');
  const room = EVENT_NAME_CHARS_MAX - suffix.length - 1;
  const base = objectName.slice(0, room).replace(/[.-]+$/, '');
  return `${base === '' ? 'event' : base}.${suffix}`;
}

function describe(ref: ObjectReference): string {
  return `${ref.kind ?? ''} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name ?? ''}`;
}

function checkConfig(c: EventRecorderConfig): EventRecorderConfig {
  const bad = (field: string, value: number, rule: string): never => {
    throw new EventRecorderError(EventRecorderErrorCode.InvalidConfig, `${field} is ${value}; it must be ${rule}`);
  };
  if (!(Number.isInteger(c.spamBurst) && c.spamBurst >= 1)) bad('spamBurst', c.spamBurst, 'an integer >= 1');
  if (!(Number.isFinite(c.spamPerSecond) && c.spamPerSecond >= 0)) bad('spamPerSecond', c.spamPerSecond, 'a finite number >= 0');
  if (!(Number.isInteger(c.recentEventsMax) && c.recentEventsMax >= 1)) bad('recentEventsMax', c.recentEventsMax, 'an integer >= 1');
  if (!(Number.isInteger(c.queuedEventsMax) && c.queuedEventsMax >= 1)) bad('queuedEventsMax', c.queuedEventsMax, 'an integer >= 1');
  return c;
}

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
