// The loss panel's "Hard in every run" for an image opened from the runs view: the image's hard pixels
// (src/eval/runs/imageHard.ts, on the engine's worker pool, so off this thread and with the CLI's losses),
// computed once per panel whatever run it shows, then placed in the maps of the result on screen.
import type { HardMask } from '../../eval/runs/hardPixels';
import { hardPositions } from '../../eval/runs/hardPixels';
import { imageHardMask } from '../../eval/runs/imageHard';
import type { ViewHardPixels } from '../../protocol';
import { wholeMaps } from '../../worker/engine/resultMaps';
import type { LossSession } from '../../worker/engine/session';
import type { HostServices, PanelRequest } from './lossPanel';

export class PanelHardPixels {
  /** The mask of the runs, label and options it was asked for (a promise: a second ask waits for the first). */
  private entry: { readonly key: string; readonly mask: Promise<HardMask> } | null = null;
  private readonly ac = new AbortController();

  constructor(private readonly services: HostServices) {}

  async find(request: PanelRequest, session: LossSession): Promise<ViewHardPixels> {
    const runs = request.runs;
    const label = request.target;
    if (!runs?.percentiles || !runs.options) return { state: 'error', message: 'this panel has no runs figures: open the image again from the runs view' };
    if (label.kind !== 'file') return { state: 'error', message: 'the target is not a file of the runs' };
    const maps = await wholeMaps(session.result, this.ac.signal);
    if (!maps) return { state: 'error', message: 'the per-pixel maps were not kept for this input' };
    const key = JSON.stringify([runs.predictions, label.path, runs.options, runs.percentiles]);
    if (this.entry?.key !== key) {
      const { pool, wasmPath } = this.services.engine().evalResources();
      const mask = imageHardMask({ predictions: runs.predictions, label: label.path, options: runs.options, percentiles: runs.percentiles, pool, wasmPath, signal: this.ac.signal });
      const entry = { key, mask };
      this.entry = entry;
      // A failure is not kept: the next ask tries again.
      mask.catch(() => {
        if (this.entry === entry) this.entry = null;
      });
    }
    const mask = await this.entry.mask;
    const at = hardPositions(mask, maps.targetClass, maps.ignored, runs.options.ignoreIndex);
    if (at.kind === 'mismatch') return { state: 'error', message: at.message };
    return { state: 'done', count: mask.count, pixels: mask.pixels, positions: at.positions, percentiles: runs.percentiles, runs: runs.names };
  }

  dispose(): void {
    this.ac.abort();
  }
}
