/** Operating errors of durable Raft storage. */

export const StorageErrorCode = {
  Corrupt: 'STORAGE_CORRUPT',
  Closed: 'STORAGE_CLOSED',
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
