/** Operating errors of durable Raft storage. */

export const StorageErrorCode = {
  Corrupt: 'STORAGE_CORRUPT',
  Closed: 'STORAGE_CLOSED',
  NotEmpty: 'STORAGE_NOT_EMPTY',
} as const;
export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/** A record or file failed its checksum or structure check; names where. */
export class CorruptStorageError extends StorageError {
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super(StorageErrorCode.Corrupt, `corrupt raft storage at ${where}: ${detail}; refusing to start`);
  }
}

/** Names of a non-empty directory's entries an error message lists; the rest are counted. */
const NOT_EMPTY_NAMES_SHOWN = 3;

/** A restore was pointed at a data directory that already holds something; it never overwrites. */
export class DataDirNotEmptyError extends StorageError {
  constructor(
    readonly dataDir: string,
    readonly entries: readonly string[],
  ) {
    const shown = entries.slice(0, NOT_EMPTY_NAMES_SHOWN).join(', ');
    const more = entries.length > NOT_EMPTY_NAMES_SHOWN ? `, and ${entries.length - NOT_EMPTY_NAMES_SHOWN} more` : '';
    super(StorageErrorCode.NotEmpty, `data directory ${dataDir} is not empty (holds ${shown}${more}); restore only into a new or empty directory`);
  }
}
