/**
 * What every `strake kv` sub-command shares: the global flags, the client
 * (the `etcd3` package, over the endpoints that answered within the dial
 * timeout), one deadline per command, bounded stdin, and the action wrapper
 * that turns errors into etcdctl's "Error: ..." and an exit code.
 */
import { connect } from 'node:net';
import type { Command } from 'commander';
import { Etcd3, type CallOptionsFactory } from 'etcd3';
import type { ExitCodeSink } from '../main.js';
import { KvError, KvErrorCode, KvUsageError, reportError } from './errors.js';
import { guardStdout, type OutputFormat } from './output.js';

export const DEFAULT_ENDPOINT = '127.0.0.1:24001';
export const ENDPOINTS_ENV = 'STRAKE_ENDPOINTS';
/** etcdctl's defaults: --command-timeout=5s, --dial-timeout=2s. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
export const DEFAULT_DIAL_TIMEOUT_MS = 2_000;
/** An hour: longer than any single request should take; a larger value is a typo. */
export const TIMEOUT_MS_MAX = 3_600_000;
/** More endpoints than this is a typo; clusters past 7 voters only get slower. */
export const ENDPOINTS_MAX = 32;

export interface KvGlobalFlags {
  endpoints: string;
  writeOut: OutputFormat;
  commandTimeout: number;
  dialTimeout: number;
}

export interface KvSession {
  readonly client: Etcd3;
  /** The endpoints the client uses: those that accepted a connection within the dial timeout. */
  readonly endpoints: readonly string[];
  readonly format: OutputFormat;
  readonly commandTimeoutMs: number;
  close(): void;
}

export function globalFlags(cmd: Command): KvGlobalFlags {
  return cmd.optsWithGlobals<KvGlobalFlags>();
}

/** "a:1,http://b:2" → ["a:1", "b:2"]; TLS is not spoken by this client. */
export function parseEndpoints(spec: string): string[] {
  const endpoints = spec
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map((e) => {
      if (e.startsWith('https://')) throw new KvUsageError(KvErrorCode.BadFlag, `--endpoints: TLS is not supported, got "${e}"`);
      const hostPort = e.replace(/^http:\/\//, '').replace(/\/$/, '');
      const m = /^([^:/\s]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(hostPort);
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65_535) {
        throw new KvUsageError(KvErrorCode.BadFlag, `--endpoints: expected host:port or http://host:port, got "${e}"`);
      }
      return hostPort;
    });
  if (endpoints.length === 0) throw new KvUsageError(KvErrorCode.BadFlag, '--endpoints: no endpoint given');
  if (endpoints.length > ENDPOINTS_MAX) {
    throw new KvUsageError(KvErrorCode.BadFlag, `--endpoints: ${endpoints.length} endpoints given; at most ${ENDPOINTS_MAX} are accepted`);
  }
  return endpoints;
}

/**
 * A client whose unary calls share one deadline: the command timeout, counted
 * from the moment the connection is up (etcdctl: "excluding dial timeout").
 * Streams (watch, keep-alive) have none; a command that streams bounds itself.
 */
export function newClient(endpoints: readonly string[], commandTimeoutMs: number): Etcd3 {
  const deadline = new Date(Date.now() + commandTimeoutMs);
  const callOptions: CallOptionsFactory = (ctx) => (ctx.isStream ? {} : { deadline });
  return new Etcd3({ hosts: endpoints.map((e) => `http://${e}`), defaultCallOptions: callOptions });
}

/** Opens the client on the endpoints that accept a TCP connection within the dial timeout. */
export async function openSession(flags: KvGlobalFlags): Promise<KvSession> {
  const all = parseEndpoints(flags.endpoints);
  const reachable = await reachableEndpoints(all, flags.dialTimeout);
  if (reachable.length === 0) {
    throw new KvError(
      KvErrorCode.Unreachable,
      `context deadline exceeded: no endpoint of [${all.join(' ')}] accepted a connection within the dial timeout of ${flags.dialTimeout} ms`,
    );
  }
  const client = newClient(reachable, flags.commandTimeout);
  return { client, endpoints: reachable, format: flags.writeOut, commandTimeoutMs: flags.commandTimeout, close: () => client.close() };
}

async function reachableEndpoints(endpoints: readonly string[], dialTimeoutMs: number): Promise<string[]> {
  const ok = await Promise.all(endpoints.map((e) => canConnect(e, dialTimeoutMs)));
  return endpoints.filter((_, i) => ok[i]);
}

function canConnect(endpoint: string, timeoutMs: number): Promise<boolean> {
  const sep = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, sep).replace(/^\[|\]$/g, '');
  const port = Number(endpoint.slice(sep + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Runs `body` with a session and always closes it, so that no gRPC channel keeps the process alive. */
export async function withSession<T>(flags: KvGlobalFlags, body: (s: KvSession) => Promise<T>): Promise<T> {
  const session = await openSession(flags);
  try {
    return await body(session);
  } finally {
    session.close();
  }
}

/** The action wrapper: the exit code of `body`, or of the error it threw after printing it etcdctl-style. */
export function kvAction<A extends unknown[]>(setExitCode: ExitCodeSink, body: (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    guardStdout();
    try {
      setExitCode(await body(...args));
    } catch (err) {
      setExitCode(reportError(err));
    }
  };
}

/** Like etcdctl's value-from-stdin for `put` and the txn script: the whole of stdin, up to a bound. */
export async function readStdin(what: string, bytesMax: number, stdin: NodeJS.ReadableStream = process.stdin): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    total += buf.length;
    if (total > bytesMax) {
      throw new KvUsageError(KvErrorCode.InputTooLarge, `${what} on stdin is larger than the ${bytesMax}-byte limit`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Rejects -w table for the commands etcdctl has no table for. */
export function mustNotBeTable(format: OutputFormat): asserts format is 'simple' | 'json' {
  if (format === 'table') throw new KvUsageError(KvErrorCode.BadFlag, 'table not supported as output format');
}
