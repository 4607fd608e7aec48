// Evaluate Folder…: pick a predictions folder and a labels folder, pair them as `eval` does, and run the
// evaluation on the engine's workers into a dataset view, with a progress notification that can cancel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LensError } from '../../errors';
import { pairFolders } from '../../eval/files';
import { isLabelFile, isPredictionFile, labelStem, predictionStem } from '../../eval/pairing';
import type { EvalOptions } from '../../eval/types';
import { DatasetPanel } from './datasetPanel';
import type { HostServices } from '../panels/lossPanel';
import { showError } from '../log';
import { lossOptionsFromSettings } from '../settings';

export const EVALUATE_FOLDER_COMMAND = 'crossEntropyLens.evaluateFolder';

/** The CLI's defaults for what the settings do not cover (src/cli/evalCommand.ts). */
const BINS = 15;
const BOUNDARY = 3;

/** Options from the settings (weight none), as `eval` would get them from its flags; `given` wins. */
export function evalOptionsFromSettings(scope: vscode.Uri | undefined, given: Partial<EvalOptions> = {}): EvalOptions {
  const s = lossOptionsFromSettings(scope);
  return {
    ignoreIndex: s.ignoreIndex ?? -100,
    labelSmoothing: s.labelSmoothing ?? 0,
    classDim: s.classDim ?? 1,
    bins: BINS,
    boundary: BOUNDARY,
    weight: null,
    ...given,
  };
}

interface FolderItem extends vscode.QuickPickItem {
  readonly folder?: string;
  readonly browse?: true;
}

const BROWSE: FolderItem = { label: '$(folder-opened) Browse…', description: 'a folder outside this list', browse: true, alwaysShow: true };

export async function openFolderDialog(title: string, defaultUri: vscode.Uri | undefined): Promise<vscode.Uri | undefined> {
  const uris = await vscode.window.showOpenDialog({ title, canSelectFolders: true, canSelectFiles: false, canSelectMany: false, defaultUri, openLabel: 'Select' });
  return uris?.[0];
}

export function defaultFolder(): vscode.Uri | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri;
}

/** How many leading path components two folders share. */
export function sharedPrefixDepth(a: string, b: string): number {
  const x = path.resolve(a).split(path.sep);
  const y = path.resolve(b).split(path.sep);
  let k = 0;
  while (k < x.length && k < y.length && x[k] === y[k]) k++;
  return k;
}

/**
 * Workspace folders holding label files, those whose stems match most predictions first: the labels
 * folder is usually a sibling (labels/, gt/, annotations/) with the same stems.
 */
async function labelFolderCandidates(predDir: string, token: vscode.CancellationToken): Promise<FolderItem[]> {
  let predStems: Set<string>;
  try {
    predStems = new Set(fs.readdirSync(predDir).filter(isPredictionFile).map(predictionStem));
  } catch {
    return [];
  }
  const uris = await vscode.workspace.findFiles('**/*.{png,npy,npz,pt,pth,safetensors}', '**/{node_modules,.git}/**', 20000, token);
  const byFolder = new Map<string, number>();
  for (const u of uris) {
    const dir = path.dirname(u.fsPath);
    if (dir === predDir) continue;
    const name = path.basename(u.fsPath);
    if (!isLabelFile(name)) continue;
    const hit = predStems.has(labelStem(name)) ? 1 : 0;
    byFolder.set(dir, (byFolder.get(dir) ?? 0) + hit);
  }
  // Equal matches: the folder nearest the predictions first (runs/labels for runs/checkpoints/step05k, not
  // another set's labels/ that happens to use the same stems).
  const near = (dir: string): number => sharedPrefixDepth(dir, predDir);
  return [...byFolder.entries()]
    .filter(([, hits]) => hits > 0)
    .sort((a, b) => b[1] - a[1] || near(b[0]) - near(a[0]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([dir, hits]) => ({ label: vscode.workspace.asRelativePath(dir, false), description: `${hits} of ${predStems.size} predictions have a label here`, folder: dir }));
}

export async function pickLabelFolder(predDir: string): Promise<string | undefined> {
  const cts = new vscode.CancellationTokenSource();
  try {
    const candidates = await labelFolderCandidates(predDir, cts.token);
    if (candidates.length === 0) return (await openFolderDialog('Cross-Entropy Lens: labels folder', vscode.Uri.file(path.dirname(predDir))))?.fsPath;
    const pick = await vscode.window.showQuickPick<FolderItem>([...candidates, BROWSE], {
      title: 'Cross-Entropy Lens: labels folder',
      placeHolder: `Labels for ${path.basename(predDir)} (paired by stem)`,
      matchOnDescription: true,
    });
    if (!pick) return undefined;
    if (pick.browse) return (await openFolderDialog('Cross-Entropy Lens: labels folder', vscode.Uri.file(path.dirname(predDir))))?.fsPath;
    return pick.folder;
  } finally {
    cts.dispose();
  }
}

/**
 * The command. predDir: the explorer's folder (or a caller's); labelDir and options for programmatic use.
 * Resolves with the panel once the evaluation has ended (or undefined when a pick was dismissed).
 */
export async function evaluateFolder(services: HostServices, predDir?: vscode.Uri, labelDir?: vscode.Uri, options?: Partial<EvalOptions>): Promise<DatasetPanel | undefined> {
  try {
    const pred = predDir?.fsPath ?? (await openFolderDialog('Cross-Entropy Lens: predictions folder (logits)', defaultFolder()))?.fsPath;
    if (!pred) return undefined;
    const label = labelDir?.fsPath ?? (await pickLabelFolder(pred));
    if (!label) return undefined;
    const pairing = pairFolders(pred, label);
    if (pairing.pairs.length === 0) {
      throw new LensError('io', `no prediction in ${pred} has a label of the same stem in ${label}${pairing.unmatched.length ? ` (unmatched: ${pairing.unmatched.slice(0, 3).join(', ')}${pairing.unmatched.length > 3 ? ', …' : ''})` : ''}`);
    }
    const evalOptions = evalOptionsFromSettings(vscode.Uri.file(pred), options);
    const panel = DatasetPanel.create(services, { predDir: pred, labelDir: label, pairs: pairing.pairs, unmatched: pairing.unmatched, options: evalOptions });
    const total = pairing.pairs.length;
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Cross-Entropy Lens: evaluating ${path.basename(pred)}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => panel.cancel());
        let reported = 0;
        await panel.evaluate(services, (done) => {
          const pct = (100 * done) / total;
          progress.report({ increment: pct - reported, message: `${done}/${total} images` });
          reported = pct;
        });
      },
    );
    return panel;
  } catch (e) {
    void showError(e, 'Evaluate Folder');
    return undefined;
  }
}
