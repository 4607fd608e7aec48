// The focal figure of npm run bench (--json: focal {ce_s, focal_s, sigmoidFocal_s, ratioToCe,
// sigmoidFocalSample_s}): the Engine's time for cross-entropy, focal (gamma 2, per-class alpha) and
// torchvision's sigmoid focal loss (alpha 0.25, gamma 2, one-hot float targets) on the segmentation case
// [8, 21, 512, 512] float32, tensors in memory, 2 workers, best of `reps`, in one run. ratioToCe is the
// larger focal time over ce_s. Sigmoid focal keeps no maps (its result computes them on request):
// sigmoidFocalSample_s is what the view waits for after the computation, sample 0's maps [21, 512, 512]
// computed on demand. bench/focal.ts prints the same cases with .npy sources.
import type { Tensor } from '../src/tensor/tensor';
import { Engine, type EngineRequest } from '../src/worker/engine/engine';
import { segmentationCase, xorshift } from './random';

export interface FocalFigures {
  readonly ce_s: number;
  readonly focal_s: number;
  readonly sigmoidFocal_s: number;
  readonly ratioToCe: number;
  readonly sigmoidFocalSample_s: number;
}

/** The segmentation case's tensors: logits, index targets (5% ignored as 255), one-hot floats, class weights. */
export function focalTensors(): { readonly input: Tensor; readonly target: Tensor; readonly floatTarget: Tensor; readonly weight: Tensor } {
  const [N, C, H, W] = [8, 21, 512, 512];
  const S = H * W;
  const { input, target } = segmentationCase(xorshift(), N, C, H, W);
  const t = target.data;
  // One-hot float targets for the sigmoid form (an ignored pixel: all zeros).
  const oneHot = new Float32Array(N * C * S);
  for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) if (t[n * S + s]! < C) oneHot[(n * C + t[n * S + s]!) * S + s] = 1;
  return {
    input,
    target,
    floatTarget: { dtype: 'float32', shape: [N, C, H, W], data: oneHot },
    weight: { dtype: 'float32', shape: [C], data: Float32Array.from({ length: C }, (_, c) => 0.25 + c / C) },
  };
}

export async function measureFocal(dist: string, reps: number): Promise<FocalFigures> {
  const { input, target, floatTarget, weight } = focalTensors();
  const engine = new Engine({ distDir: dist, maxWorkers: 2 });
  const best = async (f: () => Promise<unknown>): Promise<number> => {
    await f();
    let b = Infinity;
    for (let k = 0; k < reps; k++) {
      const t0 = performance.now();
      await f();
      b = Math.min(b, (performance.now() - t0) / 1000);
    }
    return b;
  };
  const time = (req: EngineRequest): Promise<number> => best(() => engine.compute(req));
  try {
    const src = { kind: 'tensor' as const, tensor: input };
    const ce_s = await time({ input: src, target: { kind: 'tensor', tensor: target }, options: { ignoreIndex: 255, reduction: 'none' } });
    const focal_s = await time({ input: src, target: { kind: 'tensor', tensor: target }, weight: { kind: 'tensor', tensor: weight }, options: { loss: 'focal', gamma: 2, ignoreIndex: 255, reduction: 'none' } });
    const sigmoidReq: EngineRequest = { input: src, target: { kind: 'tensor', tensor: floatTarget }, options: { loss: 'sigmoid-focal', gamma: 2, alpha: 0.25, reduction: 'none' } };
    const sigmoidFocal_s = await time(sigmoidReq);
    const r = await engine.compute(sigmoidReq);
    const S = input.data.length / input.shape[0];
    const sigmoidFocalSample_s = r.mapsOnDemand ? await best(() => r.mapsOnDemand!.range(0, S)) : 0;
    return { ce_s, focal_s, sigmoidFocal_s, ratioToCe: Math.max(focal_s, sigmoidFocal_s) / ce_s, sigmoidFocalSample_s };
  } finally {
    await engine.dispose();
  }
}
