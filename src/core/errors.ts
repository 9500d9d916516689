/**
 * One base error for the whole project. Every error carries a stable `code`
 * (FSx's codes where one exists) and says whether retrying can help; the
 * state machines' Retry/Catch clauses match on `name`, which is the code.
 */
export class SyncError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.name = code;
    this.retryable = options.retryable ?? false;
  }
}

/** An S3 key that does not map to a safe relative path. Never written to the file system. */
export class PathNotPosixCompliantError extends SyncError {
  constructor(message: string) {
    super('S3ImportObjectPathNotPosixCompliant', message);
  }
}

/** A file path whose key would be invalid (not UTF-8, or longer than S3's 1024 bytes). */
export class ExportPathSizeTooLongError extends SyncError {
  constructor(message: string) {
    super('S3ExportPathSizeTooLong', message);
  }
}

/** An object and a directory claim the same path; the file-system side keeps the name. */
export class ObjectTypeMismatchError extends SyncError {
  constructor(message: string) {
    super('S3ImportObjectTypeMismatch', message);
  }
}

/** Bad association parameters: overlap, nesting, malformed paths. */
export class InvalidAssociationError extends SyncError {
  constructor(message: string) {
    super('InvalidAssociation', message);
  }
}

export class AssociationNotFoundError extends SyncError {
  constructor(associationId: string) {
    super('DataRepositoryAssociationNotFound', `association ${associationId} does not exist`);
  }
}

/** The source changed while it was read; the transfer is retried later, nothing torn is written. */
export class SourceChangedError extends SyncError {
  constructor(message: string) {
    super('SourceChangedDuringTransfer', message, { retryable: true });
  }
}

/**
 * S3 refused a conditional request (412): the object is no longer the one
 * the decision saw. Not a failure: the path is decided again at once.
 */
export class PreconditionLostError extends SourceChangedError {}

/** An event that does not match its schema. It goes to the DLQ with this reason. */
export class MalformedEventError extends SyncError {
  constructor(message: string) {
    super('MalformedEvent', message);
  }
}

/** A management request (from the CLI or an API caller) that does not match its schema: the caller's mistake. */
export class BadRequestError extends SyncError {
  constructor(message: string) {
    super('BadRequest', message);
  }
}

/** Another worker holds the path's lease; it will re-plan before releasing. */
export class LeaseHeldError extends SyncError {
  constructor(path: string) {
    super('LeaseHeld', `path ${path} is leased by another worker`, { retryable: true });
  }
}

/** A conditional ledger write lost against a concurrent writer. */
export class LedgerConflictError extends SyncError {
  constructor(message: string) {
    super('LedgerConflict', message, { retryable: true });
  }
}

/** Throttling, 5xx, connection resets: try again. */
export class TransientError extends SyncError {
  constructor(message: string, cause?: unknown) {
    super('Transient', message, { cause, retryable: true });
  }
}

/** Returns the stable code of any thrown value. */
export function errorCode(error: unknown): string {
  if (error instanceof SyncError) return error.code;
  if (error instanceof Error) return error.name || 'Error';
  return 'Unknown';
}

/** The bucket an association names does not exist (deleted, or a typo); the association is MISCONFIGURED. */
export class BucketNotFoundError extends SyncError {
  readonly bucket: string;

  constructor(bucket: string, cause?: unknown) {
    super('NoSuchBucket', `bucket ${bucket} does not exist (or is not visible to these credentials)`, {
      cause,
    });
    this.bucket = bucket;
  }
}
