/**
 * HA multi-master: three `strake master` processes each serving the HTTP API
 * over the shared store (ports 28400-28429). A writer keeps creating objects
 * and bumping a counter through whichever master it is talking to, failing
 * over to the next one when its master stops answering; a watcher does the
 * same, resuming by resourceVersion. Meanwhile the test SIGKILLs the master
 * the writer talks to, then the Raft leader, restarting each.
 *
 * Checked at the end: every acknowledged create exists; the counter holds at
 * least the last acknowledged value; and the watcher saw every acknowledged
 * change exactly once, in resourceVersion order, with no gaps in the counter's
 * history across all the failovers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ReadyProbe, eventually, sleep, startClusterForTest, type ProcessCluster } from '../support/process-cluster.js';

const BASE_PORT = 28_400;
const TOKEN = 'ha-admin-token';
const NS = 'default';
/** Bounds of the write loop: at most this many rounds, and this long. */
const ROUNDS_MAX = 400;
const RUN_MS_MAX = 60_000;
/** Each request's deadline: a dead master must not stall the writer. */
const REQUEST_MS = 3_000;
/** Rounds between faults. */
const ROUNDS_PER_PHASE = 60;

interface Answer {
  readonly status: number;
  readonly body: any;
}

/** A client that sends each request to its current master and moves to the next on connection failure or 5xx. */
class FailoverClient {
  private at = 0;
  failovers = 0;
  constructor(readonly urls: readonly string[]) {}

  get current(): number {
    return this.at;
  }

  async send(method: string, path: string, body?: unknown): Promise<Answer> {
    for (let attempt = 0; attempt < this.urls.length * 4; attempt++) {
      try {
        const res = await fetch(`${this.urls[this.at]}${path}`, {
          method,
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(REQUEST_MS),
        });
        const parsed = (await res.json()) as unknown;
        if (res.status < 500) return { status: res.status, body: parsed };
      } catch {
        // Connection refused, reset or timed out: this master is gone for now.
      }
      this.at = (this.at + 1) % this.urls.length;
      this.failovers++;
      await sleep(100);
    }
    throw new Error(`${method} ${path}: no master answered`);
  }
}

interface SeenEvent {
  readonly type: string;
  readonly name: string;
  readonly rv: number;
  readonly counter?: number;
}

/** Watches configmaps from a resourceVersion, resuming on another master whenever its stream ends. */
class ResumingWatcher {
  readonly events: SeenEvent[] = [];
  private stopped = false;
  private done: Promise<void> | undefined;
  resumes = 0;

  constructor(private readonly client: FailoverClient, private rv: string) {}

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async loop(): Promise<void> {
    let at = 0;
    while (!this.stopped) {
      const url = `${this.client.urls[at]}/api/v1/namespaces/${NS}/configmaps?watch=true&resourceVersion=${this.rv}&timeoutSeconds=5`;
      try {
        const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(8_000) });
        if (res.status !== 200 || res.body === null) throw new Error(`watch answered ${res.status}`);
        await this.read(res.body);
      } catch {
        at = (at + 1) % this.client.urls.length;
      }
      this.resumes++;
    }
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const e = JSON.parse(line) as { type: string; object: any };
        if (e.type === 'ERROR') throw new Error(`watch error: ${e.object.message}`);
        const rv = e.object.metadata.resourceVersion as string;
        if (e.type !== 'BOOKMARK') {
          const counter = e.object.data?.n === undefined ? undefined : Number(e.object.data.n);
          this.events.push({ type: e.type, name: e.object.metadata.name, rv: Number(rv), ...(counter === undefined ? {} : { counter }) });
        }
        this.rv = rv;
      }
    }
  }
}

it('keeps every acknowledged write and every watch event across SIGKILLs of masters and of the Raft leader', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strake-ha-'));
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(tokenFile, `${TOKEN},admin,admin,"system:masters"\n`);
  const cluster: ProcessCluster = await startClusterForTest({ basePort: BASE_PORT, size: 3, api: { tokenFile } });
  await cluster.waitReady({ probe: ReadyProbe.Put });
  const urls = cluster.members.map((m) => m.apiUrl);
  const client = new FailoverClient(urls);
  await eventually('APIs ready', async () => {
    const states = await Promise.all(urls.map((u) => fetch(`${u}/readyz`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.status, () => 0)));
    return states.every((s) => s === 200) ? true : undefined;
  }, 30_000);
  const counter = await client.send('POST', `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: 'counter' }, data: { n: '0' } });
  expect(counter.status).toBe(201);
  const watcher = new ResumingWatcher(client, counter.body.metadata.resourceVersion);
  watcher.start();

  const acked = new Set<string>();
  let lastCounter = 0;
  const started = Date.now();
  for (let round = 0; round < ROUNDS_MAX && Date.now() - started < RUN_MS_MAX; round++) {
    if (round === ROUNDS_PER_PHASE) await cluster.kill(client.current);
    if (round === 2 * ROUNDS_PER_PHASE) await cluster.restart(cluster.members.findIndex((_, i) => !cluster.isRunning(i)));
    if (round === 3 * ROUNDS_PER_PHASE) await cluster.kill(await cluster.leaderIndex());
    if (round === 4 * ROUNDS_PER_PHASE) await cluster.restart(cluster.members.findIndex((_, i) => !cluster.isRunning(i)));
    const name = `item-${round}`;
    const created = await client.send('POST', `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name }, data: { round: String(round) } });
    if (created.status === 201) acked.add(name);
    lastCounter = await bumpCounter(client, lastCounter);
  }
  await sleep(2_000);
  await watcher.stop();

  // Every acknowledged create is stored.
  const list = await client.send('GET', `/api/v1/namespaces/${NS}/configmaps`);
  const stored = new Set<string>(list.body.items.map((o: any) => o.metadata.name));
  for (const name of acked) expect(stored.has(name), `acknowledged ${name} is missing`).toBe(true);
  const final = list.body.items.find((o: any) => o.metadata.name === 'counter');
  expect(Number(final.data.n)).toBeGreaterThanOrEqual(lastCounter);

  // The watcher saw each change once, in order, and every acknowledged create.
  const rvs = watcher.events.map((e) => e.rv);
  expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
  expect(new Set(rvs).size).toBe(rvs.length);
  const added = new Set(watcher.events.filter((e) => e.type === 'ADDED').map((e) => e.name));
  for (const name of acked) expect(added.has(name), `watch missed ADDED ${name}`).toBe(true);
  const counts = watcher.events.filter((e) => e.name === 'counter').map((e) => e.counter!);
  expect(counts).toEqual(Array.from({ length: counts.length }, (_, i) => i + 1));
  expect(counts[counts.length - 1]).toBe(Number(final.data.n));
  expect(client.failovers).toBeGreaterThan(0);
  process.stdout.write(`ha: ${acked.size} creates acknowledged, counter ${lastCounter}, ${watcher.events.length} events, ${client.failovers} client failovers, ${watcher.resumes} watch resumes\n`);
}, RUN_MS_MAX + 120_000);

/** counter.n += 1 with compare-and-swap on resourceVersion; returns the value acknowledged (or the old one). */
async function bumpCounter(client: FailoverClient, last: number): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const got = await client.send('GET', `/api/v1/namespaces/${NS}/configmaps/counter`);
    if (got.status !== 200) continue;
    const n = Number(got.body.data.n);
    const put = await client.send('PUT', `/api/v1/namespaces/${NS}/configmaps/counter`, { ...got.body, data: { n: String(n + 1) } });
    if (put.status === 200) return n + 1;
    if (put.status !== 409) throw new Error(`counter update answered ${put.status}: ${JSON.stringify(put.body)}`);
  }
  return last;
}
