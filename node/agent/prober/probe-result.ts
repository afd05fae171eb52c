/** What one run of a probe found. */
export interface ProbeOutcome {
  readonly ok: boolean;
  /** Why it failed (or what it saw), for events and logs. */
  readonly message: string;
}
