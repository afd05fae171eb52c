/**
 * The cluster's raised alarms (etcd's alarm store): which member raised which
 * alarm. It changes only by applying "alarm" log entries, so every member
 * holds the same table at the same index; it travels in the snapshot image.
 *
 * What an alarm does to requests is quota.ts's business (NOSPACE caps writes,
 * CORRUPT refuses them); this file only keeps the table.
 */
import { EtcdErrorCode } from '../etcd-server/errors.js';
import { AlarmType, type AlarmMember } from '../etcd-server/types.js';

/**
 * Rows the table holds. A real cluster needs members x 2 alarm types (a
 * handful); the bound stops a client that activates alarms for made-up member
 * ids from growing the replicated state without limit. At the bound a new
 * alarm is refused (AlarmTableFullError), an existing one can still be cleared.
 */
export const ALARMS_MAX = 256;

/** The alarm types a table row may carry (NONE means "any" in requests, never a raised alarm). */
export type RaisedAlarmType = Exclude<AlarmType, 'NONE'>;

export function isRaisedAlarmType(v: unknown): v is RaisedAlarmType {
  return v === AlarmType.NoSpace || v === AlarmType.Corrupt;
}

/** An alarm change applied through the log (etcd's AlarmRequest ACTIVATE / DEACTIVATE). */
export interface AlarmChange {
  readonly action: 'ACTIVATE' | 'DEACTIVATE';
  readonly memberId: number;
  readonly alarm: RaisedAlarmType;
}

/** At the edge: RESOURCE_EXHAUSTED "etcdserver: too many requests", this message in the detail trailer. */
export class AlarmTableFullError extends Error {
  readonly code = EtcdErrorCode.TooManyRequests;
  constructor(readonly memberId: number, readonly alarm: RaisedAlarmType) {
    super(`cannot raise ${alarm} for member ${memberId.toString(16)}: the alarm table already holds ${ALARMS_MAX} alarms`);
    this.name = 'AlarmTableFullError';
  }
}

function rowKey(memberId: number, alarm: RaisedAlarmType): string {
  return `${memberId}/${alarm}`;
}

/** Member id ascending, then alarm type: the order every member lists them in. */
function compareAlarms(a: AlarmMember, b: AlarmMember): number {
  return a.memberId - b.memberId || (a.alarm < b.alarm ? -1 : a.alarm > b.alarm ? 1 : 0);
}

export class AlarmTable {
  private readonly rows = new Map<string, AlarmMember>();

  get size(): number {
    return this.rows.size;
  }

  /** Raises an alarm; returns the (possibly already raised) row, or an error at the bound. */
  activate(memberId: number, alarm: RaisedAlarmType): AlarmMember | AlarmTableFullError {
    const key = rowKey(memberId, alarm);
    const existing = this.rows.get(key);
    if (existing !== undefined) return existing;
    if (this.rows.size >= ALARMS_MAX) return new AlarmTableFullError(memberId, alarm);
    const row: AlarmMember = { memberId, alarm };
    this.rows.set(key, row);
    return row;
  }

  /** Clears an alarm; returns the row removed, or undefined when it was not raised. */
  deactivate(memberId: number, alarm: RaisedAlarmType): AlarmMember | undefined {
    const key = rowKey(memberId, alarm);
    const existing = this.rows.get(key);
    if (existing !== undefined) this.rows.delete(key);
    return existing;
  }

  /** Raised alarms of one type, or of every type for NONE (etcd's GET ignores the member id). */
  list(alarm: AlarmType = AlarmType.None): AlarmMember[] {
    const all = [...this.rows.values()].sort(compareAlarms);
    return alarm === AlarmType.None ? all : all.filter((a) => a.alarm === alarm);
  }

  /** Whether any member has raised this alarm. */
  has(alarm: RaisedAlarmType): boolean {
    for (const row of this.rows.values()) if (row.alarm === alarm) return true;
    return false;
  }

  hasFor(memberId: number, alarm: RaisedAlarmType): boolean {
    return this.rows.has(rowKey(memberId, alarm));
  }

  /** Applies a committed change; answers like etcd: the alarm raised or cleared, or nothing if there was nothing to clear. */
  apply(change: AlarmChange): AlarmMember[] | AlarmTableFullError {
    if (change.action === 'ACTIVATE') {
      const row = this.activate(change.memberId, change.alarm);
      return row instanceof AlarmTableFullError ? row : [row];
    }
    const removed = this.deactivate(change.memberId, change.alarm);
    return removed === undefined ? [] : [removed];
  }

  toJSON(): AlarmMember[] {
    return this.list();
  }

  /** Rebuilds a table from a snapshot image; undefined (an image from before alarms existed) is an empty table. */
  static fromJSON(rows: unknown): AlarmTable | string {
    const table = new AlarmTable();
    if (rows === undefined || rows === null) return table;
    if (!Array.isArray(rows)) return 'alarms is not a list';
    if (rows.length > ALARMS_MAX) return `alarms has ${rows.length} rows; at most ${ALARMS_MAX} are allowed`;
    for (const row of rows as unknown[]) {
      const r = row as { memberId?: unknown; alarm?: unknown } | null;
      if (r === null || typeof r !== 'object' || !Number.isSafeInteger(r.memberId) || !isRaisedAlarmType(r.alarm)) {
        return `alarm row ${JSON.stringify(row)} is malformed`;
      }
      table.rows.set(rowKey(r.memberId as number, r.alarm), { memberId: r.memberId as number, alarm: r.alarm });
    }
    return table;
  }
}
