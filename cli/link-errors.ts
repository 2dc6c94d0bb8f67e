/** Problems with the input of `mpi link` that the user can fix; the CLI prints `error: <message>` and exits 2. */
export type LinkErrorCode =
  | 'FILE_NOT_FOUND'
  | 'INVALID_MAPPING'
  | 'UNKNOWN_COLUMN'
  | 'NO_ID_COLUMN'
  | 'MALFORMED_CSV'
  | 'EMPTY_INPUT'
  | 'DUPLICATE_ID'
  | 'INVALID_MODEL'
  | 'INVALID_OPTION';

export class LinkInputError extends Error {
  constructor(
    readonly code: LinkErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LinkInputError';
  }
}
