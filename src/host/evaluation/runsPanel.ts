// The runs view of Evaluate Checkpoints…: a webview over `runs LABEL_DIR RUN_DIR...` run on the engine's
// worker pool (src/eval/runs: each run evaluated as `eval` does, then the loss figures), so every figure it
// shows is the CLI's. The host keeps the last report so a reloaded view gets it back; after a window reload
// the serializer runs the evaluation again from the request in the view's state.
import * as vscode from 'vscode';
import { pairRunFolders } from '../../eval/files';
import { finalizeReport } from '../../eval/finalize';
import { evaluateRuns } from '../../eval/runs/evaluateRuns';
import { lossFiguresInWorker } from '../../eval/runs/figuresJob';
import { runsReport, type RunsReport } from '../../eval/runs/report';
import type { RunsPairing } from '../../eval/runs/pairing';
import type { EvalReport, LossThumbnail } from '../../eval/types';
import type { LossOptions } from '../../kernel/types';
import type { DatasetRunState, HostToRuns, RunsRequest, RunsToHost, RunsViewReport } from '../../protocol';
import { EvaluationPanel, evaluationWebviewOptions } from './evaluationPanel';
import { LossPanel, type HostServices } from '../panels/lossPanel';
import { log, messageOf } from '../log';
import { deltaThumbnail, deltaThumbnailMessages, parseRunsRequest, pooledFigures, toRunsView, type DeltaRow } from './runsMessages';
import { classNamesSetting } from '../settings';

export const RUNS_VIEW_TYPE = 'crossEntropyLens.runs';

const titleOf = (r: RunsRequest): string => `Runs: ${r.runs.map((x) => x.name).join(', ')}`;

/** Progress messages to the view at most this often (50 runs x 2,000 images would be 100,000 of them). */
const PROGRESS_EVERY_MS = 100;

export class RunsPanel extends EvaluationPanel<HostToRuns, RunsToHost> {
  private static readonly open = new Set<RunsPanel>();
  private state: { state: DatasetRunState; message?: string } = { state: 'running' };
  private progress: HostToRuns & { type: 'progress' } = { type: 'progress', run: 0, done: 0, total: 0 };
  private shown: { report: RunsViewReport; seconds: number } | null = null;
  /** Each run's pooled figures as the run completes (replayed until the report has them all). */
  private pooled: Array<HostToRuns & { type: 'runFigures' }> = [];
  private deltas: ReadonlyArray<HostToRuns & { type: 'deltaThumbnails' }> = [];
  private readonly classNames = classNamesSetting();
  /** The final report, exactly `runs --json`'s (tests and the API read the numbers from here). */
  report: RunsReport | null = null;

  static create(services: HostServices, request: RunsRequest, pairing: RunsPairing): RunsPanel {
    const panel = vscode.window.createWebviewPanel(RUNS_VIEW_TYPE, titleOf(request), vscode.ViewColumn.Active, evaluationWebviewOptions(services));
    return new RunsPanel(services, panel, request, pairing);
  }

  /** The serializer's half of a window reload: the evaluation runs again from the saved request. */
  static revive(services: HostServices, panel: vscode.WebviewPanel, state: unknown): RunsPanel | null {
    const request = parseRunsRequest((state as { host?: unknown } | null | undefined)?.host);
    if (!request) {
      panel.dispose();
      return null;
    }
    panel.webview.options = evaluationWebviewOptions(services);
    panel.title = titleOf(request);
    let pairing: RunsPairing = { stems: [], pairs: request.runs.map(() => []), unmatched: [], unreadable: [] };
    let problem: string | null = null;
    try {
      pairing = pairRunFolders(request.labelDir, request.runs);
      if (pairing.stems.length === 0) problem = `no image has a label in ${request.labelDir} and a prediction in every run any more`;
    } catch (e) {
      problem = messageOf(e);
    }
    const p = new RunsPanel(services, panel, request, pairing);
    if (problem !== null) {
      p.setState('error', problem);
      return p;
    }
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Cross-Entropy Lens: evaluating checkpoints' }, () => p.evaluate().catch(() => undefined));
    return p;
  }

  static current(): RunsPanel[] {
    return [...RunsPanel.open];
  }

  static disposeAll(): void {
    for (const p of [...RunsPanel.open]) p.panel.dispose();
  }

  private constructor(
    services: HostServices,
    panel: vscode.WebviewPanel,
    readonly request: RunsRequest,
    readonly pairing: RunsPairing,
  ) {
    super(services, panel, { bundle: 'runs', title: 'Cross-Entropy Lens: Runs', during: 'opening the runs view' });
    RunsPanel.open.add(this);
  }

  protected replay(): void {
    this.post({ type: 'hostState', state: this.request });
    this.post({ type: 'start', labelDir: this.request.labelDir, runs: this.request.runs.map((r) => r.name), images: this.pairing.stems.length, classNames: this.classNames });
    this.post(this.progress);
    if (this.shown) this.post({ type: 'report', ...this.shown });
    else for (const m of this.pooled) this.post(m);
    for (const m of this.deltas) this.post(m);
    this.post({ type: 'state', ...this.state });
  }

  protected onMessage(m: RunsToHost): void {
    switch (m.type) {
      case 'openImage':
        this.openImage(m.index);
        return;
    }
  }

  /**
   * The image in the loss panel: the last run compared with the first (delta map, per-class change), with
   * the run slider over every run's prediction, under the evaluation's options so each run's value there is
   * its per-image value here; with the report's percentiles for its "Hard in every run" mode.
   */
  private openImage(index: number): void {
    const pairs = this.pairing.pairs.map((p) => p[index]);
    if (pairs.some((p) => p === undefined)) return;
    const o = this.request.options;
    const options: Partial<LossOptions> = { loss: 'ce', reduction: 'mean', inputKind: 'logits', ignoreIndex: o.ignoreIndex, labelSmoothing: o.labelSmoothing, classDim: o.classDim };
    const last = pairs.length - 1;
    const percentiles = this.report?.runs.map((r) => r.p90);
    LossPanel.show(this.services, {
      input: { kind: 'file', path: pairs[last].prediction },
      baseline: { kind: 'file', path: pairs[0].prediction },
      target: { kind: 'file', path: pairs[0].label },
      weight: null,
      options,
      runs: {
        names: this.request.runs.map((r) => r.name), predictions: pairs.map((p) => p.prediction), index: last, base: 0,
        ...(percentiles ? { percentiles, options: { ignoreIndex: o.ignoreIndex, labelSmoothing: o.labelSmoothing, classDim: o.classDim } } : {}),
      },
    });
  }

  private setState(state: DatasetRunState, message?: string): void {
    this.state = { state, message };
    this.post({ type: 'state', ...this.state });
  }

  /**
   * Runs the evaluation (exactly runsCommand.ts's, on the extension's pool); resolves when it ends (done,
   * cancelled or failed: failures are shown in the view and rethrown).
   */
  async evaluate(onProgress?: (run: number, done: number, total: number) => void): Promise<RunsReport | null> {
    const ac = new AbortController();
    this.running = ac;
    const { pool, wasmPath } = this.services.engine().evalResources();
    const names = this.request.runs.map((r) => r.name);
    const started = performance.now();
    let lastPost = 0;
    // The first run's loss thumbnails (4 KB per image), until the last run's arrive to subtract them from.
    const R = this.pairing.pairs.length;
    const firstThumbs: Array<LossThumbnail | undefined> = new Array<LossThumbnail | undefined>(this.pairing.stems.length);
    const deltaRows: DeltaRow[] = [];
    const reports: EvalReport[] = [];
    this.replay();
    try {
      const outcome = await evaluateRuns({
        pairs: this.pairing.pairs, options: this.request.options, pool, wasmPath, signal: ac.signal,
        onImage: (run, result, index) => {
          if (run === 0) firstThumbs[index] = result.thumbnail;
          if (run !== R - 1) return;
          const d = deltaThumbnail(firstThumbs[index], result.thumbnail);
          firstThumbs[index] = undefined;
          if (d) deltaRows.push({ index, thumbnail: d });
        },
        onRun: (run, o) => {
          // O(classes + images) per run: milliseconds even for 2,000 images (see the runs view's tests).
          const report = finalizeReport(o.counts, o.records, this.request.options, o.classes, []);
          reports.push(report);
          const m = { type: 'runFigures', run, figures: pooledFigures(names[run], report) } as const;
          this.pooled.push(m);
          this.post(m);
        },
        onProgress: (run, done, total) => {
          this.progress = { type: 'progress', run, done, total };
          onProgress?.(run, done, total);
          const now = performance.now();
          if (now - lastPost > PROGRESS_EVERY_MS || done === total) {
            lastPost = now;
            this.post(this.progress);
          }
        },
      });
      const { spill } = outcome;
      let report: RunsReport;
      try {
        // Every run's losses read back twice: in a worker, the host thread only waits.
        const figures = await lossFiguresInWorker(pool, spill.layout(), outcome.histograms, ac.signal);
        report = runsReport(names, reports, figures, spill.pixels, this.pairing.unmatched, this.pairing.unreadable);
      } finally {
        spill.close();
      }
      this.report = report;
      const seconds = (performance.now() - started) / 1000;
      this.shown = { report: toRunsView(report), seconds };
      this.post({ type: 'report', ...this.shown });
      this.deltas = deltaThumbnailMessages(deltaRows);
      for (const m of this.deltas) this.post(m);
      this.setState('done');
      return report;
    } catch (e) {
      if (ac.signal.aborted) {
        this.setState('cancelled', 'cancelled');
        return null;
      }
      log().error(`Evaluate Checkpoints: ${messageOf(e)}`);
      this.setState('error', messageOf(e));
      throw e;
    } finally {
      this.running = null;
    }
  }

  protected onDispose(): void {
    RunsPanel.open.delete(this);
  }
}
