/**
 * etcd3 clients for chaos runs and the cluster harness's probes: no retries and
 * no circuit breaker, so each call is exactly one request (a retried write could
 * apply twice, which a history cannot describe) and a member that was down is
 * tried again at once.
 */
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';

export function chaosClient(endpoints: readonly string[], opts: { dialTimeoutMs?: number; callTimeoutMs?: number } = {}): Etcd3 {
  const callTimeoutMs = opts.callTimeoutMs;
  return new Etcd3({
    hosts: endpoints.map((e) => (e.startsWith('http') ? e : `http://${e}`)),
    dialTimeout: opts.dialTimeoutMs ?? 1000,
    faultHandling: { host: () => noop, global: noop },
    ...(callTimeoutMs === undefined ? {} : { defaultCallOptions: () => ({ deadline: Date.now() + callTimeoutMs }) }),
  });
}
