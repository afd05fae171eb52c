/**
 * The API server suite (api-suite.ts) on the embedded store: one strake member
 * in this process on ports 28100/28101 (test/README.md).
 */
import { embeddedBackendFactory } from '../../support/kv-backends.js';
import { describeApiSuite } from './api-suite.js';

describeApiSuite(embeddedBackendFactory(28_100), '');
