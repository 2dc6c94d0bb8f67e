import { RECORD_FIELDS } from '../bench/synth/config.ts';
import type { SynthRecord } from '../bench/synth/generate.ts';
import { normaliseRecord } from '../matching/index.ts';

const TODAY = new Date().toISOString().slice(0, 10);

/** A synthetic registry record as a pipeline would send it: ISO birth dates (an unreadable one left out), blanks left out. */
export function synthApiInput(r: SynthRecord): Record<string, string> {
  const input: Record<string, string> = { source: r.source, localId: r.recordId };
  for (const field of RECORD_FIELDS) if (r[field]) input[field] = r[field];
  const birthDate = input.birthDate ? normaliseRecord({ birthDate: input.birthDate }, { asOf: TODAY }).record.birthDate : null;
  if (birthDate && birthDate.length === 10) input.birthDate = birthDate;
  else delete input.birthDate;
  return input;
}
