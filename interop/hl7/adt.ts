import type { RecordInput } from '../ports.ts';
import { dateRequired, isoDateProblem } from '../../matching/index.ts';
import { cleanText, ssnProblem } from '../values.ts';
import type { AckError } from './ack.ts';
import { HL7_ERROR, Hl7Error, type ErrorLocation } from './errors.ts';
import {
  component,
  firstSegment,
  repetitions,
  valueAt,
  type Delimiters,
  type Hl7Message,
  type Repetition,
  type Segment,
} from './message.ts';

/** What MSH says about a message; raw fields are kept for echoing in the ACK. */
export interface MessageHeader {
  messageType: string;
  /** Trigger event from MSH-9.2, else EVN-1. */
  trigger: string;
  controlId: string;
  processingId: string;
  version: string;
  sendingFacility: string;
}

/** One CX identifier (PID-3, MRG-1) with where it was found. */
export interface CxIdentifier {
  id: string;
  typeCode: string;
  /** CX-4.1 namespace ID of the assigning authority. */
  namespace: string;
  /** CX-4.2 universal ID (e.g. an OID) and CX-4.3 its type. */
  universalId: string;
  universalIdType: string;
  location: ErrorLocation;
}

export type AdtCommand =
  | { kind: 'upsert'; identifier: CxIdentifier; record: RecordInput; warnings: AckError[] }
  | { kind: 'merge'; survivor: CxIdentifier; merged: CxIdentifier }
  | { kind: 'unlink'; identifier: CxIdentifier }
  | { kind: 'delete'; identifier: CxIdentifier };

/** Events that add or update a person (admit, register, update, add/update person information). */
export const UPSERT_EVENTS = ['A01', 'A04', 'A08', 'A28', 'A31'] as const;
export const MERGE_EVENT = 'A40';
export const UNLINK_EVENT = 'A37';
export const DELETE_EVENT = 'A29';
export const SUPPORTED_EVENTS: readonly string[] = [...UPSERT_EVENTS, MERGE_EVENT, UNLINK_EVENT, DELETE_EVENT];

/** The HL7 explicit null: "delete this value". For a full upsert it means the same as empty. */
const HL7_NULL = '""';

/** Reads MSH (and EVN-1 for the trigger when MSH-9.2 is empty). */
export function readHeader(message: Hl7Message): MessageHeader {
  const d = message.delimiters;
  const msh = firstSegment(message, 'MSH');
  return {
    messageType: valueAt(msh, 9, d, 1).toUpperCase(),
    trigger: (valueAt(msh, 9, d, 2) || valueAt(firstSegment(message, 'EVN'), 1, d)).toUpperCase(),
    controlId: valueAt(msh, 10, d),
    processingId: valueAt(msh, 11, d),
    version: valueAt(msh, 12, d),
    sendingFacility: valueAt(msh, 4, d),
  };
}

/**
 * Turns an ADT message into port commands: A01/A04/A08/A28/A31 upsert the PID, A40 merges each PID/MRG
 * pair (PID = survivor, MRG-1 = the merged patient), A37 unlinks the second PID's record (the first PID is
 * the one it was linked to), A29 deletes. Throws Hl7Error naming the segment and field of the first problem.
 */
export function adtCommands(message: Hl7Message, header: MessageHeader): AdtCommand[] {
  if (header.messageType !== 'ADT') {
    throw new Hl7Error(
      HL7_ERROR.UNSUPPORTED_MESSAGE_TYPE,
      'only ADT messages are accepted',
      { segment: 'MSH', sequence: 1, field: 9, component: 1 },
      'AR',
    );
  }
  if (!SUPPORTED_EVENTS.includes(header.trigger)) {
    throw new Hl7Error(
      HL7_ERROR.UNSUPPORTED_EVENT,
      'unsupported ADT trigger event',
      { segment: 'MSH', sequence: 1, field: 9, component: 2 },
      'AR',
    );
  }
  const d = message.delimiters;
  const pids = indexed(message, 'PID');
  if (pids.length === 0) throw new Hl7Error(HL7_ERROR.SEGMENT_SEQUENCE, 'PID segment is missing', { segment: 'PID' });
  const fallbackAuthority = header.sendingFacility;

  switch (header.trigger) {
    case MERGE_EVENT:
      return mergeCommands(message, d, fallbackAuthority);
    case UNLINK_EVENT: {
      const target = pids[pids.length - 1] as IndexedSegment;
      return [{ kind: 'unlink', identifier: primaryIdentifier(target, 3, d, fallbackAuthority) }];
    }
    case DELETE_EVENT:
      return [{ kind: 'delete', identifier: primaryIdentifier(pids[0] as IndexedSegment, 3, d, fallbackAuthority) }];
    default: {
      const pid = pids[0] as IndexedSegment;
      const warnings: AckError[] = [];
      const record = pidToRecord(pid, d, warnings);
      return [{ kind: 'upsert', identifier: primaryIdentifier(pid, 3, d, fallbackAuthority), record, warnings }];
    }
  }
}

interface IndexedSegment {
  segment: Segment;
  /** 1-based occurrence among segments of the same name. */
  sequence: number;
  /** Position in the message, for pairing PID with the MRG that follows it. */
  position: number;
}

function indexed(message: Hl7Message, name: string): IndexedSegment[] {
  const out: IndexedSegment[] = [];
  message.segments.forEach((segment, position) => {
    if (segment.name === name) out.push({ segment, sequence: out.length + 1, position });
  });
  return out;
}

/** A40 repeats the PID/PD1/MRG/PV1 group once per merge: pair each PID with the MRG after it. */
function mergeCommands(message: Hl7Message, d: Delimiters, fallbackAuthority: string): AdtCommand[] {
  const pids = indexed(message, 'PID');
  const mrgs = indexed(message, 'MRG');
  return pids.map((pid, i) => {
    const next = pids[i + 1]?.position ?? Number.POSITIVE_INFINITY;
    const mrg = mrgs.find((m) => m.position > pid.position && m.position < next);
    if (!mrg) throw new Hl7Error(HL7_ERROR.SEGMENT_SEQUENCE, 'MRG segment is missing after PID', { segment: 'MRG', sequence: i + 1 });
    const survivor = primaryIdentifier(pid, 3, d, fallbackAuthority);
    const merged = primaryIdentifier(mrg, 1, d, survivor.namespace || fallbackAuthority);
    return { kind: 'merge', survivor, merged };
  });
}

/** CX type codes (HL7 table 0203) that name a patient in a source system, most specific first. */
const PATIENT_ID_TYPES = ['MR', 'PI', 'PT', 'PN', ''];

/**
 * The identifier that keys the source record: the first medical record number, else the first patient
 * identifier of another patient-id type. The assigning authority (CX-4) is the source; when it is empty the
 * sending facility (MSH-4) is, as HL7 lets the sender's facility imply the authority.
 */
function primaryIdentifier(at: IndexedSegment, field: number, d: Delimiters, fallbackAuthority: string): CxIdentifier {
  const location = { segment: at.segment.name, sequence: at.sequence, field };
  const reps = repetitions(at.segment, field, d)
    .map((rep) => toCx(rep, location))
    .filter((cx) => cx.id !== '' && cx.id !== HL7_NULL);
  const byType = (type: string) => reps.find((cx) => cx.typeCode === type);
  const chosen = PATIENT_ID_TYPES.map(byType).find((cx) => cx !== undefined) ?? reps.find((cx) => cx.typeCode !== 'SS');
  if (!chosen) throw new Hl7Error(HL7_ERROR.REQUIRED_FIELD_MISSING, 'patient identifier is required', location);
  if (!chosen.namespace && !chosen.universalId) {
    if (!fallbackAuthority)
      throw new Hl7Error(HL7_ERROR.REQUIRED_FIELD_MISSING, 'assigning authority is required', { ...location, component: 4 });
    return { ...chosen, namespace: fallbackAuthority };
  }
  return chosen;
}

function toCx(rep: Repetition, location: ErrorLocation): CxIdentifier {
  return {
    id: component(rep, 1).trim(),
    typeCode: component(rep, 5).trim().toUpperCase(),
    namespace: component(rep, 4, 1).trim(),
    universalId: component(rep, 4, 2).trim(),
    universalIdType: component(rep, 4, 3).trim(),
    location,
  };
}

/** PID -> canonical record fields. Values the service keeps out of matching (a bad SSN) go to `warnings`. */
export function pidToRecord(at: IndexedSegment | Segment, d: Delimiters, warnings: AckError[] = []): RecordInput {
  const pid = 'segment' in at ? at : { segment: at, sequence: 1, position: 0 };
  const where = (field: number, c?: number): ErrorLocation => ({
    segment: 'PID',
    sequence: pid.sequence,
    field,
    ...(c ? { component: c } : {}),
  });
  const name = pickRepetition(repetitions(pid.segment, 5, d), 7, NAME_TYPES);
  const address = pickRepetition(repetitions(pid.segment, 11, d), 7, ADDRESS_TYPES);
  const phones = repetitions(pid.segment, 13, d);
  return {
    familyName: clean(component(name, 1)),
    givenName: clean(component(name, 2)),
    middleName: clean(component(name, 3)),
    suffix: clean(component(name, 4)),
    birthDate: readBirthDate(valueAt(pid.segment, 7, d), where(7)),
    sex: readSex(valueAt(pid.segment, 8, d), where(8)),
    addressLine1: clean(component(address, 1)),
    addressLine2: clean(component(address, 2)),
    city: clean(component(address, 3)),
    state: clean(component(address, 4)),
    postalCode: clean(component(address, 5)),
    phone: clean(pickPhone(phones)),
    email: clean(pickEmail(phones)),
    ssn: readSsn(ssnOf(pid.segment, d, where), warnings),
  };
}

/** Name types (table 0200) in order of preference: legal, unspecified, display; never alias or maiden. */
const NAME_TYPES = ['L', '', 'U', 'D'];
/** Address types (table 0190): home, unspecified, current, permanent, legal; never business or bad. */
const ADDRESS_TYPES = ['H', '', 'C', 'P', 'L'];

/** The first repetition whose type component is the first preferred type present. */
function pickRepetition(reps: Repetition[], typeComponent: number, preferred: string[]): Repetition | undefined {
  for (const type of preferred) {
    const found = reps.find((r) => component(r, typeComponent).toUpperCase() === type);
    if (found) return found;
  }
  return undefined;
}

const NON_VOICE_EQUIPMENT = ['FX', 'INTERNET', 'X.400', 'BP'];

/** XTN: the first voice number (not email, fax or pager); v2.5+ area code + local number, else XTN-1. */
function pickPhone(reps: Repetition[]): string {
  const voice = reps.find((r) => component(r, 2).toUpperCase() !== 'NET' && !NON_VOICE_EQUIPMENT.includes(component(r, 3).toUpperCase()));
  if (!voice) return '';
  const local = component(voice, 7);
  return local ? `${component(voice, 6)}${local}` : component(voice, 1);
}

function pickEmail(reps: Repetition[]): string {
  const email = reps.find((r) => component(r, 2).toUpperCase() === 'NET' || component(r, 3).toUpperCase() === 'INTERNET');
  return email ? component(email, 4) || component(email, 1) : '';
}

/** The SSN and where it was read: PID-19, else the first PID-3 identifier of type SS (its ID number, component 1). */
function ssnOf(pid: Segment, d: Delimiters, where: (field: number, c?: number) => ErrorLocation): { raw: string; location: ErrorLocation } {
  const own = valueAt(pid, 19, d);
  if (own) return { raw: own, location: where(19) };
  const identifiers = repetitions(pid, 3, d);
  const index = identifiers.findIndex((r) => component(r, 5).toUpperCase() === 'SS');
  if (index < 0) return { raw: '', location: where(19) };
  return { raw: component(identifiers[index], 1), location: { ...where(3, 1), repetition: index + 1 } };
}

/**
 * The SSN as sent: like every channel, a bad one refuses nothing. The service keeps it out of matching (the
 * normaliser's rule) and the ACK carries a warning naming the field it came from.
 */
function readSsn({ raw, location }: { raw: string; location: ErrorLocation }, warnings: AckError[]): string | null {
  const value = clean(raw);
  if (value === null) return null;
  const problem = ssnProblem(value);
  if (problem) warnings.push({ condition: HL7_ERROR.DATA_TYPE, text: `SSN: ${problem.message}`, location });
  return value;
}

/** PID-7's layout, in the words every channel uses for a value that is no date ("must be an ISO date (YYYY-MM-DD)"). */
const HL7_DATE_REQUIRED = dateRequired('an HL7 date (YYYYMMDD)');

/** HL7 table 0001: F, M, O carry evidence; U (unknown), A (ambiguous) and N (not applicable) do not. */
const SEX_CODES: Record<string, string | null> = { M: 'M', F: 'F', O: 'O', U: null, A: null, N: null };

function readSex(raw: string, location: ErrorLocation): string | null {
  const value = clean(raw);
  if (value === null) return null;
  const sex = SEX_CODES[value.toUpperCase()];
  if (sex === undefined) throw new Hl7Error(HL7_ERROR.TABLE_VALUE_NOT_FOUND, 'sex: is not a recognised code', location);
  return sex;
}

/** PID-7 is DTM/TS: YYYYMMDD[HHMM[SS[.S...]]][+/-ZZZZ]. A birth date needs at least the day. */
function readBirthDate(raw: string, location: ErrorLocation): string | null {
  const value = clean(raw);
  if (value === null) return null;
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2,6}(\.\d{1,4})?)?([+-]\d{4})?$/.exec(value);
  // An impossible day, or no full date at all (YYYY, YYYYMM), in the words every channel uses.
  if (!m) throw new Hl7Error(HL7_ERROR.DATA_TYPE, `birth date: ${isoDateProblem(value, HL7_DATE_REQUIRED) ?? HL7_DATE_REQUIRED}`, location);
  const iso = `${m[1]}-${m[2]}-${m[3]}`;
  const problem = isoDateProblem(iso);
  if (problem) throw new Hl7Error(HL7_ERROR.DATA_TYPE, `birth date: ${problem}`, location);
  return iso;
}

function clean(value: string): string | null {
  const text = cleanText(value);
  return text === HL7_NULL ? null : text;
}
