// The loss panel: a webview that shows one computed loss. The host computes through the engine (worker
// threads) and sends the view a summary and the selected sample's maps; options changed in the view
// recompute. State survives hide/show (retainContextWhenHidden is off; the view restores from its own
// state) and window reload (the serializer recomputes from the saved request).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { setWebviewPage } from './webviewPage';
import { forView } from '../../sampleWire';
import { mapPreview } from '../../mapPreview';
import { SampleSender } from '../../sampleSender';
import { panelSampleSource } from './panelSample';
import type { LossOptions } from '../../kernel/types';
import { ignoreIndexFix } from '../../kernel/labelFix';
import { resolveOptions } from '../../kernel/options';
import { toViewSummary, type ConfidenceMaps, type DebugContext, type ErrorFix, type HostToView, type SampleMaps, type ViewHardPixels, type ViewLabelIssues, type ViewSummary, type ViewToHost } from '../../protocol';
import { splitMemberSpec } from '../../tensor/load';
import type { Tensor } from '../../tensor/tensor';
import type { Engine, EngineRequest, TensorSource } from '../../worker/engine/engine';
import type { FirstSampleMaps } from '../../worker/engine/engineTypes';
import { hasMaps, wholeLossMap } from '../../worker/engine/resultMaps';
import { LossSession } from '../../worker/engine/session';
import { log, messageOf, showError } from '../log';
import { showInformationMessage } from '../notify';
import { autoRecomputeSetting, classColorsSetting, classNamesSetting, colormapSetting, lossOptionsFromSettings, vocabularySetting } from '../settings';
import { classColorsFor } from './classColors';
import { findImageFor, imageMime, MAX_IMAGE_BYTES } from './imageFor';
import { photoProblem } from '../../tensor/image/imageHeader';
import { readSmallRegularFile } from '../../worker/files/regularFile';
import type { Vocabulary } from '../../tensor/text/vocab';
import { resolveVocabularyPath, type VocabularyChoice } from './vocabularyPath';
import { VocabularyCache } from './vocabularyCache';
import { saveExport, type ExportKind } from './exportFile';
import { classNamesFor } from '../pick/tensorFiles';
import { classMapsRefusal, pTargetFromLoss, pTargetPlan } from './sampleProbs';
import { compareTitle, PanelComparison } from './comparePanel';
import { pickInputLike } from '../pick/comparePick';
import type { FileIdentity } from '../../worker/files/regularFile';
import type { RunsLossOptions } from '../../eval/runs/imageHard';
import { PanelHardPixels } from './runsHard';

export const PANEL_VIEW_TYPE = 'crossEntropyLens.panel';

/** A vocabulary as read for a request: the parsed file and where it came from, or why none was read. */
interface VocabularyRead {
  readonly vocab: Vocabulary | null;
  readonly where: string;
  readonly error: string | null;
}

/**
 * A tensor as the panel remembers it: a file spec, or an inline tensor (from a selection or a hover). Inline
 * data stays the typed array it was parsed into: converting millions of values to a plain array and back
 * would hold the extension host thread.
 */
export type SourceSpec =
  /** With `pin`, only the very file a check looked at (a notebook reference: see FileIdentity). */
  | { readonly kind: 'file'; readonly path: string; readonly pin?: FileIdentity; readonly label?: string }
  | { readonly kind: 'inline'; readonly label: string; readonly dtype: Tensor['dtype']; readonly shape: readonly number[]; readonly data: ArrayLike<number> };

/** An inline source over a tensor's own typed data (no copy). */
export function inlineSource(t: Tensor, label: string): SourceSpec & { kind: 'inline' } {
  return { kind: 'inline', label, dtype: t.dtype, shape: t.shape, data: t.data as ArrayLike<number> };
}

export interface PanelRequest {
  readonly input: SourceSpec;
  readonly target: SourceSpec;
  readonly weight: SourceSpec | null;
  /** binary_cross_entropy_with_logits's pos_weight (a call explained from a debug session). */
  readonly posWeight?: SourceSpec | null;
  /** Values read from a debug session (temporary files): the panel is not restored after a reload. */
  readonly fromDebug?: true;
  /** Options set in the panel; settings fill the rest. */
  readonly options: Partial<LossOptions>;
  /** options.classDim is -1 because only that fits the shapes (the summary says so while it stays -1). */
  readonly classLastFromShapes?: boolean;
  /** Compare Losses…: run A's input; the panel shows `input` as run B with B - A (absent: one run). */
  readonly baseline?: SourceSpec | null;
  /**
   * The photo to draw over, given by the caller (a notebook output's display(..., image=...)): a checked file,
   * or bytes as base64 (the request is kept in the webview's state, which holds JSON). Choose image… wins.
   */
  readonly image?: PanelImage;
  /**
   * Likely label errors found over a whole folder (the dataset view's Find likely label errors): this image's
   * reported positions under the folder's cut-off. The panel opens in the label-errors mode; options changed
   * in the panel drop them (the panel then finds this pair's own).
   */
  readonly labelIssues?: { readonly origin: string; readonly flagged: readonly number[] };
  /**
   * An image opened from the runs view: every run's prediction of it, in run order, for the run slider;
   * `input` is predictions[index], `baseline` predictions[base] (absent: the first run's).
   */
  readonly runs?: PanelRuns;
}

export interface PanelRuns {
  readonly names: readonly string[];
  readonly predictions: readonly string[];
  readonly index: number;
  readonly base?: number;
  /**
   * The runs report's p90 per run and the evaluation's options, for "Hard in every run": fixed when the
   * panel opens, so options changed in the panel do not change which pixels the runs found hard.
   */
  readonly percentiles?: ReadonlyArray<number | null>;
  readonly options?: RunsLossOptions;
}

export type PanelImage =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'inline'; readonly name: string; readonly mime: 'image/png' | 'image/jpeg'; readonly base64: string };

/** A panel opened before its request is known (LossPanel.openEarly). */
export interface EarlyPanel {
  /** Names the panel after the input once it is chosen. */
  retitle(input: SourceSpec): void;
  /** The panel and the colormap its page has, for show(); null once the user has closed it. */
  adopt(): { readonly panel: vscode.WebviewPanel; readonly colormap: string; readonly pageGetsQueued: boolean } | null;
  dispose(): void;
}

/**
 * What a panel opened from a debug session adds (src/debug/debugPanel.ts): the debug section's context, the
 * view's debug messages, and the end of the panel (its temporary files are deleted then).
 */
export interface PanelAttachment {
  debugContext(): DebugContext | null;
  onViewMessage(m: ViewToHost & { type: 'followStops' | 'copyText' }): void;
  /** Each computation's outcome: the reduced value, or the error shown. */
  onResult(value: number | null, error: string | null): void;
  onDispose(): void;
}

export interface HostServices {
  readonly extensionUri: vscode.Uri;
  engine(): Engine;
}

function toSource(s: SourceSpec): TensorSource {
  if (s.kind === 'file') return { kind: 'file', path: s.path, pin: s.pin };
  const float = s.dtype.startsWith('float');
  const data = float ? (s.data instanceof Float64Array ? s.data : Float64Array.from(s.data)) : s.data instanceof Int32Array ? s.data : Int32Array.from(s.data);
  return { kind: 'tensor', tensor: { dtype: s.dtype.startsWith('float') ? 'float64' : s.dtype, shape: s.shape, data }, label: s.label };
}

function labelOf(s: SourceSpec): string {
  // A debug value's file is a temporary one: it is shown by the expression it was read from.
  return s.kind === 'file' ? s.label ?? vscode.workspace.asRelativePath(s.path, false) : s.label;
}

function keyOf(r: PanelRequest): string {
  return JSON.stringify([r.input, r.target, r.baseline ?? null]);
}

function titleOf(r: PanelRequest): string {
  // An image from the runs view: its stem and the two runs compared (the files share one name).
  if (r.runs && r.input.kind === 'file') return `${path.basename(r.input.path).replace(/\.[^.]*$/, '')}: ${r.runs.names[r.runs.base ?? 0]} vs ${r.runs.names[r.runs.index]}`;
  return r.baseline ? compareTitle(labelOf(r.baseline), labelOf(r.input)) : `Loss: ${path.basename(labelOf(r.input))}`;
}

/**
 * A long computation gets a notification with Cancel after this long. The panel shows its own progress bar
 * from the start; a notification that flashes up for a sub-second computation only costs the workbench the
 * rendering of it (and the first paint its time) and says nothing the panel does not.
 */
const NOTIFY_AFTER_MS = 1000;

export class LossPanel {
  private static readonly open = new Map<string, LossPanel>();
  private session: LossSession | null = null;
  /** Compare Losses…: run A against this session's run B (null outside a comparison). */
  private comparison: PanelComparison | null = null;
  private running: AbortController | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private lastError: string | null = null;
  private lastFix: ErrorFix | null = null;
  /** For the test API: the last summary posted to the view, and the colormap its HTML was given. */
  private lastSummary: ViewSummary | null = null;
  private htmlColormap = '';
  private lastSeconds = 0;
  private watchTimer: ReturnType<typeof setTimeout> | undefined;
  /** Where the session's vocabulary came from, or why none was read (for the token view's note). */
  private vocabWhere = '';
  private vocabError: string | null = null;
  /**
   * The webview's page is loading and keeps what is posted until it runs (true from setting its HTML until
   * its first 'ready'); a page that was hidden is gone (retainContextWhenHidden is off), and the next one
   * starts empty.
   */
  private pageGetsQueued: boolean;
  /** Counts the pages the view has had: a hidden page is gone with what it was sent. */
  private page = 0;
  /** The view has had no summary yet, and starts at sample 0 (not a revived panel). */
  private fresh: boolean;
  /** The overlay image picked with Choose image… (else one found by stem beside the input or target). */
  private chosenImage: string | null = null;
  private readonly attachment: PanelAttachment | null;
  /** Likely label errors of the session on screen (null: not asked for since it was computed). */
  private issues: ViewLabelIssues | null = null;
  private issuesRun: AbortController | null = null;
  /** The request came with a folder's label errors that the view has not been told to show yet. */
  private showIssues = false;
  /** An image from the runs view: its pixels hard in every run (computed once, whatever run is shown). */
  private readonly hardPixels: PanelHardPixels;

  /**
   * Opens a panel while the user still picks its files (Compute Loss… from the palette), so its webview
   * loads during the pick instead of after it (about a second in code-server). Nothing else happens until
   * show() adopts it; the caller disposes it when the pick is given up.
   */
  static openEarly(services: HostServices): EarlyPanel {
    const panel = LossPanel.createPanel(services, true);
    const colormap = colormapSetting();
    void LossPanel.setPage(services, panel, colormap);
    let disposed = false;
    // What is posted after adoption reaches the page as it loads only if it has not loaded yet (its first
    // 'ready' unseen) and has not been hidden (which drops it).
    let pageGetsQueued = true;
    const watching = [
      panel.onDidDispose(() => (disposed = true)),
      panel.onDidChangeViewState((e) => {
        if (!e.webviewPanel.visible) pageGetsQueued = false;
      }),
      panel.webview.onDidReceiveMessage((m: ViewToHost) => {
        if (m?.type === 'ready') pageGetsQueued = false;
      }),
    ];
    const stop = (): void => watching.forEach((d) => d.dispose());
    return {
      retitle: (input) => {
        if (!disposed) panel.title = `Loss: ${path.basename(labelOf(input))}`;
      },
      adopt: () => {
        stop();
        return disposed ? null : { panel, colormap, pageGetsQueued };
      },
      dispose: () => {
        stop();
        panel.dispose();
      },
    };
  }

  /** Shows the request's panel: an open one for the same tensors, else `early`'s, else a new one. */
  static show(services: HostServices, request: PanelRequest, early?: EarlyPanel, attachment?: PanelAttachment): LossPanel {
    const existing = attachment ? undefined : LossPanel.open.get(keyOf(request));
    if (existing) {
      early?.dispose();
      existing.panel.reveal();
      existing.request = request;
      existing.showIssues = request.labelIssues !== undefined;
      void existing.compute();
      return existing;
    }
    const loaded = early?.adopt();
    if (loaded) {
      loaded.panel.reveal(undefined, false);
      return new LossPanel(services, loaded.panel, request, { loadedColormap: loaded.colormap, pageGetsQueued: loaded.pageGetsQueued, attachment });
    }
    return new LossPanel(services, LossPanel.createPanel(services, false), request, { attachment });
  }

  private static createPanel(services: HostServices, preserveFocus: boolean): vscode.WebviewPanel {
    return vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'Cross-Entropy Loss', { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, LossPanel.webviewOptions(services));
  }

  private static webviewOptions(services: HostServices): vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(services.extensionUri, 'dist'), vscode.Uri.joinPath(services.extensionUri, 'media')] };
  }

  static revive(services: HostServices, panel: vscode.WebviewPanel, state: unknown): LossPanel | null {
    const request = (state as { host?: PanelRequest } | undefined)?.host;
    // A debug panel's values were temporary files of a session that is over.
    if (!request || !request.input || !request.target || request.fromDebug) {
      panel.dispose();
      return null;
    }
    panel.webview.options = LossPanel.webviewOptions(services);
    // A restored view may show another sample than 0, so no early maps for it.
    return new LossPanel(services, panel, request, { fresh: false });
  }

  static disposeAll(): void {
    for (const p of [...LossPanel.open.values()]) p.panel.dispose();
  }

  /** For tests and commands: the panels open now. */
  static current(): LossPanel[] {
    return [...LossPanel.open.values()];
  }

  private constructor(
    private readonly services: HostServices,
    readonly panel: vscode.WebviewPanel,
    private request: PanelRequest,
    opts: {
      /** The colormap of a webview whose page is loaded already (an early panel); absent: load the page now. */
      readonly loadedColormap?: string;
      /** False for a revived panel (see `fresh`). */
      readonly fresh?: boolean;
      /** An early panel's page still keeps what is posted for when it runs (see EarlyPanel.adopt). */
      readonly pageGetsQueued?: boolean;
      readonly attachment?: PanelAttachment;
    } = {},
  ) {
    this.attachment = opts.attachment ?? null;
    this.hardPixels = new PanelHardPixels(services);
    this.fresh = opts.fresh ?? true;
    this.showIssues = request.labelIssues !== undefined;
    this.pageGetsQueued = opts.pageGetsQueued ?? true;
    LossPanel.open.set(keyOf(request), this);
    panel.title = titleOf(request);
    this.htmlColormap = opts.loadedColormap ?? colormapSetting();
    if (opts.loadedColormap === undefined) void LossPanel.setPage(services, panel, this.htmlColormap);
    this.disposables.push(
      panel.onDidChangeViewState((e) => {
        if (e.webviewPanel.visible) return;
        this.pageGetsQueued = false;
        this.page++;
      }),
      panel.webview.onDidReceiveMessage((m: ViewToHost) => void this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
    );
    if (!this.attachment) this.watch();
    this.postDebug();
    void this.compute();
  }

  /** Sends the view the debug section's context (a panel from a debug session; others have none). */
  postDebug(): void {
    if (this.attachment) void this.post({ type: 'debug', debug: this.attachment.debugContext() });
  }

  /** The request shown now, with the options and weights set in the panel since it opened. */
  get requestNow(): PanelRequest {
    return this.request;
  }

  /**
   * Computes another request in this panel (a debug panel following its breakpoint: new values each stop);
   * resolves with the value shown, or the error.
   */
  async replaceRequest(request: PanelRequest): Promise<{ readonly value: number | null; readonly error: string | null }> {
    LossPanel.open.delete(keyOf(this.request));
    this.request = request;
    LossPanel.open.set(keyOf(request), this);
    this.panel.title = titleOf(request);
    await this.compute();
    return { value: this.lastError === null ? this.session?.result.value ?? null : null, error: this.lastError };
  }

  /** What the view was last sent to show (tests read it through the API of activate()). */
  get shownSummary(): ViewSummary | null {
    return this.lastSummary;
  }

  /** The colormap the view starts with (setting crossEntropyLens.colormap when the panel was made). */
  get colormap(): string {
    return this.htmlColormap;
  }

  get lastErrorMessage(): string | null {
    return this.lastError;
  }

  get result(): LossSession['result'] | null {
    return this.session?.result ?? null;
  }

  /** Loads the view's page (the colormap setting is its starting colormap). */
  private static setPage(services: HostServices, panel: vscode.WebviewPanel, colormap: string): Promise<void> {
    const dist = vscode.Uri.joinPath(services.extensionUri, 'dist');
    return setWebviewPage(panel.webview, { script: vscode.Uri.joinPath(dist, 'panel.js').fsPath, css: vscode.Uri.joinPath(dist, 'view.css').fsPath },
      { title: 'Cross-Entropy Loss', rootData: { 'data-colormap': colormap } }, 'opening the loss panel');
  }

  /** Posts to the view; settles once the workbench has taken the message (false or rejected: not delivered). */
  private async post(msg: HostToView): Promise<void> {
    if (msg.type === 'summary') this.lastSummary = msg.summary;
    try {
      await this.panel.webview.postMessage(forView(msg));
    } catch {
      // a disposed panel: nothing is waiting for it
    }
  }

  private engineRequest(): EngineRequest {
    const r = this.request;
    const scope = r.input.kind === 'file' ? vscode.Uri.file(r.input.path) : undefined;
    return {
      input: toSource(r.input),
      target: toSource(r.target),
      weight: r.weight ? toSource(r.weight) : null,
      ...(r.posWeight ? { posWeight: toSource(r.posWeight) } : {}),
      options: { ...lossOptionsFromSettings(scope), ...r.options },
      topK: 20,
    };
  }

  /** (Re)computes, with a progress notification and Cancel for anything longer than 300 ms. */
  async compute(): Promise<void> {
    this.running?.abort();
    const ac = new AbortController();
    this.running = ac;
    this.lastError = null;
    this.lastFix = null;
    this.issuesRun?.abort();
    this.issues = null;
    this.post({ type: 'hostState', state: this.request });
    let reportFraction: ((f: number) => void) | null = null;
    let lastFraction = 0;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const notify = setTimeout(() => {
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Cross-Entropy Lens: computing loss', cancellable: true },
        (progress, token) => {
          token.onCancellationRequested(() => ac.abort());
          let reported = lastFraction;
          progress.report({ increment: reported * 100 });
          reportFraction = (f) => {
            progress.report({ increment: (f - reported) * 100 });
            reported = f;
          };
          return done;
        },
      );
    }, NOTIFY_AFTER_MS);
    const started = performance.now();
    log().info(`computing ${labelOf(this.request.input)} vs ${labelOf(this.request.target)}`);
    try {
      const req = this.engineRequest();
      // A new panel's view shows sample 0 first: its maps go as soon as they exist, while the rest of the
      // batch computes, and the view paints them with the summary (not for a comparison: they need run A).
      let firstSentTo: number | null = null;
      const onFirstSample = this.fresh && !this.request.baseline
        ? (m: FirstSampleMaps): void => {
          if (ac.signal.aborted) return;
          firstSentTo = this.page;
          // The picture first, in a fifth of the maps' bytes (see MapPreview), then the maps it comes from.
          const preview = mapPreview(m, 0);
          if (preview) void this.post({ type: 'preview', preview });
          void this.post({ type: 'sample', maps: { n: 0, ...m, pTarget: null, pending: true } });
        }
        : undefined;
      const vocabulary = this.readVocabulary();
      const session = await LossSession.open(this.services.engine(), req, {
        signal: ac.signal,
        onProgress: (f) => {
          lastFraction = f;
          reportFraction?.(f);
          void this.post({ type: 'progress', fraction: f, message: 'computing' });
        },
        onFirstSample,
      });
      if (ac.signal.aborted) return;
      session.detailConfidence = this.probsPlan(session) === 'worker';
      this.applyVocabulary(session, await vocabulary);
      if (ac.signal.aborted) return;
      const base = this.request.baseline;
      const comparison = base ? await PanelComparison.compute(this.services.engine(), req, session, toSource(base), { a: labelOf(base), b: labelOf(this.request.input) }, ac.signal) : null;
      if (ac.signal.aborted) return;
      this.lastSeconds = (performance.now() - started) / 1000;
      log().info(`computed ${labelOf(this.request.input)} vs ${labelOf(this.request.target)} in ${this.lastSeconds.toFixed(3)} s`);
      const summary = await this.summary(session, this.lastSeconds, comparison);
      if (ac.signal.aborted) return;
      // The new result answers the view's requests only from its summary on: until then the view shows the
      // previous one, and a hover's details or confidence maps from the new result would be drawn over it.
      this.session = session;
      this.comparison = comparison;
      // The early maps count only while the page they went to is still the view's.
      const earlySample = firstSentTo === this.page;
      void this.post({ type: 'summary', summary, earlySample });
      this.attachment?.onResult(session.result.value, null);
      this.fresh = false;
      await this.sendSample(0, earlySample);
      await this.sendImage();
      if (this.request.labelIssues) this.folderIssues(session, this.request.labelIssues);
    } catch (e) {
      if (this.running !== ac) return; // superseded by a newer computation
      const msg = messageOf(e);
      this.lastError = msg;
      const fix = await this.tryFix(msg, ac.signal);
      if (this.running !== ac) return;
      this.lastFix = fix;
      this.post(fix === null ? { type: 'error', message: msg } : { type: 'error', message: msg, fix });
      this.attachment?.onResult(null, msg);
      // Not awaited: the notification stays until the user dismisses it, and the computation is over now.
      void showError(e, `computing ${labelOf(this.request.input)} vs ${labelOf(this.request.target)}`);
    } finally {
      clearTimeout(notify);
      finish();
      if (this.running === ac) this.running = null;
    }
  }

  /** Vocabularies parsed in a worker, shared by every panel (src/host/panels/vocabularyCache.ts). */
  private static vocabularies: VocabularyCache | null = null;

  private static vocabularyCache(services: HostServices): VocabularyCache {
    LossPanel.vocabularies ??= new VocabularyCache((p) => LossSession.readVocabulary(services.engine(), p));
    return LossPanel.vocabularies;
  }

  /**
   * The token view's vocabulary for an input: the setting crossEntropyLens.vocabulary, else one beside the
   * input (null: none).
   */
  private static async vocabularyChoice(input: SourceSpec): Promise<VocabularyChoice | null> {
    const file = input.kind === 'file' ? input.path : null;
    const scope = file ? vscode.Uri.file(splitMemberSpec(file).path) : undefined;
    const folder = (scope ? vscode.workspace.getWorkspaceFolder(scope) : undefined) ?? vscode.workspace.workspaceFolders?.[0];
    return resolveVocabularyPath(vocabularySetting(scope), folder?.uri.fsPath ?? null, file);
  }

  /**
   * Starts reading the input's vocabulary, if it has one, while the rest of the request is picked: a
   * tokenizer.json of a few MB then is parsed by the time the loss is. Never fails.
   */
  static prefetchVocabulary(services: HostServices, input: SourceSpec): void {
    LossPanel.vocabularyChoice(input).then((choice) => {
      if (choice) LossPanel.vocabularyCache(services).prefetch(choice.path);
    }, () => undefined);
  }

  /**
   * The token view's vocabulary for the request on screen, read and parsed in a worker (once: see
   * vocabularyCache.ts); started with the computation, so the two overlap. Never rejects: a vocabulary that
   * cannot be read is a note in the view, never a failed computation.
   */
  private async readVocabulary(): Promise<VocabularyRead> {
    try {
      const choice = await LossPanel.vocabularyChoice(this.request.input);
      if (!choice) return { vocab: null, where: '', error: null };
      const vocab = await LossPanel.vocabularyCache(this.services).get(choice.path);
      return { vocab, where: `${choice.from}: ${vscode.workspace.asRelativePath(choice.path, false)}`, error: null };
    } catch (e) {
      return { vocab: null, where: '', error: messageOf(e) };
    }
  }

  /** Gives the session its vocabulary when the token view can show the result (cross-entropy, class-index targets, loss [B, T] or [T]). */
  private applyVocabulary(session: LossSession, read: VocabularyRead): void {
    const r = session.result;
    const usable = r.options.loss === 'ce' && r.targetKind === 'index' && r.lossShape.length >= 1 && r.lossShape.length <= 2;
    this.vocabWhere = usable ? read.where : '';
    this.vocabError = usable ? read.error : null;
    if (this.vocabError !== null) log().warn(`vocabulary not read: ${this.vocabError}`);
    if (usable) session.vocabulary = read.vocab;
  }

  /**
   * A fix worth offering for an error: ignoring the out-of-range label it names, when computing again with
   * that label ignored succeeds (so every label outside [0, C) was that one value). Never applied here.
   */
  private async tryFix(message: string, signal: AbortSignal): Promise<ErrorFix | null> {
    // Any failure here (options that do not resolve: the error being explained may be theirs) means no fix.
    try {
      const req = this.engineRequest();
      const fix = ignoreIndexFix(message, resolveOptions(req.options));
      if (fix === null) return null;
      await LossSession.open(this.services.engine(), { ...req, options: { ...req.options, ...fix.options } }, { signal });
      return signal.aborted ? null : fix;
    } catch {
      return null;
    }
  }

  private async summary(s: LossSession, seconds: number, comparison: PanelComparison | null): Promise<ViewSummary> {
    const r = s.result;
    const names = await classNamesFor(this.request.input.kind === 'file' ? this.request.input.path : null, classNamesSetting());
    const weight = this.request.weight ? Array.from((await this.weightValues()) ?? []) : null;
    const base = toViewSummary(r, {
      title: `${labelOf(this.request.input)} vs ${labelOf(this.request.target)}`,
      input: { label: labelOf(this.request.input), shape: r.input.shape, dtype: r.input.dtype },
      target: { label: labelOf(this.request.target), shape: r.target.shape, dtype: r.target.dtype },
      weight,
      classNames: names,
      seconds,
      engine: `${r.engine}, ${r.workers} worker${r.workers === 1 ? '' : 's'}${r.streamed ? ', streamed' : ''}`,
      mapsAvailable: hasMaps(r),
      ...(this.request.classLastFromShapes === true ? { classLastFromShapes: true } : {}),
    });
    const classColors = await classColorsFor(this.request.input.kind === 'file' ? this.request.input.path : null, classColorsSetting());
    const r0 = this.request.runs;
    const runs = r0 ? { runs: { names: [...r0.names], index: r0.index, base: r0.base ?? 0 } } : {};
    return { ...base, tokens: this.tokens(s), ...(classColors.length ? { classColors } : {}), ...(comparison ? { compare: comparison.summary } : {}), ...runs };
  }

  private tokens(s: LossSession): ViewSummary['tokens'] {
    if (this.vocabError !== null) return { vocabulary: null, note: `The vocabulary was not read (${this.vocabError}): token ids are shown.` };
    return s.tokenSummary(this.vocabWhere);
  }

  private async weightValues(): Promise<ArrayLike<number> | null> {
    const w = this.request.weight;
    if (!w) return null;
    if (w.kind === 'inline') return w.data;
    const src = toSource(w);
    return src.kind === 'tensor' ? src.tensor.data : null;
  }

  private readonly samples = new SampleSender((msg) => this.post(msg));

  /** How p(target) (and the confidence maps with it) are had for this session's samples (see pTargetPlan). */
  private probsPlan(s: LossSession): ReturnType<typeof pTargetPlan> {
    const r = s.result;
    return pTargetPlan({ options: r.options, targetKind: r.targetKind, geometry: s.geometry, inputShape: r.input.shape, hasWeight: this.request.weight !== null });
  }

  /** quickSent: the view has this sample's loss, prediction and target maps already (sent during the computation). */
  private async sendSample(n: number, quickSent = false): Promise<void> {
    const s = this.session;
    // An empty loss map (batch or spatial size 0) has no sample to draw: the summary says so alone.
    if (!s || !hasMaps(s.result) || s.result.stats.elementCount === 0) return;
    // p(target) from the worker's probability job only while the input values it needs are few: for the
    // strip of an (N, C) input or a class-last [B, T, V] they are the whole input, read on this thread
    // (see sampleProbs.ts); above that, exp(-loss) where the loss determines it, else none.
    const plan = this.probsPlan(s);
    // A comparison's maps carry B - A for the sample (lossPanel's only part in it: comparePanel.ts).
    const withDelta = (m: SampleMaps): SampleMaps => (this.comparison ? this.comparison.withDelta(m) : m);
    if (plan === 'worker') {
      // Paint first: the loss, prediction and target maps exist now (or take one job: maps on demand);
      // p(target) and the confidence maps need the sample's input values and a worker job, and follow
      // (dropped if another sample was asked for).
      await this.samples.send(n, panelSampleSource(s, n, withDelta, quickSent), () => this.session === s);
      return;
    }
    const maps = await s.sampleMaps(n);
    if (this.session !== s) return;
    // Confidence maps need the sample's input values, over the limit here like p(target): none.
    await this.post({ type: 'sample', maps: withDelta({ ...maps, pTarget: plan === 'fromLoss' ? pTargetFromLoss(maps, s.geometry.C) : null, confidence: null }) });
  }

  private async onMessage(m: ViewToHost): Promise<void> {
    try {
      switch (m.type) {
        case 'ready':
          // A shown-again view restores itself from the host: the latest outcome, error or result. Not on a
          // page's first 'ready': what was posted while it loaded is delivered to it, and sending the result
          // again would double the largest messages.
          if (!this.pageGetsQueued) {
            if (this.lastError) this.post(this.lastFix === null ? { type: 'error', message: this.lastError } : { type: 'error', message: this.lastError, fix: this.lastFix });
            else if (this.session) {
              this.post({ type: 'summary', summary: await this.summary(this.session, this.lastSeconds, this.comparison) });
              await this.sendSample(0);
              await this.sendImage();
              if (this.issues) this.post({ type: 'labelIssues', issues: this.issues });
            }
          }
          this.pageGetsQueued = false;
          this.post({ type: 'hostState', state: this.request });
          this.postDebug();
          return;
        case 'setOptions': {
          const weight: SourceSpec | null | undefined =
            m.weight === undefined ? this.request.weight : m.weight === null ? null : { kind: 'inline', label: 'weights', dtype: 'float64', shape: [m.weight.length], data: [...m.weight] };
          // A folder's label errors hold for the folder's options only.
          const { labelIssues: _folder, ...rest } = this.request;
          this.request = { ...rest, options: { ...this.request.options, ...m.options }, weight };
          await this.compute();
          return;
        }
        case 'selectSample':
          await this.sendSample(m.n);
          return;
        case 'requestClassMaps': {
          const s = this.session;
          if (!s) return;
          const refused = classMapsRefusal({ options: s.result.options, geometry: s.geometry, inputShape: s.result.input.shape });
          if (refused !== null) {
            this.post({ type: 'note', message: refused });
            return;
          }
          this.post({ type: 'classMaps', maps: await s.classMaps(m.n) });
          return;
        }
        case 'requestConfidence': {
          // Only where the sample's maps came with confidenceOnRequest: a job over few input values.
          const s = this.session;
          if (!s || this.probsPlan(s) !== 'worker') return;
          let confidence: ConfidenceMaps | null = null;
          try {
            confidence = await s.sampleConfidence(m.n);
          } finally {
            // Null (a failed job) tells the view none are coming; the error itself is shown as any other.
            if (this.session === s) this.post({ type: 'confidence', n: m.n, confidence });
          }
          return;
        }
        case 'explain':
          if (this.session) this.post({ type: 'detail', detail: await this.session.explain(m.n, m.index) });
          return;
        case 'tokenDetails':
          if (this.session) this.post({ type: 'tokenDetails', details: await this.session.tokenDetails(m.row) });
          return;
        case 'export':
          await this.export(m.kind, m.data);
          return;
        case 'openInPanel':
          return;
        case 'chooseImage':
          await this.chooseImage();
          return;
        case 'compareWith':
          await this.compareWith();
          return;
        case 'selectRun':
          await this.selectRun(m.index);
          return;
        case 'selectBaseRun':
          await this.selectBaseRun(m.index);
          return;
        case 'findHardPixels':
          await this.findHardPixels();
          return;
        case 'followStops':
        case 'copyText':
          this.attachment?.onViewMessage(m);
          return;
        case 'findLabelIssues':
          await this.findLabelIssues();
          return;
      }
    } catch (e) {
      log().warn(`panel request ${m.type} failed: ${messageOf(e)}`);
      if (m.type === 'explain') this.post({ type: 'note', message: `no breakdown: ${messageOf(e)}` });
      else if (m.type === 'tokenDetails') this.post({ type: 'note', message: `no token details: ${messageOf(e)}` });
      else void showError(e, `panel ${m.type}`);
    }
  }

  /** The view's label issues from a folder's cut-off (sent with the result; the first time, shown). */
  private folderIssues(session: LossSession, given: NonNullable<PanelRequest['labelIssues']>): void {
    try {
      this.issues = session.labelIssuesAt(Int32Array.from(given.flagged), given.origin, this.showIssues);
    } catch (e) {
      this.issues = { state: 'error', message: messageOf(e) };
    }
    this.showIssues = false;
    void this.post({ type: 'labelIssues', issues: this.issues });
  }

  /** The label-errors mode asked for this pair's likely label errors: found in a worker, once per result. */
  private async findLabelIssues(): Promise<void> {
    const s = this.session;
    if (!s) return;
    if (this.request.labelIssues) return this.folderIssues(s, this.request.labelIssues);
    if (this.issues && this.issues.state !== 'error') {
      void this.post({ type: 'labelIssues', issues: this.issues });
      return;
    }
    const ac = new AbortController();
    this.issuesRun = ac;
    this.issues = { state: 'running' };
    void this.post({ type: 'labelIssues', issues: this.issues });
    let issues: ViewLabelIssues;
    try {
      issues = await s.labelIssues(`thresholds and cut-off from this ${s.result.lossShape.length >= 2 ? 'batch' : 'input'}'s own labels`, ac.signal);
    } catch (e) {
      issues = { state: 'error', message: messageOf(e) };
    }
    if (ac.signal.aborted || this.session !== s) return;
    this.issues = issues;
    void this.post({ type: 'labelIssues', issues });
  }

  /**
   * Compare with…: another input (this one's shape first) becomes run B, this one run A; the panel shows B
   * with B - A from then on (same target, weight and options).
   */
  private async compareWith(): Promise<void> {
    const current = this.request.input;
    const shape = this.session?.result.input.shape ?? (current.kind === 'inline' ? current.shape : []);
    const picked = await pickInputLike(`Cross-Entropy Lens: compare ${path.basename(labelOf(current))} with…`, { name: path.basename(labelOf(current)), shape, spec: current.kind === 'file' ? current.path : undefined });
    if (!picked) return;
    LossPanel.open.delete(keyOf(this.request));
    this.request = { ...this.request, input: { kind: 'file', path: picked.spec }, baseline: current };
    LossPanel.open.set(keyOf(this.request), this);
    this.panel.title = titleOf(this.request);
    await this.compute();
  }

  /** The run slider: the same image, target and options on run `index`'s prediction. */
  private async selectRun(index: number): Promise<void> {
    const runs = this.request.runs;
    if (!runs || !Number.isSafeInteger(index) || index < 0 || index >= runs.predictions.length || index === runs.index) return;
    LossPanel.open.delete(keyOf(this.request));
    this.request = { ...this.request, input: { kind: 'file', path: runs.predictions[index] }, runs: { ...runs, index } };
    LossPanel.open.set(keyOf(this.request), this);
    this.panel.title = titleOf(this.request);
    await this.compute();
  }

  /** The run slider's "against": the same image compared with run `index`'s prediction (run A). */
  private async selectBaseRun(index: number): Promise<void> {
    const runs = this.request.runs;
    if (!runs || !Number.isSafeInteger(index) || index < 0 || index >= runs.predictions.length || index === (runs.base ?? 0)) return;
    LossPanel.open.delete(keyOf(this.request));
    this.request = { ...this.request, baseline: { kind: 'file', path: runs.predictions[index] }, runs: { ...runs, base: index } };
    LossPanel.open.set(keyOf(this.request), this);
    this.panel.title = titleOf(this.request);
    await this.compute();
  }

  /** The "Hard in every run" mode: the image's hard pixels placed in the result on screen. */
  private async findHardPixels(): Promise<void> {
    const s = this.session;
    if (!s) return;
    void this.post({ type: 'hardPixels', hard: { state: 'running' } });
    let hard: ViewHardPixels;
    try {
      hard = await this.hardPixels.find(this.request, s);
    } catch (e) {
      hard = { state: 'error', message: messageOf(e) };
    }
    // A newer result on screen: its summary made the view ask again.
    if (this.session !== s) return;
    void this.post({ type: 'hardPixels', hard });
  }

  /** The loss's own files (member specs reduced to their file): never shown as the overlay photo. */
  private ownFiles(): string[] {
    return [this.request.input, this.request.target].flatMap((s) => (s.kind === 'file' ? [path.resolve(splitMemberSpec(s.path).path)] : []));
  }

  /**
   * Sends the overlay image: the one chosen, else one found by stem beside the input or target. Read as bytes
   * only when it is a regular file under MAX_IMAGE_BYTES; the view decodes it (no URL reaches the webview).
   */
  private async sendImage(): Promise<void> {
    const specs = [this.request.input, this.request.target].map((s) => (s.kind === 'file' ? splitMemberSpec(s.path).path : null));
    const isFile = async (p: string): Promise<boolean> => {
      try {
        return (await fs.promises.stat(p)).isFile();
      } catch {
        return false;
      }
    };
    const given = this.request.image;
    if (this.chosenImage === null && given?.kind === 'inline') {
      const bytes = new Uint8Array(Buffer.from(given.base64, 'base64'));
      const problem = photoProblem(bytes);
      if (problem !== null) {
        this.post({ type: 'image', image: null });
        this.post({ type: 'note', message: `${given.name}: ${problem} — no image under the heatmap` });
        return;
      }
      this.post({ type: 'image', image: { name: given.name, mime: given.mime, bytes } });
      return;
    }
    const p = this.chosenImage ?? (given?.kind === 'file' ? given.path : await findImageFor(specs, isFile));
    const mime = p ? imageMime(p) : null;
    if (!p || !mime) {
      this.post({ type: 'image', image: null });
      return;
    }
    const r = await readSmallRegularFile(p, MAX_IMAGE_BYTES);
    if (r.kind !== 'read') {
      this.post({ type: 'image', image: null });
      this.post({ type: 'note', message: `${vscode.workspace.asRelativePath(p, false)}: ${r.kind === 'missing' ? 'not found' : r.reason} — no image under the heatmap` });
      return;
    }
    // The size from the header, before the view's createImageBitmap allocates whatever the header claims.
    const problem = photoProblem(r.bytes);
    if (problem !== null) {
      this.post({ type: 'image', image: null });
      this.post({ type: 'note', message: `${vscode.workspace.asRelativePath(p, false)}: ${problem} — no image under the heatmap` });
      return;
    }
    // A copy with its own buffer (a Node Buffer may be a view into a shared pool).
    this.post({ type: 'image', image: { name: vscode.workspace.asRelativePath(p, false), mime, bytes: new Uint8Array(r.bytes) } });
  }

  /** Choose image…: an open dialog for PNG/JPEG files, then the chosen one under the heatmap. */
  private async chooseImage(): Promise<void> {
    const dir = this.request.input.kind === 'file' ? path.dirname(splitMemberSpec(this.request.input.path).path) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const picked = await vscode.window.showOpenDialog({
      canSelectFiles: true, canSelectFolders: false, canSelectMany: false,
      defaultUri: dir ? vscode.Uri.file(dir) : undefined,
      filters: { Images: ['png', 'jpg', 'jpeg'] },
      openLabel: 'Show under the heatmap',
      title: 'Image to draw the heatmap over',
    });
    const p = picked?.[0]?.fsPath;
    if (!p) return;
    if (!imageMime(p)) {
      this.post({ type: 'note', message: `${path.basename(p)} is not a PNG or JPEG image` });
      return;
    }
    if (this.ownFiles().includes(path.resolve(p))) {
      this.post({ type: 'note', message: `${path.basename(p)} is an input of this loss, not a photo to draw it over` });
      return;
    }
    this.chosenImage = p;
    await this.sendImage();
  }

  private async export(kind: ExportKind, data?: string): Promise<void> {
    const base = path.basename(labelOf(this.request.input)).replace(/\.[^.]*$/, '');
    const defaults = { png: `${base}-loss.png`, csv: `${base}-classes.csv`, npy: `${base}-loss.npy` };
    // Beside the input, unless that is a debug value's temporary file (deleted with the panel).
    const dir = this.request.input.kind === 'file' && !this.request.fromDebug ? path.dirname(this.request.input.path) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    const r = this.session?.result;
    await saveExport(kind, data, vscode.Uri.file(path.join(dir, defaults[kind])), async () => (r ? wholeLossMap(r) : null));
  }

  /** Recomputes when a training script rewrites the files (setting crossEntropyLens.autoRecompute). */
  private watch(): void {
    for (const s of [this.request.input, this.request.target]) {
      if (s.kind !== 'file' || !fs.existsSync(path.dirname(s.path))) continue;
      const spec = splitMemberSpec(s.path).path;
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(spec)), path.basename(spec)));
      const changed = (): void => {
        clearTimeout(this.watchTimer);
        this.watchTimer = setTimeout(() => void this.onFilesChanged(), 500);
      };
      this.disposables.push(w, w.onDidChange(changed), w.onDidCreate(changed));
    }
  }

  private async onFilesChanged(): Promise<void> {
    const mode = autoRecomputeSetting();
    if (mode === 'off') return;
    if (mode === 'ask') {
      const pick = await showInformationMessage(`Cross-Entropy Lens: ${labelOf(this.request.input)} changed.`, 'Recompute');
      if (pick !== 'Recompute') return;
    }
    await this.compute();
  }

  private dispose(): void {
    this.running?.abort();
    this.hardPixels.dispose();
    clearTimeout(this.watchTimer);
    LossPanel.open.delete(keyOf(this.request));
    for (const d of this.disposables) d.dispose();
    this.attachment?.onDispose();
  }
}
