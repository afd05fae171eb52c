/**
 * etcdserverpb.Cluster: MemberAdd, MemberRemove, MemberUpdate, MemberList,
 * MemberPromote. Peer URLs are checked here the way etcd checks them (scheme
 * http or https, host:port, no path) so a typo fails with etcd's "given member
 * URLs are invalid" before it can reach the membership log.
 */
import type * as grpc from '@grpc/grpc-js';
import { serveUnary, wireHeader, type EdgeContext } from './call.js';
import { memberToWire, safeId } from './convert.js';
import { EtcdErrorCode, etcdError } from './errors.js';
import type { Member } from './types.js';

/** Peer URLs per member: etcd members advertise one or two; anything past this is a mistake. */
export const PEER_URLS_PER_MEMBER_MAX = 16;

interface MemberAddRequest {
  peerURLs: string[];
  isLearner: boolean;
}
interface MemberIdRequest {
  ID: number;
}
interface MemberUpdateRequest {
  ID: number;
  peerURLs: string[];
}
type Response = object;

function checkPeerUrl(text: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw etcdError(EtcdErrorCode.MemberBadUrls, `peer URL ${JSON.stringify(text)} does not parse`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw etcdError(EtcdErrorCode.MemberBadUrls, `peer URL ${JSON.stringify(text)}: scheme must be http or https`);
  }
  if (url.port === '' || (url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    throw etcdError(EtcdErrorCode.MemberBadUrls, `peer URL ${JSON.stringify(text)} must have the form scheme://host:port`);
  }
}

export function checkPeerUrls(urls: readonly string[]): readonly string[] {
  if (urls.length === 0) throw etcdError(EtcdErrorCode.MemberBadUrls, 'no peer URL given');
  if (urls.length > PEER_URLS_PER_MEMBER_MAX) {
    throw etcdError(EtcdErrorCode.MemberBadUrls, `${urls.length} peer URLs given; the limit is ${PEER_URLS_PER_MEMBER_MAX}`);
  }
  urls.forEach(checkPeerUrl);
  return urls;
}

function membersToWire(members: readonly Member[]): object[] {
  return members.map(memberToWire);
}

export function clusterService(ctx: EdgeContext): grpc.UntypedServiceImplementation {
  const { backend } = ctx;
  return {
    MemberList: (call: grpc.ServerUnaryCall<object, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (_req, opts) => {
        const res = await backend.memberList(opts);
        return { header: wireHeader(backend), members: membersToWire(res.members) };
      }),

    MemberAdd: (call: grpc.ServerUnaryCall<MemberAddRequest, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        const res = await backend.memberAdd({ peerUrls: checkPeerUrls(req.peerURLs), isLearner: req.isLearner }, opts);
        return { header: wireHeader(backend), member: memberToWire(res.member), members: membersToWire(res.members) };
      }),

    MemberRemove: (call: grpc.ServerUnaryCall<MemberIdRequest, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        const res = await backend.memberRemove(safeId('member ID', req.ID), opts);
        return { header: wireHeader(backend), members: membersToWire(res.members) };
      }),

    MemberUpdate: (call: grpc.ServerUnaryCall<MemberUpdateRequest, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        const res = await backend.memberUpdate(safeId('member ID', req.ID), checkPeerUrls(req.peerURLs), opts);
        return { header: wireHeader(backend), members: membersToWire(res.members) };
      }),

    MemberPromote: (call: grpc.ServerUnaryCall<MemberIdRequest, Response>, cb: grpc.sendUnaryData<Response>) =>
      serveUnary(ctx, call, cb, async (req, opts) => {
        const res = await backend.memberPromote(safeId('member ID', req.ID), opts);
        return { header: wireHeader(backend), members: membersToWire(res.members) };
      }),
  };
}
