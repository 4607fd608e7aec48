// Cross-Entropy Lens: Compare Losses… — input A, input B (A's shape first), then the target, as Compute
// Loss… picks them; the panel shows run B with B - A. Arguments (inputAUri, inputBUri, targetUri, options)
// skip the pickers for programmatic use.
import * as vscode from 'vscode';
import { LensError } from '../errors';
import { fitPair, fittedOptions, isInputCandidate, rankTargets } from '../kernel/roles';
import type { LossOptions } from '../kernel/types';
import { checkSameShape } from '../worker/engine/compareSession';
import { pickInputLike } from './pick/comparePick';
import { LossPanel, type HostServices } from './panels/lossPanel';
import { showError } from './log';
import { lossOptionsFromSettings } from './settings';
import { describeEntry, tensorsIn, type TensorEntry } from './pick/tensorFiles';
import { browse, item, pickStreaming, scanTensorEntries, targetItem } from './pick/tensorPick';

export const COMPARE_LOSSES_COMMAND = 'crossEntropyLens.compareLosses';

/** The first tensor a given file holds (a programmatic argument names a file, not an array in it). */
async function entryOf(uri: vscode.Uri, what: string): Promise<TensorEntry> {
  const entries = await tensorsIn(uri);
  if (entries.length === 0) throw new LensError('format', `${uri.fsPath}: no tensor found in this file (${what})`);
  return entries[0];
}

export async function compareLosses(services: HostServices, inputAUri?: vscode.Uri, inputBUri?: vscode.Uri, targetUri?: vscode.Uri, options?: Partial<LossOptions>): Promise<void> {
  try {
    const file = (p: string): { kind: 'file'; path: string } => ({ kind: 'file', path: p });
    if (inputAUri && inputBUri && targetUri) {
      LossPanel.show(services, { input: file(inputBUri.fsPath), target: file(targetUri.fsPath), weight: null, options: options ?? {}, baseline: file(inputAUri.fsPath) });
      return;
    }
    const all: TensorEntry[] = [];
    // Input A picked before the scan got through the workspace cancels it: `all` is then only part of the
    // workspace, and the targets are scanned again rather than looked for in it.
    let scanned = false;
    let a: TensorEntry | undefined;
    if (inputAUri) a = await entryOf(inputAUri, 'input A');
    else {
      const pick = await pickStreaming('Cross-Entropy Lens: compare losses — input A (the baseline)', 'Pick the first input (shape and dtype from the header)', async (add, token) => {
        await scanTensorEntries(token, (batch) => {
          all.push(...batch);
          const inputs = batch.filter(isInputCandidate);
          if (inputs.length) add(inputs.map(item));
        });
        scanned = !token.isCancellationRequested;
      });
      if (!pick) return;
      a = pick.browse ? await browse('Input A') : pick.entry;
    }
    if (!a) return;
    const b = inputBUri ? await entryOf(inputBUri, 'input B') : await pickInputLike(`Cross-Entropy Lens: compare losses — input B, compared with ${a.name}`, a);
    if (!b) return;
    // Only inputs of one shape compare against one target: say so now rather than after computing A.
    checkSameShape(a.name, a.shape, b.name, b.shape);
    let targetSpec: string | undefined = targetUri?.fsPath;
    let fitted: ReturnType<typeof fittedOptions> = { options: options ?? {} };
    if (!targetSpec) {
      const input = a;
      const opts = { ...lossOptionsFromSettings(), ...options };
      const known = scanned;
      const pick = await pickStreaming('Cross-Entropy Lens: compare losses — target', `Targets that fit ${input.name} ${describeEntry(input)}`, async (add, token) => {
        if (known) add(rankTargets(input, all, opts).map((e) => targetItem(input, e, opts)));
        // Input A given as an argument (nothing scanned yet), or picked before the scan was through.
        else await scanTensorEntries(token, (batch) => add(rankTargets(input, batch, opts).map((e) => targetItem(input, e, opts))));
      });
      if (!pick) return;
      const target = pick.browse ? await browse('Target tensor') : pick.entry;
      if (!target) return;
      targetSpec = target.spec;
      fitted = fittedOptions(fitPair(input, target, opts), options);
    }
    LossPanel.show(services, { input: file(b.spec), target: file(targetSpec), weight: null, ...fitted, baseline: file(a.spec) });
  } catch (e) {
    void showError(e, 'Compare Losses');
  }
}
