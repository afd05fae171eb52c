/**
 * The event recorder's typed errors and assertions. Only construction can
 * throw (a bad configuration); recording an event never throws into the
 * caller.
 */

export const EventRecorderErrorCode = {
  InvalidConfig: 'EVENT_RECORDER_INVALID_CONFIG',
  Assertion: 'EVENT_RECORDER_ASSERTION',
} as const;
export type EventRecorderErrorCode = (typeof EventRecorderErrorCode)[keyof typeof EventRecorderErrorCode];

export class EventRecorderError extends Error {
  override readonly name = 'EventRecorderError';
  constructor(
    readonly code: EventRecorderErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new EventRecorderError(EventRecorderErrorCode.Assertion, typeof message === 'string' ? message : message());
}
