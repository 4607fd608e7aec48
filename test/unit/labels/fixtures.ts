// The cleanlab fixtures (test/fixtures/label-issues, written by test/parity/label_issues_generate.py): the
// manifest's cases and their .npy files, for the label-issue tests.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeNpy } from '../../../src/tensor/npy';
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
