import { COMPARISONS } from './comparisons.ts';
import { MAX_TF_ENTRIES } from './model.ts';
import type { PreparedRecord } from './prepared.ts';

export interface TfTable {
  frequencies: Record<string, number>;
  minFrequency: number;
}

const byCountThenValue = (x: [string, number], y: [string, number]) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);

/** The `limit` most common values, ties by value; sorts only values seen more than once unless too few are. */
function mostCommon(counts: Map<string, number>, limit: number): [string, number][] {
  const repeated: [string, number][] = [];
  for (const entry of counts) if (entry[1] > 1) repeated.push(entry);
  const pool = repeated.length >= limit ? repeated : [...counts.entries()];
  return pool.sort(byCountThenValue).slice(0, limit);
}

/**
 * Value frequencies for the comparisons with term-frequency adjustment (Winkler 1989, as in Splink): the share
 * of records holding each value, for the `MAX_TF_ENTRIES` most common values. Values beyond the table are
 * rarer than its last entry, so they get its frequency: a modest, bounded boost. `priorRecords` pseudo-records
 * at the average agreement rate (u of the exact level) keep small inputs from producing extreme frequencies.
 */
export function buildTfTables(
  records: readonly PreparedRecord[],
  averageFrequency: (comparison: string) => number,
  priorRecords: number,
): Record<string, TfTable> {
  const tables: Record<string, TfTable> = {};
  for (const def of COMPARISONS) {
    if (!def.tfField) continue;
    const field = def.tfField;
    const counts = new Map<string, number>();
    let total = 0;
    for (const r of records) {
      const value = r[field];
      if (value === null) continue;
      counts.set(value, (counts.get(value) ?? 0) + 1);
      total++;
    }
    if (total === 0) continue;
    const prior = priorRecords * averageFrequency(def.name);
    const frequency = (count: number) => (count + prior) / (total + priorRecords);
    const top = mostCommon(counts, MAX_TF_ENTRIES);
    const frequencies: Record<string, number> = {};
    for (const [value, count] of top) frequencies[value] = frequency(count);
    tables[def.name] = { frequencies, minFrequency: frequency(top[top.length - 1]![1]) };
  }
  return tables;
}
