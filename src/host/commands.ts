// The three entry points: the palette command with its two Quick Picks, the explorer selection, and the
// editor selection holding tensor text. Each ends in a LossPanel.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LensError } from '../errors';
import { maskRangeNote } from '../kernel/labelFix';
import { pairMaskShapes } from '../tensor/image/pngMask';
import { assignRoles, fitPair, isInputCandidate, fittedOptions, rankTargets, type RoleChoice, type TensorMeta } from '../kernel/roles';
import type { LossOptions } from '../kernel/types';
import { HOST_FIND_CHARS } from '../hover/limits';
import { findTensorLiterals, type TensorLiteral } from '../tensor/text/printed';
import { parseJsonDocument, parseJsonTensor, type JsonDocument } from '../tensor/text/json';
import type { Tensor } from '../tensor/tensor';
import { documentLength, shareDocument } from './editor/documentText';
import { LossPanel, inlineSource, type HostServices, type SourceSpec } from './panels/lossPanel';
import { showError } from './log';
import { lossOptionsFromSettings } from './settings';
import { describeEntry, tensorsIn, type TensorEntry } from './pick/tensorFiles';
import { browse, item, pickStreaming, scanTensorEntries, targetItem, type Item } from './pick/tensorPick';

export const COMMANDS = {
  computeLoss: 'crossEntropyLens.computeLoss',
  forSelectedFiles: 'crossEntropyLens.computeLossForSelectedFiles',
  fromSelection: 'crossEntropyLens.computeLossFromSelection',
} as const;

function fileSpec(e: TensorEntry): SourceSpec {
  return { kind: 'file', path: e.spec };
}

export async function computeLoss(services: HostServices, inputUri?: vscode.Uri, targetUri?: vscode.Uri, options?: Partial<LossOptions>): Promise<void> {
  try {
    if (inputUri && targetUri) {
      LossPanel.show(services, { input: { kind: 'file', path: inputUri.fsPath }, target: { kind: 'file', path: targetUri.fsPath }, weight: null, options: options ?? {} });
      return;
    }
    const settings = lossOptionsFromSettings();
    // The workers start while the user picks the files (the first computation then does not wait for them),
    // and the panel opens beside at once, so its webview is loaded by then (about a second under
    // code-server); it closes again if the pick is given up.
    void services.engine().prepare();
    const early = LossPanel.openEarly(services);
    let shown = false;
    try {
      const all: TensorEntry[] = [];
      // An input picked before the scan got through the workspace cancels it: `all` is then only part of the
      // workspace, and the target stage reads the rest rather than missing the target (Compare Losses… too).
      let scanned = false;
      const inputPick = await pickStreaming('Cross-Entropy Lens: input (logits)', 'Pick the input tensor (shape and dtype from the header)', async (add, token) => {
        await scanTensorEntries(token, (batch) => {
          all.push(...batch);
          const inputs = batch.filter(isInputCandidate);
          if (inputs.length) add(inputs.map(item));
        });
        scanned = !token.isCancellationRequested;
      }, true);
      const input = inputPick?.browse ? await browse('Input tensor') : inputPick?.entry;
      if (!input) return;
      early.retitle(fileSpec(input));
      // A tokenizer.json beside the input is parsed (in a worker) while the target is picked.
      LossPanel.prefetchVocabulary(services, fileSpec(input));
      const opts = { ...settings, ...options };
      const known = scanned;
      const targetPick = await pickStreaming('Cross-Entropy Lens: target', `Targets that fit ${input.name} ${describeEntry(input)}`, async (add, token, update) => {
        const seen = new Set(all.map((e) => e.spec));
        const first = rankTargets(input, all, opts).map((e) => targetItem(input, e, opts));
        add(first);
        // The masks listed now get their notes at once, while the rest of the workspace is read.
        const notes = [noteMaskLabels(services, input, first, token, update)];
        if (!known) {
          await scanTensorEntries(token, (batch) => {
            const fresh = batch.filter((e) => !seen.has(e.spec));
            const items = rankTargets(input, fresh, opts).map((e) => targetItem(input, e, opts));
            add(items);
            notes.push(noteMaskLabels(services, input, items, token, update));
          });
        }
        await Promise.all(notes);
      }, true);
      const target = targetPick?.browse ? await browse('Target tensor') : targetPick?.entry;
      if (!target) return;
      LossPanel.show(services, { input: fileSpec(input), target: fileSpec(target), weight: null, ...fittedOptions(fitPair(input, target, opts), options) }, early);
      shown = true;
    } finally {
      if (!shown) early.dispose();
    }
  } catch (e) {
    void showError(e, 'Compute Loss');
  }
}

/** Masks offered as targets this many at a time are read (in the workers) for labels outside the classes. */
const MASK_NOTES = 64;

/**
 * A PNG mask holding labels outside [0, C) says so in the target list ("holds 255 (void?)"), read in the
 * workers after the list shows, so the pick never waits for it.
 */
async function noteMaskLabels(services: HostServices, input: TensorEntry, items: readonly Item[], token: vscode.CancellationToken, update: (item: Item) => void): Promise<void> {
  const masks = items.filter((i) => i.entry?.mask === true).slice(0, MASK_NOTES);
  const ac = new AbortController();
  const sub = token.onCancellationRequested(() => ac.abort());
  try {
    await Promise.all(masks.map(async (it) => {
      try {
        // The classes as the mask pairs with this input ([C, H, W] or [1, C, H, W]), as the computation will.
        const C = pairMaskShapes(input.shape, it.entry!.shape).input[1];
        const summary = await services.engine().tensorFileSummary(it.entry!.spec, ac.signal);
        const note = summary.mask?.classes ? maskRangeNote(summary.mask.classes, C) : null;
        if (note !== null && !token.isCancellationRequested) update({ ...it, description: `${it.description ?? ''} · ${note}` });
      } catch {
        // A mask that cannot be read now says so when it is picked.
      }
    }));
  } finally {
    sub.dispose();
  }
}

export async function computeLossForSelectedFiles(services: HostServices, clicked?: vscode.Uri, selected?: vscode.Uri[], options?: Partial<LossOptions>): Promise<void> {
  try {
    const uris = selected?.length ? selected : clicked ? [clicked] : [];
    const metas = (await Promise.all(uris.map((u) => tensorsIn(u)))).flat();
    if (metas.length < 2 && uris.length < 2) {
      throw new LensError('option', `select 2 or 3 tensor files in the explorer (input, target and optionally weight); got ${uris.length}`);
    }
    const a = assignRoles(metas, { ...lossOptionsFromSettings(), ...options });
    let choice: RoleChoice;
    if (a.kind === 'none') throw new LensError('shape', a.reason);
    if (a.kind === 'ok') choice = a;
    else {
      const pick = await vscode.window.showQuickPick(
        a.options.map((o) => ({ label: `${o.input.name} → ${o.target.name}`, description: o.weight ? `weight ${o.weight.name}` : '', o })),
        { title: 'Cross-Entropy Lens: which is the input and which the target?' },
      );
      if (!pick) return;
      choice = pick.o;
    }
    const spec = (m: TensorMeta): SourceSpec => ({ kind: 'file', path: (m as TensorEntry).spec });
    LossPanel.show(services, { input: spec(choice.input), target: spec(choice.target), weight: choice.weight ? spec(choice.weight) : null, ...fittedOptions(choice, options) });
  } catch (e) {
    void showError(e, 'Compute Cross-Entropy Loss for selected files');
  }
}


function meta(id: string, t: Tensor): TensorMeta {
  return { id, name: id, shape: t.shape, dtype: t.dtype };
}

export async function computeLossFromSelection(services: HostServices, options?: Partial<LossOptions>): Promise<void> {
  try {
    const editor = vscode.window.activeTextEditor;
    if (!editor) throw new LensError('option', 'open an editor and select the text of one or two tensors');
    const found = await literalsInSelection(services, editor);
    if (found === undefined) return;
    const firstError = found.find((f) => 'error' in f);
    const tensors = found.flatMap((f) => ('tensor' in f ? [f.tensor] : []));
    if (tensors.length === 0) throw firstError && 'error' in firstError ? firstError.error : new LensError('format', 'the selection holds no tensor: select text such as tensor([[...]]), np.array([...]) or a JSON list');
    const where = `${path.basename(editor.document.fileName)} selection`;
    const settings = { ...lossOptionsFromSettings(editor.document.uri), ...options };
    let input: SourceSpec;
    let target: SourceSpec;
    if (tensors.length >= 2) {
      const metas = tensors.slice(0, 3).map((t, i) => meta(`${where} #${i + 1}`, t));
      const a = assignRoles(metas, settings);
      if (a.kind === 'none') throw new LensError('shape', a.reason);
      const pickRoles = a.kind === 'ok' ? a : a.options[0];
      const idx = (m: TensorMeta): number => metas.indexOf(m);
      input = inlineSource(tensors[idx(pickRoles.input)], `${where} (input)`);
      target = inlineSource(tensors[idx(pickRoles.target)], `${where} (target)`);
      const weight = pickRoles.weight ? inlineSource(tensors[idx(pickRoles.weight)], `${where} (weight)`) : null;
      LossPanel.show(services, { input, target, weight, ...fittedOptions(pickRoles, options) });
      return;
    }
    // One tensor: ask for the other one.
    const only = tensors[0];
    const role = isInputCandidate(meta('x', only)) && !(only.shape.length === 1 && !only.dtype.startsWith('float')) ? 'target' : 'input';
    const how = await vscode.window.showQuickPick(
      [
        { label: 'Type a list…', description: `the ${role} as JSON or a printed tensor`, id: 'type' as const },
        { label: 'Pick a file…', description: `the ${role} from the workspace`, id: 'file' as const },
      ],
      { title: `Cross-Entropy Lens: the selection holds one tensor ${JSON.stringify(only.shape)}; give the ${role}` },
    );
    if (!how) return;
    let other: SourceSpec;
    if (how.id === 'type') {
      const typed = await vscode.window.showInputBox({
        title: `The ${role}`,
        prompt: 'A JSON list such as [0, 2, 1] or a printed tensor such as tensor([0, 2, 1])',
        validateInput: (v) => {
          // Checked once when accepted, not on every keystroke of a long paste.
          if (v.length > HOST_FIND_CHARS) return null;
          try {
            parseTyped(v);
            return null;
          } catch (e) {
            return e instanceof LensError ? e.message : String(e);
          }
        },
      });
      if (typed === undefined) return;
      other = inlineSource(parseTyped(typed), `typed ${role}`);
    } else {
      const uris = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Tensors: ['npy', 'npz', 'json'] } });
      if (!uris?.length) return;
      other = { kind: 'file', path: uris[0].fsPath };
    }
    input = role === 'target' ? inlineSource(only, where) : other;
    target = role === 'target' ? other : inlineSource(only, where);
    if (input.kind === 'inline' && target.kind === 'inline') {
      const mi = meta('input', toTensor(input));
      const mt = meta('target', toTensor(target));
      const fit = fitPair(mi, mt, settings);
      if (fit.kind === 'misfit') throw new LensError('shape', fit.reason);
      LossPanel.show(services, { input, target, weight: null, ...fittedOptions(fit, options) });
      return;
    }
    LossPanel.show(services, { input, target, weight: null, options: options ?? {} });
  } catch (e) {
    void showError(e, 'Compute Cross-Entropy Loss from Selection');
  }
}

/**
 * The tensor literals of the selection (the whole document when it is empty): searched in place when the
 * text is small, else copied a slice per task into shared memory and searched in a worker, with a
 * cancellable notification. Undefined when the user cancelled.
 */
async function literalsInSelection(services: HostServices, editor: vscode.TextEditor): Promise<TensorLiteral[] | undefined> {
  const doc = editor.document;
  const start = editor.selection.isEmpty ? 0 : doc.offsetAt(editor.selection.start);
  const end = editor.selection.isEmpty ? documentLength(doc) : doc.offsetAt(editor.selection.end);
  if (end - start <= HOST_FIND_CHARS) return findTensorLiterals(doc.getText(new vscode.Range(doc.positionAt(start), doc.positionAt(end))));
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Cross-Entropy Lens: reading tensors from the text…', cancellable: true },
    async (_progress, token) => {
      const ac = new AbortController();
      const sub = token.onCancellationRequested(() => ac.abort());
      try {
        const text = await shareDocument(doc, ac.signal, start, end);
        return await services.engine().findLiterals(text, ac.signal);
      } catch (e) {
        if (token.isCancellationRequested) return undefined;
        throw e;
      } finally {
        sub.dispose();
      }
    },
  );
}

function toTensor(s: SourceSpec & { kind: 'inline' }): Tensor {
  return { dtype: s.dtype, shape: s.shape, data: s.dtype.startsWith('float') ? Float64Array.from(s.data) : Int32Array.from(s.data) };
}

function parseTyped(v: string): Tensor {
  const text = v.trim();
  if (/^[[\d-]/.test(text)) {
    // The document parser keeps which numbers were written as floats ([[2.0, 0.0]] is float64, [0, 2] int64).
    let doc: JsonDocument | undefined;
    try {
      doc = parseJsonDocument(text);
    } catch {
      // not JSON: a printed tensor, found below
    }
    if (doc) return parseJsonTensor(doc.value, '$', doc.marks);
  }
  const found = findTensorLiterals(text);
  const t = found.find((f) => 'tensor' in f);
  if (t && 'tensor' in t) return t.tensor;
  const err = found.find((f) => 'error' in f);
  throw err && 'error' in err ? err.error : new LensError('format', 'not a tensor: type a JSON list such as [0, 2, 1]');
}
