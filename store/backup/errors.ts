/**
 * Operating errors of backup files and restores. Each has a stable `code`; the
 * message names the file (or flag), the value found and what was expected.
 */

export const BackupErrorCode = {
  /** The file cannot be opened or read. */
  Unreadable: 'BACKUP_UNREADABLE',
  /** Larger than this build can hold in memory. */
  TooLarge: 'BACKUP_TOO_LARGE',
  /** Shorter than a saved snapshot can be, or not of a size a saved snapshot has. */
  Truncated: 'BACKUP_TRUNCATED',
  /** The trailing SHA-256 does not match what precedes it. */
  ChecksumMismatch: 'BACKUP_CHECKSUM_MISMATCH',
  /** Intact, but not a Strake snapshot (e.g. an etcd bbolt file). */
  NotASnapshot: 'BACKUP_NOT_A_SNAPSHOT',
  /** A Strake snapshot of a format this build does not read. */
  UnsupportedVersion: 'BACKUP_UNSUPPORTED_VERSION',
  /** Intact and recognised, but its contents do not decode or do not add up. */
  Malformed: 'BACKUP_MALFORMED',
} as const;
export type BackupErrorCode = (typeof BackupErrorCode)[keyof typeof BackupErrorCode];

/** A snapshot file cannot be used; nothing was written anywhere. */
export class BackupFileError extends Error {
  constructor(
    readonly code: BackupErrorCode,
    readonly file: string,
    detail: string,
  ) {
    super(`snapshot file ${file} ${detail}`);
    this.name = 'BackupFileError';
  }
}

export const RestoreErrorCode = {
  /** --name is not one of the --initial-cluster members. */
  MemberNotInCluster: 'RESTORE_MEMBER_NOT_IN_CLUSTER',
  /** --initial-advertise-peer-urls disagrees with this member's --initial-cluster URL. */
  PeerUrlMismatch: 'RESTORE_PEER_URL_MISMATCH',
} as const;
export type RestoreErrorCode = (typeof RestoreErrorCode)[keyof typeof RestoreErrorCode];

/** The restore's flags contradict each other; nothing was read or written. */
export class RestoreFlagError extends Error {
  constructor(
    readonly code: RestoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RestoreFlagError';
  }
}
