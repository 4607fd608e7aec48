// Evaluate Checkpoints…: several prediction folders (one per checkpoint) against one labels folder, as
// `runs LABEL_DIR RUN_DIR...` evaluates them, into the runs view. The run folders come from the explorer
// (a multi-selection, or one folder whose subfolders hold predictions: checkpoints/epoch10, epoch30, …) or
// from an open dialog; the labels folder from the same pick as Evaluate Folder….
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LensError } from '../../errors';
import { pairRunFolders } from '../../eval/files';
import { isPredictionFile } from '../../eval/pairing';
import type { EvalOptions } from '../../eval/types';
import { defaultFolder, evalOptionsFromSettings, pickLabelFolder } from './evaluateFolder';
import type { HostServices } from '../panels/lossPanel';
import { showError } from '../log';
import { runNamesOf, toRunsRequest } from './runsMessages';
import { RunsPanel } from './runsPanel';

export const EVALUATE_CHECKPOINTS_COMMAND = 'crossEntropyLens.evaluateCheckpoints';

function holdsPredictions(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some(isPredictionFile);
  } catch {
    return false;
  }
}

/** One folder clicked: its subfolders that hold predictions, in name order (epoch2 before epoch10). */
function checkpointSubfolders(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => path.join(dir, e.name))
    .filter(holdsPredictions)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** The run folders from the explorer's arguments, else from an open dialog (several folders). */
async function runFolders(clicked: vscode.Uri | undefined, selected: readonly vscode.Uri[] | undefined): Promise<string[] | undefined> {
  let chosen = (selected && selected.length > 0 ? selected : clicked ? [clicked] : []).map((u) => u.fsPath);
  if (chosen.length === 0) {
    // Several folders, or the one that holds them (code-server's simple dialog picks one folder only).
    const picked = await vscode.window.showOpenDialog({
      title: 'Cross-Entropy Lens: checkpoint folders (one folder of predictions per run), or the folder holding them',
      canSelectFolders: true, canSelectFiles: false, canSelectMany: true, defaultUri: defaultFolder(), openLabel: 'Select',
    });
    if (!picked) return undefined;
    chosen = picked.map((u) => u.fsPath);
  }
  if (chosen.length === 1) {
    const subs = checkpointSubfolders(chosen[0]);
    if (subs.length >= 2) return subs;
  }
  return chosen;
}

/**
 * The command: `(clicked, selected)` from the explorer; a labels folder and options for programmatic use.
 * Resolves with the view once the evaluation has ended (undefined when a pick was dismissed or it failed).
 */
export async function evaluateCheckpoints(
  services: HostServices, clicked?: vscode.Uri, selected?: readonly vscode.Uri[], labelDir?: vscode.Uri, options?: Partial<EvalOptions>,
): Promise<RunsPanel | undefined> {
  try {
    const folders = await runFolders(clicked, selected);
    if (!folders || folders.length === 0) return undefined;
    if (folders.length < 2) throw new LensError('io', `Evaluate Checkpoints needs at least two run folders (got ${path.basename(folders[0])} alone; for one folder use Evaluate Folder…)`);
    // Several folders chosen together (an explorer multi-selection, a dialog) come in no order that means
    // anything: by name then (epoch2 before epoch10), as the subfolders of one folder are.
    const ordered = [...folders].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const label = labelDir?.fsPath ?? (await pickLabelFolder(ordered[0]));
    if (!label) return undefined;
    const names = runNamesOf(ordered);
    const runs = ordered.map((folder, k) => ({ name: names[k], folder }));
    const pairing = pairRunFolders(label, runs);
    if (pairing.stems.length === 0) {
      throw new LensError('io', `no image has a label in ${label} and a prediction in every run folder${pairing.unmatched.length ? ` (unmatched: ${pairing.unmatched.slice(0, 3).join(', ')}${pairing.unmatched.length > 3 ? ', …' : ''})` : ''}`);
    }
    const request = toRunsRequest({ labelDir: label, runs, options: evalOptionsFromSettings(vscode.Uri.file(ordered[0]), options) });
    const panel = RunsPanel.create(services, request, pairing);
    const total = pairing.stems.length * runs.length;
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Cross-Entropy Lens: evaluating ${runs.length} checkpoints`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => panel.cancel());
        let reported = 0;
        await panel.evaluate((run, done) => {
          const pct = (100 * (run * pairing.stems.length + done)) / total;
          progress.report({ increment: pct - reported, message: `${runs[run].name}: ${done}/${pairing.stems.length} images` });
          reported = pct;
        });
      },
    );
    return panel;
  } catch (e) {
    void showError(e, 'Evaluate Checkpoints');
    return undefined;
  }
}
