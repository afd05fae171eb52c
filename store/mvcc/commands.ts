/**
 * The commands replicas apply from the Raft log, their encoding, and the apply
 * entry point. Reads are not commands: they are served against the state
 * (after a ReadIndex round for linearizable ones).
 *
 * Encoding: msgpack of [COMMAND_FORMAT_VERSION, command]. Everything a command
 * needs, including the leader's clock reading for lease commands, is inside it,
 * so applying the same entry gives the same result on every replica.
 */
import { Packr } from 'msgpackr';
import { assertNever } from './assert.js';
import { COMMAND_FORMAT_VERSION, decodeCommand } from './command-codec.js';
import type { MvccError } from './errors.js';
import { MalformedCommandError } from './errors.js';
import type { ApplyResult, MvccStateMachine } from './state-machine.js';
import type * as T from './types.js';

export type Command =
  | { readonly op: 'put'; readonly request: T.PutRequest }
  | { readonly op: 'deleteRange'; readonly request: T.DeleteRangeRequest }
  | { readonly op: 'txn'; readonly request: T.TxnRequest }
  | { readonly op: 'compact'; readonly request: T.CompactionRequest }
  | { readonly op: 'leaseGrant'; readonly request: T.LeaseGrantRequest }
  | { readonly op: 'leaseRevoke'; readonly request: T.LeaseRevokeRequest }
  | { readonly op: 'leaseRenew'; readonly request: T.LeaseRenewRequest }
  | { readonly op: 'leaseCheckpoint'; readonly request: T.LeaseCheckpointRequest }
  | { readonly op: 'leasePromote'; readonly request: T.LeasePromoteRequest };

export type CommandOp = Command['op'];

export interface CommandResponses {
  put: T.PutResponse;
  deleteRange: T.DeleteRangeResponse;
  txn: T.TxnResponse;
  compact: T.CompactionResponse;
  leaseGrant: T.LeaseGrantResponse;
  leaseRevoke: T.LeaseRevokeResponse;
  leaseRenew: T.LeaseRenewResponse;
  leaseCheckpoint: T.LeaseCheckpointResponse;
  leasePromote: T.LeasePromoteResponse;
}

export type ResponseOf<C extends Command> = CommandResponses[C['op']];

export { COMMAND_FORMAT_VERSION, decodeCommand };

const packr = new Packr({ useRecords: false, variableMapSize: true });

export function encodeCommand(command: Command): Uint8Array {
  // A view of packr's output, not a copy: the packr never writes over bytes it handed out.
  const b = packr.pack([COMMAND_FORMAT_VERSION, command]);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Applies one committed command. Never throws for a bad request; errors are results. */
export function applyCommand<C extends Command>(command: C, sm: MvccStateMachine): ApplyResult<ResponseOf<C>> {
  return dispatch(command, sm) as ApplyResult<ResponseOf<C>>;
}

function dispatch(c: Command, sm: MvccStateMachine): ApplyResult<CommandResponses[CommandOp]> {
  switch (c.op) {
    case 'put':
      return sm.put(c.request);
    case 'deleteRange':
      return sm.deleteRange(c.request);
    case 'txn':
      return sm.txn(c.request);
    case 'compact':
      return sm.compact(c.request);
    case 'leaseGrant':
      return sm.leaseGrant(c.request);
    case 'leaseRevoke':
      return sm.leaseRevoke(c.request);
    case 'leaseRenew':
      return sm.leaseRenew(c.request);
    case 'leaseCheckpoint':
      return sm.leaseCheckpoint(c.request);
    case 'leasePromote':
      return sm.leasePromote(c.request);
    default:
      return assertNever(c, 'command');
  }
}

/** Decodes and applies a log entry; a malformed entry is an error result like any other. */
export function applyEncodedCommand(entry: Uint8Array, sm: MvccStateMachine): ApplyResult<CommandResponses[CommandOp]> {
  const command = decodeCommand(entry);
  if (command instanceof MalformedCommandError) return { ok: false, error: command as MvccError };
  return dispatch(command, sm);
}
