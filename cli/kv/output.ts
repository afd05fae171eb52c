/**
 * etcdctl's `simple` and `table` output: keys and values as raw bytes, one per
 * line; lease ids as 16 hex digits and member ids as bare hex; tables drawn
 * like the Go tablewriter etcdctl uses (headers centred, cells right-aligned);
 * sizes like go-humanize, durations like Go's time.Duration.
 */
import type { IKeyValue } from 'etcd3';

export const OUTPUT_FORMATS = ['simple', 'json', 'table'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** One output line: text, or raw bytes (keys and values are not necessarily UTF-8). */
export type Line = string | Buffer;

const stdoutGone = new AbortController();
/**
 * Aborted when stdout can no longer be written (EPIPE: the reader of `| head`
 * has gone). Output is dropped from then on, and the commands that run until
 * interrupted stop, as SIGPIPE stops etcdctl.
 */
export const stdoutClosed: AbortSignal = stdoutGone.signal;
let stdoutGuarded = false;

/** Turns stdout's write errors, which would otherwise crash the process, into `stdoutClosed`. */
export function guardStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', () => stdoutGone.abort());
}

export function writeLines(lines: readonly Line[], out: NodeJS.WritableStream = process.stdout): void {
  if (out === process.stdout && stdoutClosed.aborted) return;
  for (const line of lines) {
    out.write(line);
    out.write('\n');
  }
}

/** etcdctl's printKV: the key (unless only values are wanted), then the value. */
export function kvLines(kv: IKeyValue, valueOnly: boolean): Line[] {
  return valueOnly ? [kv.value ?? Buffer.alloc(0)] : [kv.key ?? Buffer.alloc(0), kv.value ?? Buffer.alloc(0)];
}

/** Lease ids print like etcdctl's `%016x`. */
export function leaseIdHex(id: string | bigint): string {
  return BigInt.asUintN(64, BigInt(id)).toString(16).padStart(16, '0');
}

/** Member ids print like etcdctl's `%x`. */
export function memberIdHex(id: string | bigint): string {
  return BigInt.asUintN(64, BigInt(id)).toString(16);
}

const SI_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'] as const;

/** go-humanize's Bytes: SI units, one decimal below 10 ("956 B", "1.1 kB", "25 kB"). */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const exp = Math.min(Math.floor(Math.log(n) / Math.log(1000)), SI_UNITS.length - 1);
  const value = Math.floor((n / 1000 ** exp) * 10 + 0.5) / 10;
  return `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ${SI_UNITS[exp]}`;
}

/** Go's time.Duration.String for what a health check takes: "812ns", "7.884329ms", "1.5s", "2m3.000000001s". */
export function goDuration(ns: bigint): string {
  if (ns < 1000n) return `${ns}ns`;
  if (ns < 1_000_000n) return `${decimal(ns, 1000n)}µs`;
  if (ns < 1_000_000_000n) return `${decimal(ns, 1_000_000n)}ms`;
  const hours = ns / 3_600_000_000_000n;
  const minutes = (ns / 60_000_000_000n) % 60n;
  const seconds = `${decimal(ns % 60_000_000_000n, 1_000_000_000n)}s`;
  if (hours > 0n) return `${hours}h${minutes}m${seconds}`;
  return minutes > 0n ? `${minutes}m${seconds}` : seconds;
}

/** n / unit with the fraction's trailing zeros dropped. */
function decimal(n: bigint, unit: bigint): string {
  const whole = n / unit;
  const fraction = (n % unit).toString().padStart(unit.toString().length - 1, '0').replace(/0+$/, '');
  return fraction.length > 0 ? `${whole}.${fraction}` : `${whole}`;
}

/** A table like etcdctl's: headers centred, cells right-aligned, borders of + - |. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const border = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const row = (cells: readonly string[], pad: (s: string, w: number) => string): string =>
    `| ${widths.map((w, i) => pad(cells[i] ?? '', w)).join(' | ')} |`;
  const centre = (s: string, w: number): string => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  return [border, row(headers, centre), border, ...rows.map((r) => row(r, (s, w) => s.padStart(w))), border];
}
