// The debug commands: Compute Loss from Debug Variables… (palette), Cross-Entropy Loss of This Variable…
// (the Variables view's context menu) and Explain Loss Error at Breakpoint (palette, and the notification
// offered when a session stops on an exception raised in a PyTorch loss call).
import * as vscode from 'vscode';
import { LensError } from '../errors';
import { fitPair, fittedOptions, isInputCandidate, rankTargets, type TensorMeta } from '../kernel/roles';
import type { LossOptions } from '../kernel/types';
import { CLASS_LAST_NOTE, type DebugExplanation } from '../protocol';
import type { DType } from '../tensor/tensor';
import { browse } from '../host/pick/tensorPick';
import { log, messageOf, showError } from '../host/log';
import { lossOptionsFromSettings } from '../host/settings';
import { LossPanel } from '../host/panels/lossPanel';
import { LossSession } from '../worker/engine/session';
import { DebugPanel, readValues, type DebugPanelSpec, type DebugServices, type DebugValue } from './debugPanel';
import { FrameClient } from './frameClient';
import { describeCall, extraKeywords, findLossFrame, functionOfCall, optionsOfCall, proposeFix, type LossFix, type LossFunction } from './lossCall';
import { parseEvaluateName, type CallArguments, type ListedValue, type ValueMeta, type ValueRef } from './snippet';
import type { StopEvent } from './stops';

export const DEBUG_COMMANDS = {
  computeLossFromDebug: 'crossEntropyLens.computeLossFromDebug',
  debugVariableLoss: 'crossEntropyLens.debugVariableLoss',
  explainDebugException: 'crossEntropyLens.explainDebugException',
} as const;

const DTYPES: Readonly<Record<string, DType>> = {
  bool: 'bool', int8: 'int8', int16: 'int16', int32: 'int32', int64: 'int64', uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64',
  float16: 'float16', bfloat16: 'float32', float32: 'float32', float64: 'float64',
};

/** A listed value as the role rules see it (bfloat16 is read widened to float32); null for a dtype the lens does not read. */
export function metaOf(v: ValueMeta & { readonly ref?: ValueRef }): TensorMeta | null {
  const dtype = DTYPES[v.dtype];
  return dtype ? { id: v.label, name: v.label, shape: v.shape, dtype } : null;
}

/** "[4, 21, 64, 64] float32 · cuda:0 · requires_grad" */
export function describeValue(v: ValueMeta): string {
  return [`[${v.shape.join(', ')}] ${v.dtype}`, v.device, ...(v.requiresGrad ? ['requires_grad'] : []), ...(v.kind === 'numpy' ? ['numpy'] : [])].join(' · ');
}

interface ValueItem extends vscode.QuickPickItem {
  readonly value?: ListedValue;
  readonly browse?: true;
}

const BROWSE_ITEM: ValueItem = { label: '$(folder-opened) Browse…', description: 'a tensor file', browse: true, alwaysShow: true };

/** Programmatic arguments: value paths in the focused frame (tests and the debug hover's link). */
export interface DebugLossArgs {
  readonly input: ValueRef;
  readonly target: ValueRef;
}

export async function computeLossFromDebug(services: DebugServices, args?: DebugLossArgs): Promise<void> {
  try {
    const client = await FrameClient.focused();
    const { values } = await client.ask({ op: 'list' });
    if (args?.input && args.target) {
      const input = await describeOne(client, args.input);
      const target = await describeOne(client, args.target);
      await openPair(services, client, { ...input, ref: args.input }, { ...target, ref: args.target });
      return;
    }
    const inputs = values.filter((v) => {
      const m = metaOf(v);
      return m !== null && isInputCandidate(m);
    });
    if (inputs.length === 0) {
      void vscode.window.showInformationMessage(`Cross-Entropy Lens: no torch.Tensor or numpy.ndarray with a class axis in ${client.where}`);
      return;
    }
    const picked = await vscode.window.showQuickPick<ValueItem>(inputs.map((v) => ({ label: v.label, description: describeValue(v), value: v })), {
      title: `Cross-Entropy Lens: input (logits) in ${client.where}`,
      placeHolder: 'The input tensor (shape, dtype and device as the debuggee has it)',
      matchOnDescription: true,
    });
    if (!picked?.value) return;
    await pickTargetAndOpen(services, client, picked.value, values);
  } catch (e) {
    void showError(e, 'Compute Loss from Debug Variables');
  }
}

/** The Variables view's context: the variable clicked (DAP's Variable, with the debugger's evaluateName). */
interface VariablesContext {
  readonly variable?: { readonly name?: string; readonly evaluateName?: string };
}

export async function debugVariableLoss(services: DebugServices, ctx?: VariablesContext): Promise<void> {
  try {
    const name = ctx?.variable?.evaluateName ?? ctx?.variable?.name;
    if (!name) throw new LensError('option', 'run this from the context menu of a variable in the Variables view of a paused Python session');
    const ref = parseEvaluateName(name);
    if (!ref) throw new LensError('value', `${name}: the lens reads a variable by name, attribute, index or str/int key, and this is none of those (it evaluates nothing else)`);
    const client = await FrameClient.focused();
    const input = await describeOne(client, ref);
    const { values } = await client.ask({ op: 'list' });
    await pickTargetAndOpen(services, client, { ...input, ref }, values);
  } catch (e) {
    void showError(e, 'Cross-Entropy Loss of This Variable');
  }
}

async function describeOne(client: FrameClient, ref: ValueRef): Promise<ValueMeta> {
  const [d] = (await client.ask({ op: 'describe', refs: [ref] })).values;
  if (!d || 'error' in d) throw new LensError('value', d && 'error' in d ? d.error : 'no such value');
  return d;
}

async function pickTargetAndOpen(services: DebugServices, client: FrameClient, input: ListedValue, values: readonly ListedValue[]): Promise<void> {
  const inputMeta = metaOf(input);
  if (!inputMeta) throw new LensError('dtype', `${input.label} is ${input.dtype}, which the lens does not read: cast it to float32`);
  const opts = lossOptionsFromSettings();
  const candidates = values.flatMap((v) => {
    const m = metaOf(v);
    return m && v.label !== input.label ? [{ ...m, value: v }] : [];
  });
  const ranked = rankTargets(inputMeta, candidates, opts);
  const items: ValueItem[] = ranked.map((c) => {
    const fit = fitPair(inputMeta, c, opts);
    const note = fit.kind === 'fits' && fit.classLastFromShapes ? ` · ${CLASS_LAST_NOTE}` : '';
    return { label: c.value.label, description: describeValue(c.value) + note, value: c.value };
  });
  // While the target is picked: the input is written and read, the workers start, the panel's page loads.
  const prefetch = services.transfers.save(client, input.ref, [], 'input');
  prefetch.catch(() => undefined); // its error, if any, is the panel's to show once it is awaited
  void services.host.engine().prepare();
  const early = LossPanel.openEarly(services.host);
  let opened = false;
  try {
    const picked = await vscode.window.showQuickPick<ValueItem>([...items, BROWSE_ITEM], {
      title: `Cross-Entropy Lens: target for ${input.label} [${input.shape.join(', ')}]`,
      placeHolder: items.length ? 'Values in the paused frame that fit the input, likely names first' : 'No value in the paused frame fits the input: Browse… for a file',
      matchOnDescription: true,
      ignoreFocusOut: true,
    });
    if (!picked) return;
    early.retitle({ kind: 'file', path: input.label, label: input.label });
    let target: DebugPanelSpec['target'];
    let fitted: ReturnType<typeof fittedOptions>;
    if (picked.browse) {
      const file = await browse('Target tensor');
      if (!file) return;
      target = { file: file.spec };
      fitted = fittedOptions(fitPair(inputMeta, file, opts));
    } else if (picked.value) {
      const targetMeta = metaOf(picked.value);
      target = { ref: picked.value.ref, transform: [] };
      fitted = targetMeta ? fittedOptions(fitPair(inputMeta, targetMeta, opts)) : { options: {} };
    } else return;
    await DebugPanel.open(services, client, {
      input: { ref: input.ref, transform: [] },
      target,
      options: fitted.options,
      ...(fitted.classLastFromShapes ? { classLastFromShapes: true } : {}),
      explanation: null,
    }, { input: prefetch, early });
    opened = true;
  } finally {
    if (!opened) {
      early.dispose();
      void prefetch.then((v) => services.transfers.release([v]), () => undefined);
    }
  }
}

/** A pair given by value paths (the debug hover's link, programmatic use): the class axis from the shapes. */
async function openPair(services: DebugServices, client: FrameClient, input: ListedValue, target: ListedValue): Promise<void> {
  const inputMeta = metaOf(input);
  const targetMeta = metaOf(target);
  const f = inputMeta && targetMeta ? fittedOptions(fitPair(inputMeta, targetMeta, lossOptionsFromSettings())) : { options: {} };
  await DebugPanel.open(services, client, {
    input: { ref: input.ref, transform: [] },
    target: { ref: target.ref, transform: [] },
    options: f.options,
    ...('classLastFromShapes' in f && f.classLastFromShapes ? { classLastFromShapes: true } : {}),
    explanation: null,
  });
}

/**
 * The loss call a paused thread is in: the frame of F.cross_entropy (nll_loss, binary_cross_entropy_with_
 * logits, a loss module's forward) in the stack, or, where the debugger hides library frames (justMyCode),
 * found through the exception's traceback from the top frame. Null when there is none.
 */
async function locateLossCall(at: Pick<StopEvent, 'session' | 'threadId'>): Promise<{ client: FrameClient; call: CallArguments; fn: LossFunction | null } | null> {
  const frames = await FrameClient.stack(at.session, at.threadId);
  const lf = findLossFrame(frames.map((f) => ({ name: f.name, path: f.source?.path })));
  if (lf) {
    const client = FrameClient.at(at.session, at.threadId, frames[lf.index]!);
    const call = await client.ask({ op: 'call', module: lf.module });
    return { client, call, fn: functionOfCall(call, lf.fn, lf.module) };
  }
  // debugpy keeps the exception in the frame it paused in (the top user frame, or the outermost one for an
  // uncaught exception): the first frames and the last are tried.
  const tried = [...frames.slice(0, 4), ...frames.slice(-1)].filter((f, i, all) => all.indexOf(f) === i);
  for (const f of tried) {
    const client = FrameClient.at(at.session, at.threadId, f);
    try {
      const call = await client.ask({ op: 'call', module: false, traceback: true });
      return { client, call, fn: functionOfCall(call, null, call.owner !== null) };
    } catch {
      // no exception here, or not one raised in a loss call
    }
  }
  return null;
}

/** The notification offered when a Python session stops on an exception raised inside a PyTorch loss call it computes. */
export async function offerExplain(services: DebugServices, e: StopEvent): Promise<void> {
  if (e.reason !== 'exception') return;
  const found = await locateLossCall(e).catch(() => null);
  if (!found?.fn) return; // not in a loss call, or one the lens does not compute (MSELoss…)
  const what = e.text ? `${exceptionType(e.text)}${e.description ? `: ${e.description.split('\n')[0]}` : ''}` : 'An exception';
  const choice = await vscode.window.showWarningMessage(`Cross-Entropy Lens: ${what.length > 200 ? `${what.slice(0, 199)}…` : what} (raised in a PyTorch loss call)`, 'Explain with Cross-Entropy Lens');
  if (!choice) return;
  // A notification clicked after the session went on would explain another stop.
  if (services.stops.seqOf(e.session.id) !== e.seq) {
    void vscode.window.showInformationMessage('Cross-Entropy Lens: the session has moved on since that exception; run Explain Loss Error at Breakpoint while it is paused on one');
    return;
  }
  await explainDebugException(services, e);
}

export async function explainDebugException(services: DebugServices, at?: Pick<StopEvent, 'session' | 'threadId'>): Promise<void> {
  try {
    const where = at ?? (await FrameClient.focused());
    const found = await locateLossCall(where);
    if (!found) {
      throw new LensError('option', 'the paused thread is not inside a PyTorch loss call (F.cross_entropy, nll_loss, binary_cross_entropy_with_logits, or a loss module\'s forward), and its exception was not raised in one');
    }
    const { client, call, fn } = found;
    const raised = await exceptionText(where.session, where.threadId);
    if (!fn) throw new LensError('option', `${call.owner ?? 'this module'} is not a loss the lens computes (CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss)`);
    const input = call.tensors.input;
    const target = call.tensors.target;
    if (!input || !target) throw new LensError('value', `the call's input and target are not both tensors in ${client.where}`);
    const o = optionsOfCall(fn, call);
    if ('problem' in o) throw new LensError('option', o.problem);
    const weight = call.tensors.weight ? { ref: call.tensors.weight.ref, transform: [] } : null;
    const posWeight = call.tensors.pos_weight ? { ref: call.tensors.pos_weight.ref, transform: [] } : null;
    const raw = { input: { ref: input.ref, transform: [] }, target: { ref: target.ref, transform: [] } as DebugValue, weight, posWeight };

    const lensMessage = await lensError(services, client, raw, o.options);
    let fix: LossFix | null = null;
    if (lensMessage !== null) {
      const classes = input.shape.length === 1 ? input.shape[0]! : input.shape[1] ?? 0;
      const facts = await client.ask({ op: 'facts', ref: target.ref, classes, ignoreIndex: fn === 'binary_cross_entropy_with_logits' ? null : o.options.ignoreIndex });
      fix = proposeFix(fn, input, facts, o.options, extraKeywords(call));
      // Offered only when the lens computes the fixed call (PyTorch's semantics): else the error stays.
      if (fix && (await lensError(services, client, fixed(raw, fix), { ...o.options, ...fix.options })) !== null) fix = null;
    }
    // PyTorch reduces float16/bfloat16 inputs in that precision; the lens computes the same values exactly.
    const lowPrecision = /^(b?float16|half)$/.test(input.dtype) ? ` PyTorch computes ${input.dtype} in that precision; the loss shown is the exact loss of the same values.` : '';
    const explanation: DebugExplanation = { raised, call: describeCall(fn, call), lensMessage, fix: fix ? { code: fix.code, note: fix.note + lowPrecision } : null };
    const chosen = fix ? fixed(raw, fix) : raw;
    await DebugPanel.open(services, client, { ...chosen, options: { ...o.options, ...(fix?.options ?? {}) }, explanation });
  } catch (e) {
    void showError(e, 'Explain Loss Error');
  }
}

function fixed<T extends { input: DebugValue; target: DebugValue }>(raw: T, fix: LossFix): T {
  return { ...raw, input: { ...raw.input, transform: fix.inputTransform }, target: { ...raw.target, transform: fix.targetTransform } };
}

/** An exception's type as the debugger names it, without debugpy's note: "RuntimeError", "ValueError". */
export function exceptionType(id: string | undefined): string {
  return id?.trim().split(/\s/)[0]?.split('.').pop() || 'Exception';
}

/** PyTorch's exception as raised: "RuntimeError: …" (DAP exceptionInfo; the stop's text where it has none). */
async function exceptionText(session: vscode.DebugSession, threadId: number): Promise<string> {
  try {
    const info = (await session.customRequest('exceptionInfo', { threadId })) as { exceptionId?: string; description?: string };
    // debugpy may add a note to the type ("RuntimeError       (note: full exception trace is shown but…)").
    const id = exceptionType(info.exceptionId);
    return info.description ? `${id}: ${info.description}` : id;
  } catch (e) {
    log().warn(`exceptionInfo: ${messageOf(e)}`);
    return 'the exception could not be read from the debugger';
  }
}

/** The lens's own message for these values and options (null: they compute). The files are deleted after. */
async function lensError(
  services: DebugServices,
  client: FrameClient,
  v: { input: DebugValue; target: DebugValue; weight: DebugValue | null; posWeight: DebugValue | null },
  options: Partial<LossOptions>,
): Promise<string | null> {
  const read = await readValues(services.transfers, client, v);
  try {
    await LossSession.open(services.host.engine(), { input: read.input, target: read.target, weight: read.weight, ...(read.posWeight ? { posWeight: read.posWeight } : {}), options, topK: 1 }, {});
    return null;
  } catch (e) {
    return messageOf(e);
  } finally {
    services.transfers.release(read.list);
  }
}
