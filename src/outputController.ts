// One notebook output's conversation with its view, wherever the numbers come from: the extension host's
// worker-thread engine (renderer messaging) or the page's own pure kernel (no messaging). Pure code: it
// only routes ViewToHost requests to a session and sends HostToView answers.
import type { LossOptions } from './kernel/types';
import type { ClassMaps, ConfidenceMaps, ElementDetail, HostToView, SampleMaps, SummaryLabels, TokenDetails, ViewLabelIssues, ViewLabelIssuesDone, ViewSummary, ViewToHost } from './protocol';
import { LensError } from './errors';
import { SampleSender, holdConfidence } from './sampleSender';
import type { Payload } from './tensor/text/payload';
import type { Tensor } from './tensor/tensor';

/** A computed loss, as the view asks about it. */
export interface OutputSession {
  readonly summary: ViewSummary;
  /** The whole unreduced loss (for export; a promise where it is computed on request), or null when it was not kept. */
  lossMap(): LossMapExport | null | Promise<LossMapExport | null>;
  sampleMaps(n: number): Promise<SampleMaps>;
  /**
   * The loss, prediction and target maps first, when sampleMaps has more to compute (absent: no such split);
   * a promise where they are computed for the sample (a result with maps on demand).
   */
  quickSampleMaps?(n: number): SampleMaps | Promise<SampleMaps>;
  classMaps(n: number): Promise<ClassMaps>;
  /**
   * Sample n's confidence maps, for a view that asks (absent: sampleMaps carries them, as a session in the
   * view's own page does; no message to spare).
   */
  confidence?(n: number): Promise<ConfidenceMaps | null>;
  explain(n: number, index: readonly number[]): Promise<ElementDetail>;
  /** Token view: the hover details of loss-map element `row` (absent: not offered). */
  tokenDetails?(row: number): Promise<TokenDetails>;
  /** Likely label errors of this result (absent: not offered). */
  labelIssues?(signal: AbortSignal): Promise<ViewLabelIssuesDone>;
}

export interface LossMapExport {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

/** What the label-errors view says of a notebook output's thresholds. */
export const OUTPUT_ISSUES_ORIGIN = "thresholds and cut-off from this output's own labels";

/** What the user changed in the view: options on top of the payload's, and maybe new class weights. */
export interface OutputOverrides {
  readonly options: Partial<LossOptions>;
  /** undefined: the payload's own weight; null: none. */
  readonly weight: readonly number[] | null | undefined;
}

/** The class weights an output computes with: the payload's, or the ones set in its view. */
export function outputWeight(payload: Pick<Payload, 'weight'>, o: OutputOverrides): Tensor | null {
  if (o.weight === undefined) return payload.weight;
  if (o.weight === null) return null;
  return { dtype: 'float64', shape: [o.weight.length], data: Float64Array.from(o.weight) };
}

/** The shapes and dtypes an output's labels show (a file reference's come from its .npy header). */
export interface OutputTensors {
  readonly input: Pick<Tensor, 'shape' | 'dtype'>;
  readonly target: Pick<Tensor, 'shape' | 'dtype'>;
  readonly classNames: readonly string[];
}

/** What an output's summary says about its tensors, wherever it was computed. */
export function outputLabels(
  payload: OutputTensors, weight: Tensor | null, how: Pick<SummaryLabels, 'seconds' | 'engine' | 'mapsAvailable' | 'classLastFromShapes'>,
): SummaryLabels {
  return {
    title: 'notebook output',
    input: { label: '(notebook)', shape: payload.input.shape, dtype: payload.input.dtype },
    target: { label: '(notebook)', shape: payload.target.shape, dtype: payload.target.dtype },
    weight: weight ? Array.from(weight.data as ArrayLike<number>) : null,
    classNames: payload.classNames,
    ...how,
  };
}

export interface OutputControllerDeps {
  open(overrides: OutputOverrides, signal: AbortSignal): Promise<OutputSession>;
  /** Sends to the view; a thenable it returns settles once the message is on its way (awaited before more work). */
  send(msg: HostToView): unknown;
  /** Where errors end up besides the view (a log); optional. */
  onError?(message: string, during: ViewToHost['type'] | 'compute'): void;
  openInPanel?(overrides: OutputOverrides): Promise<void>;
  export?(kind: 'png' | 'csv' | 'npy', data: string | undefined, session: OutputSession): Promise<void>;
}

/**
 * Whether the view gets a first sample to draw: not when the maps were not kept, nor for an empty loss map
 * (a batch or spatial size of 0), which has no sample (or only empty ones) and shows its summary alone.
 */
export function hasSample(summary: ViewSummary): boolean {
  return summary.mapsAvailable && summary.elementCount > 0;
}

function messageOf(e: unknown): string {
  if (e instanceof LensError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

export class OutputController {
  private session: OutputSession | null = null;
  private error: string | null = null;
  private running: AbortController | null = null;
  private overrides: OutputOverrides = { options: {}, weight: undefined };
  private disposed = false;
  /** The label issues of `session` (found once per result; a new result drops them). */
  private issues: { readonly session: OutputSession; readonly issues: ViewLabelIssues; readonly run: AbortController } | null = null;

  constructor(private readonly deps: OutputControllerDeps) {}

  /** The latest result, for tests and for handing over to the panel. */
  get current(): OutputSession | null {
    return this.session;
  }

  get lastError(): string | null {
    return this.error;
  }

  private readonly samples = new SampleSender((msg) => this.deps.send(msg));

  /** Paints the sample's loss at once where the session can, then sends it complete. */
  private sendSample(session: OutputSession, n: number): Promise<void> {
    const quick = session.quickSampleMaps?.bind(session);
    // A session that hands out confidence maps on request keeps them out of the sample's messages.
    const complete = session.confidence ? async () => holdConfidence(await session.sampleMaps(n)) : () => session.sampleMaps(n);
    return this.samples.send(n, { quick: quick ? () => quick(n) : undefined, complete }, () => this.session === session && !this.disposed);
  }

  async compute(): Promise<void> {
    this.running?.abort();
    const ac = new AbortController();
    this.running = ac;
    this.error = null;
    this.deps.send({ type: 'progress', fraction: 0, message: 'computing' });
    try {
      const session = await this.deps.open(this.overrides, ac.signal);
      if (ac.signal.aborted || this.disposed) return;
      this.session = session;
      this.deps.send({ type: 'summary', summary: session.summary });
      if (hasSample(session.summary)) await this.sendSample(session, 0);
    } catch (e) {
      if (this.running !== ac || this.disposed) return;
      this.session = null;
      this.error = messageOf(e);
      this.deps.send({ type: 'error', message: this.error });
      this.deps.onError?.(this.error, 'compute');
    } finally {
      if (this.running === ac) this.running = null;
    }
  }

  async handle(m: ViewToHost): Promise<void> {
    const s = this.session;
    try {
      switch (m.type) {
        case 'ready':
          // A view shown again restores from here: the latest outcome.
          if (this.error) this.deps.send({ type: 'error', message: this.error });
          else if (s) {
            this.deps.send({ type: 'summary', summary: s.summary });
            if (hasSample(s.summary)) await this.sendSample(s, 0);
          }
          return;
        case 'setOptions':
          this.overrides = {
            options: { ...this.overrides.options, ...m.options },
            weight: m.weight === undefined ? this.overrides.weight : m.weight,
          };
          await this.compute();
          return;
        case 'selectSample':
          if (s) await this.sendSample(s, m.n);
          return;
        case 'requestClassMaps':
          if (s) this.deps.send({ type: 'classMaps', maps: await s.classMaps(m.n) });
          return;
        case 'requestConfidence': {
          if (!s?.confidence) return;
          let confidence: ConfidenceMaps | null = null;
          try {
            confidence = await s.confidence(m.n);
          } finally {
            // Null (a failed job) tells the view none are coming; the error itself goes to the note line.
            if (this.session === s && !this.disposed) this.deps.send({ type: 'confidence', n: m.n, confidence });
          }
          return;
        }
        case 'explain':
          if (s) this.deps.send({ type: 'detail', detail: await s.explain(m.n, m.index) });
          return;
        case 'tokenDetails':
          if (s?.tokenDetails) this.deps.send({ type: 'tokenDetails', details: await s.tokenDetails(m.row) });
          return;
        case 'openInPanel':
          if (this.deps.openInPanel) await this.deps.openInPanel(this.overrides);
          else this.deps.send({ type: 'note', message: 'Open in panel needs the Cross-Entropy Lens extension host (not available here)' });
          return;
        case 'export':
          if (this.deps.export && s) await this.deps.export(m.kind, m.data, s);
          else this.deps.send({ type: 'note', message: 'export needs the Cross-Entropy Lens extension host (not available here)' });
          return;
        case 'findLabelIssues':
          if (s) await this.findLabelIssues(s);
          return;
      }
    } catch (e) {
      const msg = messageOf(e);
      this.deps.onError?.(msg, m.type);
      // A failed side request leaves the result on screen; it says what went wrong in the note line.
      this.deps.send({ type: 'note', message: m.type === 'explain' ? `no breakdown: ${msg}` : `${m.type} failed: ${msg}` });
    }
  }

  private async findLabelIssues(s: OutputSession): Promise<void> {
    const known = this.issues?.session === s ? this.issues : null;
    if (known && known.issues.state !== 'error') {
      if (known.issues.state === 'done') this.deps.send({ type: 'labelIssues', issues: known.issues });
      return;
    }
    if (!s.labelIssues) {
      this.deps.send({ type: 'labelIssues', issues: { state: 'error', message: 'likely label errors are not offered for this output' } });
      return;
    }
    const run = new AbortController();
    this.issues?.run.abort();
    this.issues = { session: s, issues: { state: 'running' }, run };
    this.deps.send({ type: 'labelIssues', issues: { state: 'running' } });
    let issues: ViewLabelIssues;
    try {
      issues = await s.labelIssues(run.signal);
    } catch (e) {
      issues = { state: 'error', message: messageOf(e) };
    }
    if (run.signal.aborted || this.session !== s || this.disposed) return;
    this.issues = { session: s, issues, run };
    this.deps.send({ type: 'labelIssues', issues });
  }

  dispose(): void {
    this.issues?.run.abort();
    this.disposed = true;
    this.running?.abort();
    this.session = null;
  }
}
