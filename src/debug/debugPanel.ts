// A loss panel over values read from a paused debug session: the values are saved as .npy (transfer.ts) and
// the panel computes them like files; the view's debug section shows where they came from, an explained
// exception, and with *Update on each stop* the loss at each later stop in the same function.
import * as vscode from 'vscode';
import type { LossOptions } from '../kernel/types';
import type { DebugContext, DebugExplanation, DebugStop } from '../protocol';
import { LossPanel, type EarlyPanel, type HostServices, type PanelAttachment, type PanelRequest, type SourceSpec } from '../host/panels/lossPanel';
import { messageOf } from '../host/log';
import { FrameClient } from './frameClient';
import type { DebugStops, StopEvent } from './stops';
import type { Transform, ValueRef } from './snippet';
import type { DebugTransfers, LocalValue } from './transfer';

/** A value to read at each stop: where it is in the frame, and a fix's transform. */
export interface DebugValue {
  readonly ref: ValueRef;
  readonly transform: readonly Transform[];
}

export interface DebugPanelSpec {
  readonly input: DebugValue;
  /** A frame value, or a file picked with Browse…. */
  readonly target: DebugValue | { readonly file: string };
  readonly weight?: DebugValue | null;
  readonly posWeight?: DebugValue | null;
  readonly options: Partial<LossOptions>;
  readonly classLastFromShapes?: boolean;
  readonly explanation: DebugExplanation | null;
}

export interface DebugServices {
  readonly host: HostServices;
  readonly transfers: DebugTransfers;
  readonly stops: DebugStops;
}

/** The longest stop history a panel keeps (the view lists the last 200, its sparkline all of these). */
const MAX_HISTORY = 10_000;

export class DebugPanel implements PanelAttachment {
  private static readonly all = new Set<DebugPanel>();
  private panel: LossPanel | null = null;
  private follow = false;
  private readonly history: DebugStop[] = [];
  /** Counts this session's stops since the panel opened (1: the stop it opened at). */
  private stopCount = 1;
  /** The stop the computation under way belongs to (its value goes into the history when it ends). */
  private pendingStop: { stop: number; where: string } | null;
  private values: LocalValue[];
  private readonly listener: vscode.Disposable;
  private following: Promise<void> = Promise.resolve();
  private disposed = false;
  /** The session is over: its temporary files are deleted, and there are no more stops to follow. */
  private ended = false;

  private constructor(
    private readonly services: DebugServices,
    private readonly client: FrameClient,
    private readonly spec: DebugPanelSpec,
    values: LocalValue[],
  ) {
    this.values = values;
    this.pendingStop = { stop: 1, where: client.where };
    this.listener = vscode.Disposable.from(
      services.stops.onStop((e) => this.onStop(e)),
      services.stops.onEnd((session) => {
        if (session.id !== client.session.id || this.disposed) return;
        this.ended = true;
        this.follow = false;
        this.panel?.postDebug();
      }),
    );
    DebugPanel.all.add(this);
  }

  /**
   * Reads the spec's values in the client's frame and opens a panel on them. `input`: the input's file, read
   * already (while the user picked the target); `early`: a panel whose page loaded during the picks.
   */
  static async open(services: DebugServices, client: FrameClient, spec: DebugPanelSpec, opts: { readonly input?: Promise<LocalValue>; readonly early?: EarlyPanel } = {}): Promise<DebugPanel> {
    let values: ReadValues;
    try {
      values = await readValues(services.transfers, client, spec, opts.input);
    } catch (e) {
      opts.early?.dispose();
      throw e;
    }
    const p = new DebugPanel(services, client, spec, values.list);
    p.panel = LossPanel.show(services.host, p.request(values), opts.early, p);
    return p;
  }

  static disposeAll(): void {
    for (const p of [...DebugPanel.all]) p.panel?.panel.dispose();
  }

  /** For tests: the open debug panels' follow state and history. */
  static current(): ReadonlyArray<{ readonly follow: boolean; readonly history: readonly DebugStop[] }> {
    return [...DebugPanel.all].map((p) => ({ follow: p.follow, history: [...p.history] }));
  }

  private request(v: ReadValues): PanelRequest {
    return {
      input: v.input,
      target: v.target,
      weight: v.weight,
      posWeight: v.posWeight,
      options: this.spec.options,
      ...(this.spec.classLastFromShapes ? { classLastFromShapes: true } : {}),
      fromDebug: true,
    };
  }

  debugContext(): DebugContext {
    // After the session, what the view holds stays; what it would ask for next (another sample's details)
    // would read files that are gone: the origin says so.
    const origin = this.ended ? `${this.client.where} — the debug session has ended; its values were temporary` : this.client.where;
    return { origin, explanation: this.spec.explanation, follow: this.follow, history: this.history };
  }

  onViewMessage(m: { type: 'followStops'; on: boolean } | { type: 'copyText'; text: string }): void {
    if (m.type === 'followStops') {
      this.follow = m.on;
      this.panel?.postDebug();
      return;
    }
    void vscode.env.clipboard.writeText(m.text).then(() => vscode.window.setStatusBarMessage('Cross-Entropy Lens: copied the fix', 3000));
  }

  onResult(value: number | null, error: string | null): void {
    const stop = this.pendingStop;
    if (!stop) return;
    this.pendingStop = null;
    this.history.push({ stop: stop.stop, value, where: error === null ? stop.where : `${stop.where}: ${error}` });
    if (this.history.length > MAX_HISTORY) this.history.splice(0, this.history.length - MAX_HISTORY);
    this.panel?.postDebug();
  }

  onDispose(): void {
    this.disposed = true;
    this.listener.dispose();
    DebugPanel.all.delete(this);
    this.services.transfers.release(this.values);
  }

  /** A stop of any thread of the session: counted; with follow on, one in the same function recomputes. */
  private onStop(e: StopEvent): void {
    if (e.session.id !== this.client.session.id || this.disposed) return;
    const stop = ++this.stopCount;
    if (!this.follow) return;
    // One stop at a time, in order: a fast loop's stops queue behind the computation of the previous one.
    this.following = this.following.then(() => this.recomputeAt(e, stop)).catch((err) => {
      this.history.push({ stop, value: null, where: messageOf(err) });
      this.panel?.postDebug();
    });
  }

  private async recomputeAt(e: StopEvent, stop: number): Promise<void> {
    if (this.disposed) return;
    // A stop the session has already left (it went on while an earlier one computed): its values are gone.
    if (this.services.stops.seqOf(e.session.id) !== e.seq) {
      this.history.push({ stop, value: null, where: 'skipped: the session went on before this stop was read' });
      this.panel?.postDebug();
      return;
    }
    const frames = await FrameClient.stack(e.session, e.threadId);
    const top = frames[0];
    if (!top) return;
    const client = FrameClient.at(e.session, e.threadId, top);
    if (client.functionKey !== this.client.functionKey) return; // another function: not this panel's breakpoint
    let values: ReadValues;
    try {
      values = await readValues(this.services.transfers, client, this.spec);
    } catch (err) {
      this.history.push({ stop, value: null, where: `${client.where}: ${messageOf(err)}` });
      this.panel?.postDebug();
      return;
    }
    if (this.disposed || !this.panel) {
      this.services.transfers.release(values.list);
      return;
    }
    const old = this.values;
    this.values = values.list;
    this.pendingStop = { stop, where: client.where };
    // The options and weights set in the panel since it opened stay; only the values are the new stop's.
    const now = this.panel.requestNow;
    const next = this.request(values);
    await this.panel.replaceRequest({
      ...now,
      input: next.input,
      target: next.target,
      ...(this.spec.weight ? { weight: next.weight } : {}),
      ...(this.spec.posWeight ? { posWeight: next.posWeight } : {}),
    });
    this.services.transfers.release(old);
  }
}

type FileSpec = Extract<SourceSpec, { kind: 'file' }>;

export interface ReadValues {
  readonly input: FileSpec;
  readonly target: FileSpec;
  readonly weight: FileSpec | null;
  readonly posWeight: FileSpec | null;
  /** The files read for this panel (deleted when it moves on or closes). */
  readonly list: LocalValue[];
}

/** Saves the spec's values in the frame (a progress notification while a remote value is copied). */
export async function readValues(transfers: DebugTransfers, client: FrameClient, spec: Pick<DebugPanelSpec, 'input' | 'target' | 'weight' | 'posWeight'>, input?: Promise<LocalValue>): Promise<ReadValues> {
  const list: LocalValue[] = [];
  const one = async (v: DebugValue, role: string, progress: (f: number) => void): Promise<FileSpec> => {
    const saved = role === 'input' && input ? await input : await transfers.save(client, v.ref, v.transform, role, progress);
    list.push(saved);
    return { kind: 'file', path: saved.path, label: saved.saved.label };
  };
  try {
    return await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Cross-Entropy Lens: reading values from the debugger' },
      async (progress) => {
        const report = (f: number): void => progress.report({ message: `${Math.round(f * 100)}%` });
        const input = await one(spec.input, 'input', report);
        const target = 'file' in spec.target ? ({ kind: 'file', path: spec.target.file } as const) : await one(spec.target, 'target', report);
        const weight = spec.weight ? await one(spec.weight, 'weight', report) : null;
        const posWeight = spec.posWeight ? await one(spec.posWeight, 'pos_weight', report) : null;
        return { input, target, weight, posWeight, list };
      },
    );
  } catch (e) {
    transfers.release(list);
    throw e;
  }
}
