/**
 * What a log reader is asked for, as the kubelet's /containerLogs query (and
 * the API's PodLogOptions) spells it: follow, tailLines, previous, timestamps,
 * sinceSeconds or sinceTime, limitBytes, stream. Parsed and checked here, with
 * Kubernetes' validation messages.
 */

export const StreamSelection = { All: 'All', Stdout: 'Stdout', Stderr: 'Stderr' } as const;
export type StreamSelection = (typeof StreamSelection)[keyof typeof StreamSelection];

export interface LogReadOptions {
  readonly follow: boolean;
  /** Only the last this many lines (logical lines: partial lines joined); undefined = all. */
  readonly tailLines?: number;
  readonly timestamps: boolean;
  /** Only lines written at or after this time. */
  readonly sinceMs?: number;
  /** Stop after this many bytes of output. */
  readonly limitBytes?: number;
  readonly stream: StreamSelection;
}

export interface ContainerLogQuery extends LogReadOptions {
  /** The previous (terminated) instance of the container. */
  readonly previous: boolean;
}

export const LogOptionsErrorCode = { Invalid: 'InvalidLogOptions' } as const;
export type LogOptionsErrorCode = (typeof LogOptionsErrorCode)[keyof typeof LogOptionsErrorCode];

export class LogOptionsError extends Error {
  override readonly name = 'LogOptionsError';
  readonly code: LogOptionsErrorCode = LogOptionsErrorCode.Invalid;
}

/** The query of a /containerLogs request; `nowMs` turns sinceSeconds into a time. */
export function parseContainerLogQuery(q: URLSearchParams, nowMs: number): ContainerLogQuery {
  const tailLines = integer(q, 'tailLines', 0, 'must be greater than or equal to 0');
  const sinceSeconds = integer(q, 'sinceSeconds', 1, 'must be greater than 0');
  const limitBytes = integer(q, 'limitBytes', 1, 'must be greater than 0');
  const sinceTime = q.get('sinceTime') ?? undefined;
  if (sinceSeconds !== undefined && sinceTime !== undefined) throw new LogOptionsError('at most one of `sinceTime` or `sinceSeconds` may be specified');
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = nowMs - sinceSeconds * 1000;
  if (sinceTime !== undefined) {
    sinceMs = Date.parse(sinceTime);
    if (Number.isNaN(sinceMs)) throw new LogOptionsError(`sinceTime: Invalid value: "${sinceTime}": must be an RFC 3339 time`);
  }
  const stream = q.get('stream') ?? StreamSelection.All;
  if (stream !== StreamSelection.All && stream !== StreamSelection.Stdout && stream !== StreamSelection.Stderr) {
    throw new LogOptionsError(`stream: Unsupported value: "${stream}": supported values: "All", "Stderr", "Stdout"`);
  }
  return {
    follow: boolean(q, 'follow'),
    previous: boolean(q, 'previous'),
    timestamps: boolean(q, 'timestamps'),
    stream,
    ...(tailLines === undefined ? {} : { tailLines }),
    ...(sinceMs === undefined ? {} : { sinceMs }),
    ...(limitBytes === undefined ? {} : { limitBytes }),
  };
}

/** Go's strconv.ParseBool, which Kubernetes' query decoding uses; absent or empty = false. */
export function boolean(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '') return false;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new LogOptionsError(`${name}: Invalid value: "${v}": must be true or false`);
}

function integer(q: URLSearchParams, name: string, min: number, rule: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(n)) throw new LogOptionsError(`${name}: Invalid value: "${v}": must be an integer`);
  if (n < min) throw new LogOptionsError(`${name}: Invalid value: ${n}: ${rule}`);
  return n;
}
