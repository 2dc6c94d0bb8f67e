import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { ReliabilityBin } from '../matching/index.ts';
import { CALIBRATION_TOLERANCE, MIN_DECILE_PAIRS, evaluateDataset, sharedDatasets } from './accuracy.ts';
import { sharedDir } from './support.ts';
import { writeRegistry } from './synth/generate.ts';

/**
 * Calibration of the stated match probability (issue #16: every decile with at least 30 pairs within ±0.05 of
 * its observed rate), measured by the accuracy benchmark's own code on a synthetic registry with twins, Jr/Sr,
 * siblings and spouses, whose truth is known. The model is trained and calibrated without labels, as `mpi link`
 * does; the truth only measures.
 */
const work = mkdtempSync(join(tmpdir(), 'mpi-calibration-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Deciles with enough pairs to judge whose stated probability is further than the tolerance from the truth. */
const offDeciles = (bins: ReliabilityBin[]) =>
  bins
    .filter((b) => b.pairs >= MIN_DECILE_PAIRS && Math.abs(b.meanProbability - b.observedRate) > CALIBRATION_TOLERANCE)
    .map((b) => `${b.from.toFixed(1)}: ${b.pairs} pairs stated ${b.meanProbability.toFixed(3)}, observed ${b.observedRate.toFixed(3)}`);

describe('calibration of the stated match probability', () => {
  test('states on a registry with look-alike relatives a probability within 0.05 of the observed rate in every decile', async () => {
    const { files } = await writeRegistry({ seed: 7, records: 10_000, out: join(work, 'synth.csv'), relations: true });
    const row = await evaluateDataset({ name: 'synth-10000', files: [files.records], truth: files.truth }, work, false);
    const [candidates] = row.calibration;
    expect(candidates!.against).toBe('truth, candidate pairs');
    expect(offDeciles(candidates!.bins)).toEqual([]);
    expect(candidates!.brier).toBeLessThan(candidates!.fellegiSunter.brier);
  }, 300_000);

  const datasets = join(sharedDir(resolve(import.meta.dirname, '..')), 'datasets');
  test.skipIf(!existsSync(datasets)).each(['febrl1', 'febrl2', 'febrl3', 'febrl4'])(
    'states on %s a probability within 0.05 of the observed rate in every decile of its candidate pairs',
    async (name) => {
      const row = await evaluateDataset(
        sharedDatasets(datasets).find((d) => d.name === name)!,
        work,
        false,
      );
      const candidates = row.calibration.find((c) => c.against === 'truth, candidate pairs')!;
      expect(offDeciles(candidates.bins)).toEqual([]);
    },
    120_000,
  );

  test.skipIf(!existsSync(datasets))(
    'lowers the Brier score against the clerical labels of fake_1000',
    async () => {
      const fake = sharedDatasets(datasets).find((d) => d.name === 'fake_1000')!;
      const row = await evaluateDataset(fake, work, false);
      const labelled = row.calibration.find((c) => c.against === 'clerical labels')!;
      expect(labelled.brier).toBeLessThan(labelled.fellegiSunter.brier);
    },
    120_000,
  );
});
