/** Operating errors of the Raft driver. */

export const DriverErrorCode = {
  Stopped: 'DRIVER_STOPPED',
  ReadTimeout: 'READ_TIMEOUT',
} as const;
export type DriverErrorCode = (typeof DriverErrorCode)[keyof typeof DriverErrorCode];

export class DriverError extends Error {
  constructor(
    readonly code: DriverErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

export class DriverStoppedError extends DriverError {
  constructor() {
    super(DriverErrorCode.Stopped, 'raft member is stopped');
  }
}

/** No ReadIndex confirmation arrived in time (no leader, or no quorum). */
export class ReadTimeoutError extends DriverError {
  constructor(detail: string) {
    super(DriverErrorCode.ReadTimeout, `linearizable read failed: ${detail}`);
  }
}
