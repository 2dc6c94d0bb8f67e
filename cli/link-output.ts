import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import cliProgress from 'cli-progress';
import { stringify } from 'csv-stringify/sync';
import type { LinkSummary } from './link.ts';

/** A character that makes CSV quote a field: the delimiter, the quote, or a line break. */
const NEEDS_QUOTES = /[",\r\n]/;

/** One `record_id,cluster_id` line: as it is for plain ids (nearly all), else quoted by csv-stringify. */
const clusterLine = (id: string, cluster: string): string =>
  NEEDS_QUOTES.test(id) || NEEDS_QUOTES.test(cluster) ? stringify([[id, cluster]]) : `${id},${cluster}\n`;

/**
 * Writes `record_id,cluster_id` for every record, in input order; a cluster is named by the id of its first
 * record, so the output is the same for the same input.
 */
export async function writeClusters(path: string, ids: readonly string[], clusterOf: Int32Array): Promise<void> {
  const firstId: string[] = [];
  for (let i = 0; i < ids.length; i++) firstId[clusterOf[i]!] ??= ids[i]!;
  const stream = createWriteStream(path);
  const chunk = 10_000;
  stream.write('record_id,cluster_id\n');
  for (let start = 0; start < ids.length; start += chunk) {
    let text = '';
    for (let i = start; i < Math.min(ids.length, start + chunk); i++) text += clusterLine(ids[i]!, firstId[clusterOf[i]!]!);
    if (!stream.write(text)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}

const STAGE_LABELS: Record<string, string> = {
  read: 'reading',
  'read-bytes': 'reading (bytes)',
  compare: 'comparing',
  train: 'training',
  score: 'scoring',
  cluster: 'clustering',
};

/**
 * A one-line progress bar on stderr with the rate and the time left of the current phase; silent when not
 * enabled. A phase without a known total shows its count and rate only.
 */
export function createProgress(enabled: boolean): { update: ProgressUpdate; stop: () => void } {
  if (!enabled) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: '{stage} {bar} {value}{totalText}  {rate}/s  {left}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let phase = { stage: '', at: 0 };
  return {
    update: (stage, done, total) => {
      if (phase.stage !== stage) phase = { stage, at: performance.now() };
      const seconds = (performance.now() - phase.at) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      const left = total > 0 && rate > 0 ? `ETA ${Math.max(0, Math.ceil((total - done) / rate))} s` : '';
      const payload = {
        stage: (STAGE_LABELS[stage] ?? stage).padEnd(10),
        totalText: total > 0 ? `/${total}` : '',
        rate: Math.round(rate),
        left,
      };
      if (!started) {
        bar.start(Math.max(total, done, 1), done, payload);
        started = true;
      }
      bar.setTotal(Math.max(total, done, 1));
      bar.update(done, payload);
    },
    stop: () => started && bar.stop(),
  };
}
type ProgressUpdate = (stage: string, done: number, total: number) => void;

/** The end-of-run summary (counts only: no patient data). */
export function formatSummary(s: LinkSummary): string {
  const refused =
    Object.entries(s.refusedMerges)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  const issues =
    Object.entries(s.issues)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  return [
    `records          ${s.records} from ${s.sources} source(s)`,
    `model            ${s.modelVersion}${s.trained ? ' (trained on this input)' : ''}`,
    `pairs compared   ${s.pairsCompared}`,
    `links            ${s.links} (vetoed by conflict rules: ${s.conflictVetoes}; merges refused: ${refused})`,
    `clusters         ${s.clusters}`,
    `seconds          ${s.seconds.toFixed(2)} (${s.threads} thread${s.threads === 1 ? '' : 's'})`,
    `phases           ${Object.entries(s.phases)
      .map(([phase, seconds]) => `${phase} ${seconds.toFixed(2)} s`)
      .join(', ')}`,
    `peak memory      ${Math.round(s.peakRssMb)} MB${s.semiSpaceMb === null ? '' : ` (V8 semi-spaces of ${s.semiSpaceMb} MB)`}`,
    `field issues     ${issues}`,
    ...(s.errorReport ? [`rejected rows    ${s.rejected} (left out; listed in ${s.errorReport})`] : []),
    '',
  ].join('\n');
}
