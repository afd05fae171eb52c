/**
 * A failpoint for chaos runs (in the spirit of etcd's gofail): a JSON file,
 * named with `strake master --experimental-network-faults-file`, lists the
 * peer addresses this member must not hear from or talk to:
 *
 *   { "blocked": ["127.0.0.1:26010", "127.0.0.1:26020"] }
 *
 * The transport drops every Raft message to and from those peers, so a
 * harness can isolate a leader or split a cluster between real processes
 * without touching the machine's network. The file is re-read when it
 * changes (polled); a missing or malformed file blocks nothing (and says so
 * once). Without the flag none of this runs.
 */
import { readFileSync, statSync } from 'node:fs';

/** How often the file is checked for changes: partitions take effect within this. */
export const FAULTS_POLL_MS = 50;

export class NetworkFaults {
  private blocked: ReadonlySet<string> = new Set();
  private lastMtimeMs = -1;
  private complained = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.reload();
    this.timer = setInterval(() => this.reload(), FAULTS_POLL_MS);
    this.timer.unref();
  }

  /** Whether traffic with the peer at `address` (host:port) is cut. */
  isBlocked(address: string): boolean {
    return this.blocked.has(address);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private reload(): void {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.file).mtimeMs;
    } catch {
      mtimeMs = 0;
    }
    if (mtimeMs === this.lastMtimeMs) return;
    this.lastMtimeMs = mtimeMs;
    const next = mtimeMs === 0 ? new Set<string>() : this.parse();
    if (next.size !== this.blocked.size || [...next].some((a) => !this.blocked.has(a))) {
      this.log(`network faults: ${next.size === 0 ? 'no peer blocked' : `blocking ${[...next].join(', ')}`}`);
    }
    this.blocked = next;
  }

  private parse(): Set<string> {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { blocked?: unknown };
      if (!Array.isArray(parsed.blocked) || parsed.blocked.some((a) => typeof a !== 'string')) throw new Error('"blocked" must be a list of host:port strings');
      this.complained = false;
      return new Set(parsed.blocked as string[]);
    } catch (err) {
      if (!this.complained) this.log(`network faults: ignoring ${this.file}: ${err instanceof Error ? err.message : String(err)}`);
      this.complained = true;
      return new Set();
    }
  }
}
