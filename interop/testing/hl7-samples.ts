/** Synthetic HL7 v2.5.1 ADT messages for tests, examples and benches. Segments end in CR. */

export interface SamplePatient {
  mrn: string;
  authority?: string;
  family?: string;
  given?: string;
  middle?: string;
  birth?: string;
  sex?: string;
  street?: string;
  city?: string;
  state?: string;
  zip?: string;
  phone?: string;
  ssn?: string;
}

export const ZEPHYRINE: SamplePatient = {
  mrn: 'MRN-1',
  authority: 'EHR',
  family: 'Quillfeather',
  given: 'Zephyrine',
  middle: 'Mae',
  birth: '19840229',
  sex: 'F',
  street: '12 Larch Lane',
  city: 'Fernvale',
  state: 'OR',
  zip: '97001',
  phone: '555-0142',
  ssn: '900-12-3456',
};

/** MSH for a message; `type` like `ADT^A04^ADT_A01`. */
export function msh(type: string, controlId: string, facility = 'NORTH'): string {
  return `MSH|^~\\&|EHRAPP|${facility}|MPI|HQ|20240102030405||${type}|${controlId}|P|2.5.1`;
}

/** A PID segment for a sample patient. */
export function pid(p: SamplePatient, setId = 1): string {
  const fields = [
    'PID',
    String(setId),
    '',
    `${p.mrn}^^^${p.authority ?? ''}^MR`,
    '',
    `${p.family ?? ''}^${p.given ?? ''}^${p.middle ?? ''}^^^^L`,
    '',
    p.birth ?? '',
    p.sex ?? '',
    '',
    '',
    p.street || p.city ? `${p.street ?? ''}^^${p.city ?? ''}^${p.state ?? ''}^${p.zip ?? ''}^USA^H` : '',
    '',
    p.phone ? `${p.phone}^PRN^PH` : '',
    '',
    '',
    '',
    '',
    '',
    p.ssn ?? '',
  ];
  return fields.join('|');
}

/** An A01/A04/A08/A28/A31 message for one patient. */
export function adtUpsert(trigger: string, p: SamplePatient, controlId = `C-${trigger}-${p.mrn}`): string {
  return [msh(`ADT^${trigger}^ADT_A01`, controlId), `EVN|${trigger}|20240102030405`, pid(p), 'PV1|1|O'].join('\r');
}

/** An A40: `survivor` keeps, `merged` (MRG-1) goes. */
export function adtMerge(survivor: SamplePatient, merged: { mrn: string; authority?: string }, controlId = 'C-A40'): string {
  return [
    msh('ADT^A40^ADT_A39', controlId),
    'EVN|A40|20240102030405',
    pid(survivor),
    `MRG|${merged.mrn}^^^${merged.authority ?? ''}^MR`,
  ].join('\r');
}

/** An A37: unlinks `second` from `first`. */
export function adtUnlink(first: SamplePatient, second: SamplePatient, controlId = 'C-A37'): string {
  return [msh('ADT^A37^ADT_A37', controlId), 'EVN|A37|20240102030405', pid(first, 1), pid(second, 2)].join('\r');
}
