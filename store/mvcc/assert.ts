/**
 * Assertions that stay on in production: the codebase's one implementation. A
 * failed assertion in the state machine means the replica must stop rather than
 * apply entries with a broken invariant (and diverge from its peers).
 */
export { AssertionError, assert, assertNever } from '../../raft/core/assert.js';
