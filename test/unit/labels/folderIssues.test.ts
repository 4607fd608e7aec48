// Label issues of a folder, streamed image by image (pass 1: per-class sums; pass 2: each image's low scores,
// its part of T and its quality), against cleanlab's segmentation outputs on the same pixels pooled.
import * as assert from 'node:assert/strict';
import { folderIssues, selectIssues, thresholdsFromSums, type ImagePass2 } from '../../../src/labels/labelIssues';
import { imagePass2, imageThresholdSums } from '../../../src/labels/pairIssues';
import type { Tensor } from '../../../src/tensor/tensor';
import { loadFixture as load, SEGMENTATION_CASES } from './fixtures';

/** Image n of [N, ...] as its own tensor [1, ...]. */
function slice(t: Tensor, n: number): Tensor {
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return { dtype: t.dtype, shape: [1, ...t.shape.slice(1)], data: (t.data as Float32Array).subarray(n * per, (n + 1) * per) };
}

describe('label issues of a folder, image by image, equal cleanlab\'s on the pooled pixels', function () {
  for (const c of SEGMENTATION_CASES) {
    it(`${c.id}: the count, each image's count and score, the thresholds and the table`, function () {
      const logits = load(c.files.logits!);
      const labels = load(c.files.labels!);
      const N = logits.shape[0]!;
      const o = { classDim: 1, ignoreIndex: 255, inputKind: 'logits' as const };
      const p1 = Array.from({ length: N }, (_, n) => imageThresholdSums(slice(logits, n), slice(labels, n), o));
      const t = thresholdsFromSums(p1, c.K);
      c.expect.thresholds.forEach((want, k) => assert.ok(Math.abs(t[k]! - want) <= 1e-9 * want, `threshold ${k}: ${t[k]} vs ${want}`));
      const p2 = Array.from({ length: N }, (_, n) => imagePass2(slice(logits, n), slice(labels, n), o, Array.from(t)));
      const r = folderIssues(p2);
      assert.equal(r.numIssuesEstimate, c.expect.numIssuesEstimate);
      assert.equal(r.count, c.expect.numIssues);
      assert.deepEqual(r.perImage, c.expect.issuesPerImage);
      c.expect.imageScores.forEach((s, n) => (s === null ? assert.equal(p2[n]!.quality, null) : assert.ok(Math.abs(p2[n]!.quality! - s) <= 1e-9 * s, `image ${n}`)));
      assert.deepEqual(r.commonIssues.map((x) => ({ ...x })), c.expect.commonLabelIssues);
      // Each image's flagged positions (what the panel marks) are cleanlab's issue mask of that image.
      const issues = load(c.files.issues!).data as Uint8Array;
      const per = issues.length / N;
      for (let n = 0; n < N; n++) {
        const want: number[] = [];
        for (let i = 0; i < per; i++) if (issues[n * per + i]) want.push(i);
        assert.deepEqual(Array.from(r.flagged[n]!), want, `image ${n}'s flagged pixels`);
      }
    });
  }
});

describe('label issues of a folder: the cut-off among equal scores', function () {
  // Images' low pixels built by hand: many equal scores, so that the T-th lowest often ties with the next.
  function images(seed: number, n: number): ImagePass2[] {
    let s = seed;
    const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    return Array.from({ length: n }, () => {
      const m = 5 + Math.floor(rnd() * 40);
      const low = Float64Array.from({ length: m }, () => Math.floor(rnd() * 6) / 16);
      const lowGiven = Int32Array.from({ length: m }, () => Math.floor(rnd() * 3));
      const lowPredicted = Int32Array.from(lowGiven, (g) => (rnd() < 0.7 ? (g + 1) % 3 : g));
      return { T: Math.floor(rnd() * m * 0.6), quality: 0.1, pixels: m * 3, low, lowReportable: Uint8Array.from(lowGiven, (g, j) => (g !== lowPredicted[j] ? 1 : 0)), lowGiven, lowPredicted, lowIndex: Int32Array.from({ length: m }, (_, j) => j * 3) };
    });
  }

  it('takes the pixels NumPy\'s argsort of the pooled scores takes, whether or not a tie straddles the cut-off', function () {
    let split = 0;
    let whole = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const ims = images(seed, 1 + (seed % 7));
      const scores = Float64Array.from(ims.flatMap((im) => Array.from(im.low)));
      const reportable = Uint8Array.from(ims.flatMap((im) => Array.from(im.lowReportable)));
      const T = ims.reduce((a, im) => a + im.T, 0);
      if (T === 0 || T >= scores.length) continue;
      const sorted = Float64Array.from(scores).sort();
      if (sorted[T] === sorted[T - 1]) split++;
      else whole++;
      const want = selectIssues(scores, reportable, T);
      const r = folderIssues(ims);
      assert.equal(r.count, want.length, `seed ${seed}`);
      // Back to (image, position) pairs.
      const starts = ims.map((_, i) => ims.slice(0, i).reduce((a, im) => a + im.low.length, 0));
      const wantPerImage = ims.map((im, i) => Array.from(want).filter((k) => k >= starts[i]! && k < starts[i]! + im.low.length).map((k) => im.lowIndex[k - starts[i]!]!));
      assert.deepEqual(r.flagged.map((f) => Array.from(f)), wantPerImage, `seed ${seed}`);
    }
    assert.ok(split > 5 && whole > 5, `both cases seen (${split} split ties, ${whole} clean cut-offs)`);
  });
});

describe('label issues of a folder: probabilities plane by plane', function () {
  it('give bit for bit what the per-pixel path gives (the same image with its classes last)', function () {
    const C = 7;
    const H = 19;
    const W = 23;
    const S = H * W;
    let seed = 3;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const x = Float32Array.from({ length: C * S }, () => (rnd() - 0.5) * 12);
    x[5] = -Infinity; // a -inf logit stays on both paths
    // Ties for the top class, exact and within float rounding, and a NaN logit: the first argmax as fill finds it.
    for (let s = 7; s < 60; s++) {
      x[2 * S + s] = 9;
      x[4 * S + s] = s % 3 === 0 ? 9 : Math.fround(9 + (s % 3 === 1 ? 1 : -1) * 2 ** -20 * (s % 5));
      x[0 * S + s] = s % 4 === 0 ? 9 : x[0 * S + s]!;
    }
    x[6 * S + 61] = NaN;
    const y = Uint8Array.from({ length: S }, () => (rnd() < 0.1 ? 255 : Math.floor(rnd() * C)));
    const last = new Float32Array(C * S);
    for (let k = 0; k < C; k++) for (let s = 0; s < S; s++) last[s * C + k] = x[k * S + s]!;
    const planes = { input: { dtype: 'float32' as const, shape: [1, C, H, W], data: x }, o: { classDim: 1, ignoreIndex: 255, inputKind: 'logits' as const } };
    const pixels = { input: { dtype: 'float32' as const, shape: [1, H, W, C], data: last }, o: { classDim: -1, ignoreIndex: 255, inputKind: 'logits' as const } };
    const target: Tensor = { dtype: 'uint8', shape: [1, H, W], data: y };
    const a1 = imageThresholdSums(planes.input, target, planes.o);
    const b1 = imageThresholdSums(pixels.input, target, pixels.o);
    assert.deepEqual(a1, b1);
    const t = thresholdsFromSums([a1], C);
    const a2 = imagePass2(planes.input, target, planes.o, Array.from(t));
    const b2 = imagePass2(pixels.input, target, pixels.o, Array.from(t));
    assert.deepEqual(a2, b2);
    assert.ok(a2.low.length > 10 && a2.T > 0, 'the image has low and confidently wrong pixels');
  });
});
