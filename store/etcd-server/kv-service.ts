/**
 * etcdserverpb.KV: Range, Put, DeleteRange, Txn, Compact.
 */
import type * as grpc from '@grpc/grpc-js';
import { mustFitRequestBytes, serveUnary, wireHeader, type EdgeContext } from './call.js';
import { deleteRangeFromWire, kvToWire, putFromWire, rangeFromWire, safeInt, txnFromWire } from './convert.js';
import type { DeleteRangeResponse, PutResponse, RangeResponse, ResponseOp, TxnResponse } from './types.js';
import type {
  WireCompactionRequest,
  WireDeleteRangeRequest,
  WireDeleteRangeResponse,
  WireHeader,
  WirePutRequest,
  WirePutResponse,
  WireRangeRequest,
  WireRangeResponse,
  WireResponseOp,
  WireTxnRequest,
  WireTxnResponse,
} from './wire.js';

function rangeToWire(r: RangeResponse, header: WireHeader): WireRangeResponse {
  return { header, kvs: r.kvs.map(kvToWire), more: r.more, count: r.count };
}

function putToWire(r: PutResponse, header: WireHeader): WirePutResponse {
  return r.prevKv === undefined ? { header } : { header, prev_kv: kvToWire(r.prevKv) };
}

function deleteToWire(r: DeleteRangeResponse, header: WireHeader): WireDeleteRangeResponse {
  return { header, deleted: r.deleted, prev_kvs: r.prevKvs.map(kvToWire) };
}

/** Nested responses carry the txn's header, as etcd's do. */
function responseOpToWire(op: ResponseOp, header: WireHeader): WireResponseOp {
  switch (op.op) {
    case 'range':
      return { response_range: rangeToWire(op.response, header) };
    case 'put':
      return { response_put: putToWire(op.response, header) };
    case 'deleteRange':
      return { response_delete_range: deleteToWire(op.response, header) };
    case 'txn':
      return { response_txn: txnToWire(op.response, header) };
  }
}

function txnToWire(r: TxnResponse, header: WireHeader): WireTxnResponse {
  return { header, succeeded: r.succeeded, responses: r.responses.map((op) => responseOpToWire(op, header)) };
}

export function kvService(ctx: EdgeContext): grpc.UntypedServiceImplementation {
  const { backend, limits } = ctx;
  return {
    Range: (call: grpc.ServerUnaryCall<WireRangeRequest, WireRangeResponse>, cb: grpc.sendUnaryData<WireRangeResponse>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        const res = await backend.range(rangeFromWire(req), { ...opts, serializable: req.serializable });
        return rangeToWire(res, wireHeader(backend, res.revision));
      }),

    Put: (call: grpc.ServerUnaryCall<WirePutRequest, WirePutResponse>, cb: grpc.sendUnaryData<WirePutResponse>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        mustFitRequestBytes(req, limits);
        const res = await backend.put(putFromWire(req), opts);
        return putToWire(res, wireHeader(backend, res.revision));
      }),

    DeleteRange: (
      call: grpc.ServerUnaryCall<WireDeleteRangeRequest, WireDeleteRangeResponse>,
      cb: grpc.sendUnaryData<WireDeleteRangeResponse>,
    ) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        mustFitRequestBytes(req, limits);
        const res = await backend.deleteRange(deleteRangeFromWire(req), opts);
        return deleteToWire(res, wireHeader(backend, res.revision));
      }),

    Txn: (call: grpc.ServerUnaryCall<WireTxnRequest, WireTxnResponse>, cb: grpc.sendUnaryData<WireTxnResponse>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        mustFitRequestBytes(req, limits);
        const res = await backend.txn(txnFromWire(req, limits.maxTxnOps), opts);
        return txnToWire(res, wireHeader(backend, res.revision));
      }),

    Compact: (call: grpc.ServerUnaryCall<WireCompactionRequest, object>, cb: grpc.sendUnaryData<object>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        const revision = safeInt('compaction revision', req.revision);
        const res = await backend.compact(revision, { ...opts, physical: req.physical });
        return { header: wireHeader(backend, res.revision) };
      }),
  };
}
