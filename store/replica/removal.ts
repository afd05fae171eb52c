/**
 * A member removed from the cluster stops, as etcd does, instead of waiting for
 * a leader that will never write to it again. It learns of the removal either
 * by applying the conf change that removes it (a removed leader, or a follower
 * that heard of the commit), or from a peer that refuses its streams because it
 * applied that change (grpc-transport.ts), whichever comes first.
 *
 * It stops after a delay of STOP_DELAY_TICKS ticks (etcd: stopWithDelay of 10
 * ticks), so that what it sent last (the answer to the `member remove` that a
 * removed leader served, the commit index it broadcast) leaves first.
 */
import { MEMBER_REMOVED_MESSAGE } from '../../raft/transport/peer-service.js';

/** etcd stops a removed member 10 ticks after it applied its removal. */
export const STOP_DELAY_TICKS = 10;

export class RemovalWatch {
  /** Resolves STOP_DELAY_TICKS ticks after the first notice; never rejects. */
  readonly removed: Promise<void>;
  private noticed = false;
  private markRemoved: () => void = () => undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly o: { readonly tickMs: number; readonly log: (line: string) => void },
  ) {
    this.removed = new Promise((resolve) => (this.markRemoved = resolve));
  }

  /** Records that this member was removed (`how` says how it learned); later notices do nothing. */
  notice(how: string): void {
    if (this.noticed) return;
    this.noticed = true;
    const delayMs = STOP_DELAY_TICKS * this.o.tickMs;
    this.o.log(`${MEMBER_REMOVED_MESSAGE} (${how}); stopping in ${delayMs} ms`);
    this.timer = setTimeout(() => this.markRemoved(), delayMs);
  }

  /** The member stops for another reason: no timer may outlive it. */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}
