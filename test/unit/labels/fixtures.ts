// The cleanlab fixtures (test/fixtures/label-issues, written by test/parity/generators/label_issues_generate.py): the
// manifest's cases and their .npy files, for the label-issue tests.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeNpy, encodeNpy } from '../../../src/tensor/binary/npy';
import type { Tensor } from '../../../src/tensor/tensor';

export const FIXTURES = path.resolve(__dirname, '../../fixtures/label-issues');

export interface Case {
  readonly id: string;
  readonly kind: 'segmentation' | 'classification' | 'lm-tokens';
  readonly K: number;
  readonly classAxis: number;
  readonly ignoreIndex?: number;
  readonly files: Record<string, string>;
  readonly expect: {
    readonly thresholds?: number[];
    readonly numIssues?: number;
    readonly numIssuesEstimate?: number;
    readonly issuesPerImage?: number[];
    readonly imageScores?: Array<number | null>;
    readonly commonLabelIssues?: Array<{ given: number; predicted: number; count: number }>;
    readonly batched?: { thresholds: number[]; numIssuesEstimate: number; numIssues: number; tieAtCutoff?: unknown };
  };
}

/** A segmentation case: the fields it always has. */
export type SegCase = Case & { readonly expect: Required<Pick<Case['expect'], 'thresholds' | 'numIssues' | 'numIssuesEstimate' | 'issuesPerImage' | 'imageScores' | 'commonLabelIssues'>> };

export const CASES: readonly Case[] = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as { cases: Case[] }).cases;

export const SEGMENTATION_CASES = CASES.filter((c): c is SegCase => c.kind === 'segmentation');

/** A fixture file by its name in the manifest's `files`. */
export function loadFixture(file: string): Tensor {
  return decodeNpy(new Uint8Array(fs.readFileSync(path.join(FIXTURES, file))));
}

/**
 * A segmentation case as two folders, one file pair per image: pred/img<n>.npy (its [K, H, W] float32 logits)
 * and labels/img<n>.npy (its [H, W] uint8 labels); stems img0..img<N-1> in stem order for N <= 10.
 */
export function writeCaseFolders(c: Case, dir: string): { pred: string; labels: string; images: number } {
  const logits = loadFixture(c.files.logits!);
  const labels = loadFixture(c.files.labels!);
  const [N, K, H, W] = logits.shape as [number, number, number, number];
  const pred = path.join(dir, 'pred');
  const lab = path.join(dir, 'labels');
  fs.mkdirSync(pred, { recursive: true });
  fs.mkdirSync(lab, { recursive: true });
  for (let n = 0; n < N; n++) {
    const x = (logits.data as Float32Array).subarray(n * K * H * W, (n + 1) * K * H * W);
    const y = (labels.data as Uint8Array).subarray(n * H * W, (n + 1) * H * W);
    fs.writeFileSync(path.join(pred, `img${n}.npy`), encodeNpy({ dtype: 'float32', shape: [K, H, W], data: x }));
    fs.writeFileSync(path.join(lab, `img${n}.npy`), encodeNpy({ dtype: 'uint8', shape: [H, W], data: y }));
  }
  return { pred, labels: lab, images: N };
}
