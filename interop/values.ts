/** Value checks shared by the FHIR and HL7 mappings. */

/** A US SSN as sources send it: nine digits, optionally dashed NNN-NN-NNNN. Normalising is the service's job. */
const SSN_PATTERN = /^\d{3}-?\d{2}-?\d{4}$/;

export function isSsnShaped(value: string): boolean {
  return SSN_PATTERN.test(value);
}

/** True when year, month (1-12) and day name a real day of the proleptic Gregorian calendar. */
export function isCalendarDay(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear keeps them as written.
  date.setUTCFullYear(year);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Trimmed text, or null when nothing is left. */
export function cleanText(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}
