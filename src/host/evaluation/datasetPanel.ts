// The dataset view of Evaluate Folder…: a webview that lists a folder evaluation's images as they complete
// and shows the pooled figures. The evaluation itself is src/eval/runEval.ts on the engine's worker pool,
// exactly what `eval PRED_DIR LABEL_DIR` runs, so the final figures are the CLI's. The host keeps what the
// view was sent (rows with their thumbnails, the last summary) so a reloaded view gets it all back; after a
// window reload (the host's memory gone) the serializer runs the evaluation again from the view's state.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { addCounts, emptyCounts } from '../../eval/accumulate';
import { finalizeReport } from '../../eval/finalize';
import { pairFolders } from '../../eval/files';
import { evaluatePairs } from '../../eval/runEval';
import { folderLabelIssues } from '../../eval/labelIssuesRun';
import type { EvalCounts, EvalOptions, EvalPair, EvalReport, ImageRecord, ImageResult } from '../../eval/types';
import type { LossOptions } from '../../kernel/types';
import type { DatasetImageRow, DatasetRunState, DatasetSummary, DatasetToHost, HostToDataset } from '../../protocol';
import { parseDatasetRequest, toDatasetRequest, toDatasetRow, toDatasetSummary } from './datasetMessages';
import { EvaluationPanel, evaluationWebviewOptions } from './evaluationPanel';
import { LossPanel, type HostServices } from '../panels/lossPanel';
import { log, messageOf } from '../log';
import { classNamesSetting } from '../settings';

export const DATASET_VIEW_TYPE = 'crossEntropyLens.dataset';

const titleOf = (predDir: string): string => `Dataset: ${path.basename(predDir)}`;

/** What one evaluation runs on. */
export interface DatasetRun {
  readonly predDir: string;
  readonly labelDir: string;
  readonly pairs: readonly EvalPair[];
  readonly unmatched: readonly string[];
  readonly options: EvalOptions;
}

/** How often completed rows and the running summary go to the view: often enough to look live, rarely enough
 * that 10,000 small images do not become 10,000 messages. */
const ROWS_EVERY_MS = 100;
const SUMMARY_EVERY_MS = 500;

export class DatasetPanel extends EvaluationPanel<HostToDataset, DatasetToHost> {
  private static readonly open = new Set<DatasetPanel>();
  private readonly rows: DatasetImageRow[] = [];
  private pending: DatasetImageRow[] = [];
  private summary: { summary: DatasetSummary; final: boolean } | null = null;
  private state: { state: DatasetRunState; message?: string; seconds?: number } = { state: 'running' };
  private done = 0;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private lastSummaryAt = 0;
  private readonly classNames = classNamesSetting();
  /** The final report (tests and the API read the numbers from here). */
  report: EvalReport | null = null;

  static create(services: HostServices, run: DatasetRun): DatasetPanel {
    const panel = vscode.window.createWebviewPanel(DATASET_VIEW_TYPE, titleOf(run.predDir), vscode.ViewColumn.Active, evaluationWebviewOptions(services));
    return new DatasetPanel(services, panel, run);
  }

  /**
   * The serializer's half of a window reload: the view's saved state holds the run's request (folders and
   * options; the page keeps its sort itself), and the evaluation runs again from it. Rows with their
   * thumbnails are not kept in the state: 10,000 images' worth would be hundreds of MB of JSON, and the
   * folders may have changed since. A state that is not a request closes the view.
   */
  static revive(services: HostServices, panel: vscode.WebviewPanel, state: unknown): DatasetPanel | null {
    const request = parseDatasetRequest((state as { host?: unknown } | null | undefined)?.host);
    if (!request) {
      panel.dispose();
      return null;
    }
    panel.webview.options = evaluationWebviewOptions(services);
    panel.title = titleOf(request.predDir);
    let pairing: { pairs: readonly EvalPair[]; unmatched: readonly string[] } = { pairs: [], unmatched: [] };
    let problem: string | null = null;
    try {
      pairing = pairFolders(request.predDir, request.labelDir);
      if (pairing.pairs.length === 0) problem = `no prediction in ${request.predDir} has a label of the same stem in ${request.labelDir} any more`;
    } catch (e) {
      problem = messageOf(e);
    }
    const p = new DatasetPanel(services, panel, { ...request, pairs: pairing.pairs, unmatched: pairing.unmatched });
    if (problem !== null) {
      p.setState('error', problem);
      return p;
    }
    // In the status bar, not as a notification: nobody asked for this run just now, and the view has Cancel.
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Cross-Entropy Lens: evaluating ${path.basename(request.predDir)}` }, () =>
      p.evaluate(services).catch(() => undefined),
    );
    return p;
  }

  static current(): DatasetPanel[] {
    return [...DatasetPanel.open];
  }

  static disposeAll(): void {
    for (const p of [...DatasetPanel.open]) p.panel.dispose();
  }

  private constructor(
    services: HostServices,
    panel: vscode.WebviewPanel,
    readonly run: DatasetRun,
  ) {
    super(services, panel, { bundle: 'dataset', title: 'Cross-Entropy Lens: Dataset', during: 'opening the dataset view' });
    DatasetPanel.open.add(this);
  }

  protected replay(): void {
    this.flushRows();
    this.post({ type: 'hostState', state: toDatasetRequest(this.run) });
    this.post({ type: 'start', predDir: this.run.predDir, labelDir: this.run.labelDir, total: this.run.pairs.length, classNames: this.classNames });
    if (this.rows.length > 0) this.post({ type: 'images', rows: this.rows });
    this.post({ type: 'progress', done: this.done, total: this.run.pairs.length });
    if (this.summary) this.post({ type: 'summary', ...this.summary });
    this.post({ type: 'state', ...this.state });
    if (this.labelIssues) this.post(this.labelIssues);
  }

  /** The last label-issues message (a reloaded view gets it again). */
  private labelIssues: HostToDataset & { type: 'labelIssues' } | null = null;
  /** Each image's reported pixels under the folder's cut-off (the panel opened on a row marks them). */
  private flagged: readonly Int32Array[] | null = null;
  /** The evaluated folder's classes (label issues need them). */
  private classes = 0;

  /** Find likely label errors: eval --label-issues' two passes over the evaluated folder, on the engine's pool. */
  private async findLabelIssues(): Promise<void> {
    if (this.state.state !== 'done' || this.classes === 0 || this.running) return;
    const ac = new AbortController();
    this.running = ac;
    this.labelIssues = { type: 'labelIssues', state: 'running' };
    this.post(this.labelIssues);
    try {
      const { pool } = this.services.engine().evalResources();
      const r = await folderLabelIssues(this.run.pairs, this.run.options, this.classes, pool, ac.signal);
      const rows = r.perImage.map((n, index) => ({ index, labelIssues: n, labelQuality: r.quality[index] ?? null }));
      this.labelIssues = { type: 'labelIssues', state: 'done', rows, count: r.count, examples: r.examples };
      this.flagged = r.flagged;
    } catch (e) {
      log().error(`Find likely label errors: ${messageOf(e)}`);
      this.labelIssues = { type: 'labelIssues', state: 'error', message: messageOf(e) };
    } finally {
      this.running = null;
    }
    this.post(this.labelIssues);
  }

  protected onMessage(m: DatasetToHost): void {
    switch (m.type) {
      case 'findLabelIssues':
        void this.findLabelIssues();
        return;
      case 'openImage': {
        const pair = this.run.pairs[m.index];
        if (!pair) return;
        const o = this.run.options;
        // The options of the evaluation, so the panel's value is this row's value (and the CLI's on the pair).
        const options: Partial<LossOptions> = { loss: 'ce', reduction: 'mean', inputKind: 'logits', ignoreIndex: o.ignoreIndex, labelSmoothing: o.labelSmoothing, classDim: o.classDim };
        // After Find likely label errors the panel opens in the label-errors mode, marking the pixels the
        // folder's cut-off reported in this image (its own cut-off would differ: pixels compete folder-wide).
        const flagged = this.flagged?.[m.index];
        const labelIssues = flagged ? { origin: `the folder ${path.basename(this.run.predDir)} (${this.run.pairs.length} images, pixels pooled)`, flagged: Array.from(flagged) } : undefined;
        LossPanel.show(this.services, { input: { kind: 'file', path: pair.prediction }, target: { kind: 'file', path: pair.label }, weight: null, options, ...(labelIssues ? { labelIssues } : {}) });
        return;
      }
    }
  }

  private flushRows(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.post({ type: 'images', rows });
    this.post({ type: 'progress', done: this.done, total: this.run.pairs.length });
  }

  private setState(state: DatasetRunState, message?: string, seconds?: number): void {
    this.state = { state, message, seconds };
    this.post({ type: 'state', ...this.state });
  }

  /**
   * Runs the evaluation, streaming rows to the view; resolves when it ends (done, cancelled or failed:
   * failures are shown in the view and rethrown).
   */
  async evaluate(services: HostServices, onProgress?: (done: number, total: number) => void): Promise<EvalReport | null> {
    const ac = new AbortController();
    this.running = ac;
    const { pairs, options } = this.run;
    const { pool, wasmPath } = services.engine().evalResources();
    const started = performance.now();
    // Own running totals for the partial summary (evaluatePairs keeps its own for the final one).
    let counts: EvalCounts | null = null;
    let classes = 0;
    const records: Array<ImageRecord | undefined> = new Array<ImageRecord | undefined>(pairs.length);
    const onImage = (r: ImageResult, index: number): void => {
      if (counts === null) {
        classes = r.classes;
        counts = emptyCounts(classes, options.bins);
      }
      if (r.classes === classes) addCounts(counts, r.counts);
      records[index] = r.record;
      this.done++;
      const row = toDatasetRow(r, index);
      this.rows.push(row);
      this.pending.push(row);
      this.flushTimer ??= setTimeout(() => this.flushRows(), ROWS_EVERY_MS);
      const now = performance.now();
      if (now - this.lastSummaryAt > SUMMARY_EVERY_MS && this.done < pairs.length) {
        this.lastSummaryAt = now;
        const sofar = records.filter((x): x is ImageRecord => x !== undefined);
        this.summary = { summary: toDatasetSummary(finalizeReport(counts, sofar, options, classes, this.run.unmatched)), final: false };
        this.post({ type: 'summary', ...this.summary });
      }
    };
    this.replay();
    try {
      // End-to-end tests pace the run (CEL_E2E_EVAL_PACE_MS) so that Cancel finds it still going.
      const pace = Number(process.env.CEL_E2E_EVAL_PACE_MS ?? 0);
      const beforeImage = pace > 0 ? () => new Promise<void>((r) => setTimeout(r, pace)) : undefined;
      const outcome = await evaluatePairs({ pairs, options, pool, wasmPath, signal: ac.signal, onImage, onProgress, beforeImage });
      this.flushRows();
      const report = finalizeReport(outcome.counts, outcome.records, options, outcome.classes, this.run.unmatched);
      this.report = report;
      this.classes = outcome.classes;
      this.summary = { summary: toDatasetSummary(report), final: true };
      this.post({ type: 'summary', ...this.summary });
      this.setState('done', undefined, (performance.now() - started) / 1000);
      return report;
    } catch (e) {
      this.flushRows();
      if (ac.signal.aborted) {
        this.setState('cancelled', `cancelled after ${this.done} of ${pairs.length} images`);
        return null;
      }
      log().error(`Evaluate Folder: ${messageOf(e)}`);
      this.setState('error', messageOf(e));
      throw e;
    } finally {
      this.running = null;
    }
  }

  protected onDispose(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    DatasetPanel.open.delete(this);
  }
}
