/** Worker thread for `strake sim`: runs the seeds it is handed and posts their results back. */
import { parentPort } from 'node:worker_threads';
import { assert } from '../../raft/core/assert.js';
import type { WorkerJob } from './run-seeds.js';
import { runSeed } from './simulator.js';

const port = parentPort;
assert(port !== null, 'sim-worker must run in a worker thread');
port.on('message', (job: WorkerJob) => {
  const results = job.seeds.map((seed) =>
    runSeed(job.traceEvents === undefined ? { seed, replicas: job.replicas } : { seed, replicas: job.replicas, traceEvents: job.traceEvents }),
  );
  port.postMessage(results);
});
