/** Value checks shared by the FHIR and HL7 mappings. */
import { cleanSsn, issueProblem, type ValueProblem } from '../matching/index.ts';

/**
 * Why the service keeps an SSN out of matching (the normaliser's one rule, as for GraphQL and the CSV commands),
 * or null when it matches on it. Such a value refuses nothing: the record is accepted and the sender is warned.
 */
export function ssnProblem(value: string): ValueProblem | null {
  const { issue } = cleanSsn(value);
  return issue ? issueProblem(issue) : null;
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
