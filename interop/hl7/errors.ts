/**
 * HL7 table 0357 (message error condition codes) and the error type that carries one to the ACK.
 * Messages name the segment, field and problem, never the value.
 */
export const HL7_ERROR = {
  SEGMENT_SEQUENCE: { code: 100, name: 'Segment sequence error' },
  REQUIRED_FIELD_MISSING: { code: 101, name: 'Required field missing' },
  DATA_TYPE: { code: 102, name: 'Data type error' },
  TABLE_VALUE_NOT_FOUND: { code: 103, name: 'Table value not found' },
  UNSUPPORTED_MESSAGE_TYPE: { code: 200, name: 'Unsupported message type' },
  UNSUPPORTED_EVENT: { code: 201, name: 'Unsupported event code' },
  UNKNOWN_KEY: { code: 204, name: 'Unknown key identifier' },
  INTERNAL: { code: 207, name: 'Application internal error' },
} as const;

export type Hl7ErrorCondition = (typeof HL7_ERROR)[keyof typeof HL7_ERROR];

/** Where in the message a problem is: segment, its 1-based occurrence, field and component. */
export interface ErrorLocation {
  segment: string;
  sequence?: number;
  field?: number;
  /** The field's repetition, from 1 (ERR-2.4); the first when absent. */
  repetition?: number;
  component?: number;
}

export class Hl7Error extends Error {
  override readonly name = 'Hl7Error';
  constructor(
    readonly condition: Hl7ErrorCondition,
    message: string,
    readonly location?: ErrorLocation,
    /** AR (reject: the message as a whole is not acceptable) or AE (error in its content or processing). */
    readonly ack: 'AE' | 'AR' = 'AE',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `PID-7`, `MRG-1.4` or `MSH`: how errors and dead-letter reasons name a location. */
export function describeLocation(location: ErrorLocation | undefined): string {
  if (!location) return 'message';
  let where = location.segment;
  if (location.field !== undefined) where += `-${location.field}`;
  if (location.field !== undefined && location.repetition !== undefined) where += `(${location.repetition})`;
  if (location.component !== undefined) where += `.${location.component}`;
  return where;
}
