/**
 * The node server over real sockets (127.0.0.1:29400): /containerLogs
 * streaming a real CRI log file, and /exec as a WebSocket speaking the
 * remotecommand channel protocol, against a fake NodeServerPods.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { formatCriLogLine } from '../../../../node/agent/logs/cri-log-line.js';
import { startNodeServer, type ExecResult, type NodeContainer, type NodeServerPods, type RunningNodeServer } from '../../../../node/agent/server/node-server.js';

const HOST = '127.0.0.1';
const PORT = 29_400;
const base = `http://${HOST}:${PORT}`;

let dir: string;
let server: RunningNodeServer;
const containers = new Map<string, NodeContainer>();
const execCalls: Array<{ id: string; cmd: string[]; timeoutMs: number }> = [];

const pods: NodeServerPods = {
  async findContainer(namespace, pod, container, previous) {
    return containers.get(`${namespace}/${pod}/${container ?? ''}${previous ? '/previous' : ''}`);
  },
  async execSync(id, cmd, timeoutMs): Promise<ExecResult> {
    execCalls.push({ id, cmd, timeoutMs });
    if (cmd[0] === 'echo') return { stdout: Buffer.from(`${cmd.slice(1).join(' ')}\n`), stderr: Buffer.alloc(0), exitCode: 0 };
    if (cmd[0] === 'fail') return { stdout: Buffer.from('partial output\n'), stderr: Buffer.from('bad things\n'), exitCode: Number(cmd[1]) };
    if (cmd[0] === 'big') return { stdout: Buffer.alloc(100_000, 'x'), stderr: Buffer.alloc(0), exitCode: 0 };
    throw new Error(`no such command: ${cmd[0] ?? ''}`);
  },
};

const line = (n: number, text: string, stream: 'stdout' | 'stderr' = 'stdout'): Buffer =>
  formatCriLogLine({ time: new Date(Date.parse('2024-05-01T10:00:00Z') + n * 1000), stream, content: text });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strake-node-server-'));
  const web = join(dir, 'web.log');
  writeFileSync(web, Buffer.concat([line(1, 'hello'), line(2, 'oops', 'stderr'), line(3, 'world')]));
  writeFileSync(join(dir, 'web-previous.log'), line(0, 'from the last run'));
  containers.set('default/web/c', { containerId: 'cid-web', logPath: web, running: true });
  containers.set('default/web/c/previous', { containerId: 'cid-web-0', logPath: join(dir, 'web-previous.log'), running: false });
  containers.set('default/done/c', { containerId: 'cid-done', logPath: join(dir, 'done.log'), running: false });
  containers.set('default/nolog/c', { containerId: 'cid-nolog', logPath: join(dir, 'missing.log'), running: true });
  writeFileSync(join(dir, 'done.log'), line(1, 'finished'));
  server = await startNodeServer({ host: HOST, port: PORT, pods, followPollIntervalMs: 50 });
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function fetchText(path: string): Promise<{ status: number; text: string; type: string | undefined }> {
  return new Promise((resolve, reject) => {
    get(`${base}${path}`, { timeout: 5_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString(), type: res.headers['content-type'] }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('GET /containerLogs', () => {
  it('serves the log as plain text, with the kubelet\'s options', async () => {
    const all = await fetchText('/containerLogs/default/web/c');
    expect(all.status).toBe(200);
    expect(all.type).toMatch(/^text\/plain/);
    expect(all.text).toBe('hello\noops\nworld\n');
    expect((await fetchText('/containerLogs/default/web/c?tailLines=1')).text).toBe('world\n');
    expect((await fetchText('/containerLogs/default/web/c?stream=Stderr')).text).toBe('oops\n');
    expect((await fetchText('/containerLogs/default/web/c?limitBytes=8')).text).toBe('hello\noo');
    expect((await fetchText('/containerLogs/default/web/c?timestamps=true&tailLines=1')).text).toBe('2024-05-01T10:00:03.000Z world\n');
    expect((await fetchText('/containerLogs/default/web/c?sinceTime=2024-05-01T10:00:02Z')).text).toBe('oops\nworld\n');
    expect((await fetchText('/containerLogs/default/web/c?previous=true')).text).toBe('from the last run\n');
  });

  it('answers 400 for bad options and 404, with clear text, for unknown containers and missing files', async () => {
    const bad = await fetchText('/containerLogs/default/web/c?tailLines=-2');
    expect(bad).toMatchObject({ status: 400, text: 'tailLines: Invalid value: -2: must be greater than or equal to 0\n' });
    expect(await fetchText('/containerLogs/default/nope/c')).toMatchObject({ status: 404, text: 'container "c" in pod "nope" in namespace "default" not found\n' });
    expect((await fetchText('/containerLogs/default/done/c?previous=true')).text).toBe('previous terminated container "c" in pod "done" in namespace "default" not found\n');
    expect((await fetchText('/containerLogs/default/nolog/c')).status).toBe(404);
    expect((await fetchText('/nothing/here')).status).toBe(404);
    expect(await fetchText('/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
  });

  it('follows: headers at once, appended lines as they come, until the client goes away', async () => {
    const path = join(dir, 'follow.log');
    writeFileSync(path, line(1, 'before'));
    containers.set('default/follow/c', { containerId: 'cid-follow', logPath: path, running: true });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      get(`${base}/containerLogs/default/follow/c?follow=true`, resolve).on('error', reject);
    });
    expect(res.statusCode).toBe(200);
    let got = '';
    res.on('data', (d: Buffer) => (got += d.toString()));
    await until(() => got === 'before\n');
    appendFileSync(path, line(2, 'after'));
    await until(() => got === 'before\nafter\n');
    res.destroy();
  });

  it('ends a follow once the container stops and its file has ended', async () => {
    const path = join(dir, 'stops.log');
    writeFileSync(path, line(1, 'running'));
    containers.set('default/stops/c', { containerId: 'cid-stops', logPath: path, running: true });
    const done = fetchText('/containerLogs/default/stops/c?follow=true');
    await new Promise((r) => setTimeout(r, 200));
    appendFileSync(path, line(2, 'exiting'));
    containers.set('default/stops/c', { containerId: 'cid-stops', logPath: path, running: false });
    expect((await done).text).toBe('running\nexiting\n');
  });
});

interface ExecOutcome {
  readonly protocol: string;
  readonly frames: Array<{ channel: number; data: string }>;
  readonly closeCode: number;
}

function exec(query: string, protocols: string[] = ['v5.channel.k8s.io']): Promise<ExecOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${HOST}:${PORT}/exec/default/web/c?${query}`, protocols, { handshakeTimeout: 5_000 });
    const frames: Array<{ channel: number; data: string }> = [];
    ws.on('message', (d: Buffer) => frames.push({ channel: d[0]!, data: d.subarray(1).toString() }));
    ws.on('close', (code) => resolve({ protocol: ws.protocol, frames, closeCode: code }));
    ws.on('error', reject);
  });
}

const channel = (o: ExecOutcome, ch: number): string => o.frames.filter((f) => f.channel === ch).map((f) => f.data).join('');

describe('/exec over WebSocket', () => {
  it('runs the command and sends stdout, then a Success status, then closes (v5)', async () => {
    const o = await exec('command=echo&command=hi&command=there&stdout=true&stderr=true');
    expect(o.protocol).toBe('v5.channel.k8s.io');
    expect(channel(o, 1)).toBe('hi there\n');
    expect(JSON.parse(channel(o, 3))).toEqual({ metadata: {}, status: 'Success' });
    expect(o.frames.at(-1)?.channel).toBe(3);
    expect(o.closeCode).toBe(1000);
    expect(execCalls.at(-1)).toMatchObject({ id: 'cid-web', cmd: ['echo', 'hi', 'there'] });
  });

  it('reports a non-zero exit code the way clients read it (v4)', async () => {
    const o = await exec('command=fail&command=3&stdout=1&stderr=1', ['v4.channel.k8s.io']);
    expect(o.protocol).toBe('v4.channel.k8s.io');
    expect(channel(o, 1)).toBe('partial output\n');
    expect(channel(o, 2)).toBe('bad things\n');
    const status = JSON.parse(channel(o, 3));
    expect(status).toMatchObject({ metadata: {}, status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
    expect(status.message).toMatch(/^command terminated with non-zero exit code: /);
  });

  it('sends only the streams asked for, in pieces', async () => {
    const quiet = await exec('command=fail&command=2&stdout=false&stderr=true');
    expect(channel(quiet, 1)).toBe('');
    expect(channel(quiet, 2)).toBe('bad things\n');
    const big = await exec('command=big&stdout=1');
    expect(channel(big, 1).length).toBe(100_000);
    expect(big.frames.filter((f) => f.channel === 1).length).toBeGreaterThan(1);
  });

  it('refuses stdin and tty, and reports exec errors, on the error channel', async () => {
    const interactive = await exec('command=sh&stdin=true&stdout=true&tty=true');
    const s = JSON.parse(channel(interactive, 3));
    expect(s.status).toBe('Failure');
    expect(s.message).toContain('stdin (-i) and a tty (-t) is not supported');
    const broken = await exec('command=nonsense&stdout=1');
    expect(JSON.parse(channel(broken, 3)).message).toContain('no such command: nonsense');
  });

  it('refuses before the upgrade: unknown container (404), no protocol it speaks, no command, SPDY, plain HTTP', async () => {
    const status = (path: string, headers: Record<string, string>) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request(`${base}${path}`, { method: 'POST', headers, timeout: 5_000 }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end();
      });
    const ws = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    const v5 = { ...ws, 'sec-websocket-protocol': 'v5.channel.k8s.io' };
    expect(await status('/exec/default/ghost/c?command=ls&stdout=1', v5)).toMatchObject({ status: 404, text: 'container "c" in pod "ghost" in namespace "default" not found\n' });
    const old = await status('/exec/default/web/c?command=ls&stdout=1', { ...ws, 'sec-websocket-protocol': 'channel.k8s.io' });
    expect(old.status).toBe(400);
    expect(old.text).toContain('supported: v5.channel.k8s.io, v4.channel.k8s.io');
    expect((await status('/exec/default/web/c?stdout=1', v5)).text).toBe('you must specify at least one command for the container\n');
    const spdy = await status('/exec/default/web/c?command=ls&stdout=1', { connection: 'Upgrade', upgrade: 'SPDY/3.1' });
    expect(spdy.status).toBe(400);
    expect(spdy.text).toContain('WebSocket only');
    expect((await status('/exec/default/web/c?command=ls&stdout=1', {})).status).toBe(400);
  });
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
