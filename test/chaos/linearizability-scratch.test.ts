import { it } from 'vitest';
import { checkLinearizable, kvModel } from '../../chaos/linearizability/index.js';
import { SeededRng } from '../../raft/core/rng.js';
import { generateKvHistory, plantOverwrittenRead, plantNeverWrittenRead } from './linearizability-gen.js';

it('bench', () => {
  const configs = [
    { clients: 8, keys: 10, operations: 2000, ambiguousPercent: 2, failPercent: 2, durationMax: 10, gapMax: 3 },
    { clients: 8, keys: 1, operations: 2000, ambiguousPercent: 0, failPercent: 2, durationMax: 10, gapMax: 3 },
    { clients: 8, keys: 1, operations: 2000, ambiguousPercent: 2, failPercent: 2, durationMax: 10, gapMax: 3 },
    { clients: 8, keys: 1, operations: 2000, ambiguousPercent: 10, failPercent: 2, durationMax: 10, gapMax: 3 },
    { clients: 16, keys: 1, operations: 2000, ambiguousPercent: 1, failPercent: 2, durationMax: 20, gapMax: 1 },
    { clients: 8, keys: 10, operations: 20000, ambiguousPercent: 2, failPercent: 2, durationMax: 10, gapMax: 3 },
  ];
  for (const o of configs) {
    for (const seed of [1, 2, 3]) {
      const rng = new SeededRng(seed);
      const h = generateKvHistory(rng, o);
      const r = checkLinearizable(h, kvModel, { timeoutMs: 10_000 });
      const p = plantNeverWrittenRead(rng, h)!;
      const r2 = checkLinearizable(p.history, kvModel, { timeoutMs: 10_000 });
      const p3 = plantOverwrittenRead(rng, h);
      const r3 = p3 && checkLinearizable(p3.history, kvModel, { timeoutMs: 10_000 });
      const f = (x: any) => x === undefined ? '-' : `${x.result}${x.reason ? '/' + x.reason : ''} ${x.stats.elapsedMs.toFixed(1)}ms ${x.stats.steps}`;
      console.log(`BENCH ${o.clients}c ${o.keys}k ${o.operations}ops amb${o.ambiguousPercent}% seed ${seed}: clean ${f(r)} | never ${f(r2)} | overwritten ${f(r3)}`);
    }
  }
}, 600_000);
