import { DomainError } from '../platform/errors.ts';

/** Problems with the input of `mpi link` that the user can fix; the CLI prints `error: <message>` and exits 2. */
export type LinkErrorCode =
  | 'FILE_NOT_FOUND'
  | 'INVALID_MAPPING'
  | 'UNKNOWN_COLUMN'
  | 'UNRECOGNISED_COLUMNS'
  | 'NO_ID_COLUMN'
  | 'MALFORMED_CSV'
  | 'EMPTY_INPUT'
  | 'DUPLICATE_ID'
  | 'INVALID_MODEL'
  | 'INVALID_OPTION';

export class LinkInputError extends DomainError {
  declare readonly code: LinkErrorCode;
  constructor(code: LinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
