/**
 * Errors of `strake kv` and how they reach the user: etcdctl's form,
 * "Error: <message>" on stderr, with exit code 1 for a failed request and 2
 * for a command line that cannot be run (bad flag, bad argument, bad input).
 */
import { CommanderError } from 'commander';
import {
  EtcdLeaseInvalidError,
  GRPCDeadlineExceededError,
  GRPCGenericError,
} from 'etcd3';

export const KV_EXIT_CODE = {
  ok: 0,
  /** The request failed: the server said no, timed out, or could not be reached. */
  failed: 1,
  /** The command line is wrong; nothing was sent. */
  usage: 2,
} as const;
export type KvExitCode = (typeof KV_EXIT_CODE)[keyof typeof KV_EXIT_CODE];

export const KvErrorCode = {
  BadFlag: 'BAD_FLAG',
  BadArgument: 'BAD_ARGUMENT',
  BadTxnInput: 'BAD_TXN_INPUT',
  InputTooLarge: 'INPUT_TOO_LARGE',
  Unreachable: 'UNREACHABLE',
  RequestFailed: 'REQUEST_FAILED',
  NoResponse: 'NO_RESPONSE',
  WatchCanceled: 'WATCH_CANCELED',
  LeaseExpired: 'LEASE_EXPIRED',
  UnhealthyCluster: 'UNHEALTHY_CLUSTER',
  EndpointFailed: 'ENDPOINT_FAILED',
  SnapshotCorrupt: 'SNAPSHOT_CORRUPT',
} as const;
export type KvErrorCode = (typeof KvErrorCode)[keyof typeof KvErrorCode];

/** An operating error of the client with a stable code; the message names the object, the value and the limit. */
export class KvError extends Error {
  constructor(
    readonly code: KvErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KvError';
  }
}

/** The command line cannot be run as given (exit code 2). */
export class KvUsageError extends KvError {
  constructor(code: Extract<KvErrorCode, 'BAD_FLAG' | 'BAD_ARGUMENT' | 'BAD_TXN_INPUT' | 'INPUT_TOO_LARGE'>, message: string) {
    super(code, message);
    this.name = 'KvUsageError';
  }
}

export function exitCodeOf(err: unknown): KvExitCode {
  return err instanceof KvUsageError ? KV_EXIT_CODE.usage : KV_EXIT_CODE.failed;
}

const GRPC_STATUS_PREFIX = /^(?:[A-Za-z]+Error: )?\d+ [A-Z_]+: /;

/**
 * The text etcdctl would print for a failed request. The etcd3 client wraps
 * the server's text ("etcdserver: ...") in a gRPC status prefix, or in its own
 * sentence for lease errors; etcdctl shows the server's text alone.
 */
export function describeError(err: unknown): string {
  if (err instanceof KvError) return err.message;
  if (err instanceof EtcdLeaseInvalidError) return 'etcdserver: requested lease not found';
  if (err instanceof GRPCDeadlineExceededError) return 'context deadline exceeded';
  if (err instanceof Error) {
    const server = /etcdserver: .*/.exec(err.message);
    if (server) return server[0];
    // grpc-js adds its resolver's notes to connection errors; they say nothing to a user.
    const bare = err.message.replace(GRPC_STATUS_PREFIX, '').replace(/ Resolution note: .*$/, '').replace('Last error: Error: ', 'Last error: ');
    return err instanceof GRPCGenericError && bare.length === 0 ? err.constructor.name : bare;
  }
  return String(err);
}

/** Prints the error like etcdctl does and returns the exit code for it. */
export function reportError(err: unknown, stderr: NodeJS.WritableStream = process.stderr): KvExitCode {
  stderr.write(`Error: ${describeError(err)}\n`);
  return exitCodeOf(err);
}

/**
 * Commander reports bad flags and arguments with exit code 1; `strake kv`
 * promises 2 for them (1 means the request failed). --help stays 0.
 */
export function exitWithUsageCode(err: CommanderError): never {
  if (err.exitCode === 0) throw err;
  throw new CommanderError(KV_EXIT_CODE.usage, err.code, err.message);
}

export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
