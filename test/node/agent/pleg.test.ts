import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../control-plane/client/clock.js';
import { Pleg, PlegEventType, diffRelist, snapshotOf, type PlegEvent } from '../../../node/agent/pleg.js';
import { ContainerRunState, SandboxState, type PodRuntimeStatus } from '../../../node/agent/runtime-state.js';
import { container, record, runtimeOf, sandbox } from './pod-fixtures.js';

function pods(...list: PodRuntimeStatus[]): Map<string, PodRuntimeStatus> {
  return new Map(list.map((p) => [p.uid, p]));
}

describe('PLEG', () => {
  const app = container('app');
  const running = record(app, { id: 'c1' });
  const exited = { ...running, state: ContainerRunState.Exited };

  it('turns the difference of two relists into per-pod events', () => {
    const a = snapshotOf(pods(runtimeOf([sandbox('sb1')], [running])));
    const b = snapshotOf(pods(runtimeOf([sandbox('sb1', { state: SandboxState.NotReady })], [exited, record(app, { id: 'c2' })])));
    const events = diffRelist(a, b).map((e) => [e.type, e.id]);
    expect(events.sort()).toEqual([[PlegEventType.ContainerDied, 'c1'], [PlegEventType.ContainerStarted, 'c2'], [PlegEventType.SandboxChanged, 'sb1']].sort());
    expect(diffRelist(b, snapshotOf(new Map()))).toContainEqual({ uid: 'uid-1', type: PlegEventType.ContainerRemoved, id: 'c1' });
    expect(diffRelist(a, a)).toEqual([]);
  });

  it('relists every period and reports only changes; a failing relist is retried', async () => {
    const clock = new FakeClock();
    let state: Map<string, PodRuntimeStatus> | Error = pods(runtimeOf([sandbox('sb1')], [running]));
    const seen: PlegEvent[][] = [];
    let relists = 0;
    const pleg = new Pleg({
      clock,
      relistMs: 1_000,
      list: async () => {
        relists++;
        if (state instanceof Error) throw state;
        return state;
      },
      onEvents: (e) => seen.push([...e]),
    });
    pleg.start();
    const tick = async (ms: number): Promise<void> => {
      clock.advance(ms);
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    await tick(0);
    expect(seen).toHaveLength(1);
    await tick(1_000);
    expect(seen).toHaveLength(1);
    state = new Error('runtime away');
    await tick(1_000);
    state = pods(runtimeOf([sandbox('sb1')], [exited]));
    await tick(1_000);
    expect(seen[1]).toEqual([{ uid: 'uid-1', type: PlegEventType.ContainerDied, id: 'c1' }]);
    expect(relists).toBe(4);
    await pleg.stop();
    await tick(5_000);
    expect(relists).toBe(4);
  });
});
