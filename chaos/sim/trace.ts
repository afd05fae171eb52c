/**
 * The last few simulator events, kept in a ring buffer and formatted only when
 * a seed fails (formatting every message of every seed would dominate the run).
 */
import type { Message } from '../../raft/core/types.js';

/** Events printed with a violation: enough to see the steps that led to it, short enough to read. */
export const TRACE_EVENTS_DEFAULT = 30;

interface TraceEvent {
  timeUnits: number;
  text: string | undefined;
  msg: Message | undefined;
  verb: string;
}

export class Trace {
  private readonly ring: TraceEvent[] = [];
  private next = 0;
  private total = 0;

  constructor(
    readonly capacity: number = TRACE_EVENTS_DEFAULT,
    /** When set, every event is also written here as it happens (replaying one seed). */
    private readonly echo?: (line: string) => void,
  ) {}

  /** A message event: `verb` is e.g. 'deliver' or 'drop(partition)'. */
  message(timeUnits: number, verb: string, msg: Message): void {
    this.push(timeUnits, verb, undefined, msg);
  }

  note(timeUnits: number, text: string): void {
    this.push(timeUnits, 'note', text, undefined);
  }

  /** Oldest first. */
  lines(): string[] {
    if (this.capacity === 0) return [];
    const n = Math.min(this.total, this.capacity);
    const out: string[] = [];
    for (let k = 0; k < n; k++) {
      const e = this.ring[(this.next - n + k + this.capacity) % this.capacity]!;
      out.push(formatEvent(e));
    }
    return out;
  }

  private push(timeUnits: number, verb: string, text: string | undefined, msg: Message | undefined): void {
    this.total++;
    if (this.echo !== undefined) this.echo(formatEvent({ timeUnits, verb, text, msg }));
    if (this.capacity === 0) return;
    const slot = this.ring[this.next];
    if (slot === undefined) {
      this.ring.push({ timeUnits, verb, text, msg });
    } else {
      slot.timeUnits = timeUnits;
      slot.verb = verb;
      slot.text = text;
      slot.msg = msg;
    }
    this.next = (this.next + 1) % this.capacity;
  }
}

function formatEvent(e: TraceEvent): string {
  const t = `t=${e.timeUnits}`.padEnd(9);
  if (e.msg !== undefined) return `${t} ${e.verb} ${formatMessage(e.msg)}`;
  return `${t} ${e.text ?? ''}`;
}

export function formatMessage(m: Message): string {
  let s = `${m.type} ${m.from}->${m.to} term=${m.term}`;
  if (m.index !== undefined) s += ` index=${m.index}`;
  if (m.logTerm !== undefined) s += ` logTerm=${m.logTerm}`;
  if (m.commit !== undefined) s += ` commit=${m.commit}`;
  if (m.entries !== undefined && m.entries.length > 0) {
    const first = m.entries[0]!;
    const last = m.entries[m.entries.length - 1]!;
    s += ` entries=[${first.index}@${first.term}..${last.index}@${last.term}]`;
  }
  if (m.snapshot !== undefined) s += ` snapshot=${m.snapshot.metadata.index}@${m.snapshot.metadata.term}`;
  if (m.reject === true) s += ` reject hint=${m.rejectHint ?? '-'}`;
  if (m.context !== undefined && m.context !== '') s += ` ctx=${m.context}`;
  return s;
}
