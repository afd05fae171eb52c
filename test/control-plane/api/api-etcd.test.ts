/**
 * The API server suite (api-suite.ts) on a real etcd: one etcd member as a
 * child process on ports 28150/28151 (test/README.md). Skipped, with the reason
 * printed, where etcd is not installed; CI installs it.
 */
import { ETCD_MISSING_REASON, etcdBackendFactory } from '../../support/kv-backends.js';
import { describeApiSuite } from './api-suite.js';

describeApiSuite(etcdBackendFactory(28_150), ETCD_MISSING_REASON);
