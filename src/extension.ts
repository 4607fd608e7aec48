// activate(): wiring only. Computation happens in the engine's worker threads, never here.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { COMMANDS, computeLoss, computeLossForSelectedFiles, computeLossFromSelection } from './host/commands';
import { registerHovers } from './host/hover';
import { disposeLog } from './host/log';
import { LossPanel, PANEL_VIEW_TYPE, type HostServices } from './host/lossPanel';
import { registerNotebookRenderer } from './host/notebookRenderer';
import { maxWorkersSetting } from './host/settings';
import type { LossOptions } from './kernel/types';
import { Engine } from './worker/engine';

let engine: Engine | null = null;

/** What tests and other extensions can reach through the exports of activate(). */
export interface CrossEntropyLensApi {
  /** The panels open now, with their last result or error (tests read the numbers shown). */
  panels(): ReadonlyArray<{ readonly value: number | null | undefined; readonly error: string | null }>;
}

export function activate(context: vscode.ExtensionContext): CrossEntropyLensApi {
  const services: HostServices = {
    extensionUri: context.extensionUri,
    engine: () => {
      engine ??= new Engine({ distDir: path.join(context.extensionPath, 'dist'), maxWorkers: maxWorkersSetting() });
      return engine;
    },
  };
  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.computeLoss, (input?: vscode.Uri, target?: vscode.Uri, options?: Partial<LossOptions>) => computeLoss(services, input, target, options)),
    vscode.commands.registerCommand(COMMANDS.forSelectedFiles, (clicked?: vscode.Uri, selected?: vscode.Uri[], options?: Partial<LossOptions>) =>
      computeLossForSelectedFiles(services, clicked, selected, options),
    ),
    vscode.commands.registerCommand(COMMANDS.fromSelection, (options?: Partial<LossOptions>) => computeLossFromSelection(services, options)),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state: unknown) {
        LossPanel.revive(services, panel, state);
      },
    }),
    registerNotebookRenderer(services),
    vscode.workspace.onDidChangeConfiguration((e) => {
      // A new worker count takes effect with the next computation.
      if (e.affectsConfiguration('crossEntropyLens.maxWorkers') && engine) {
        const old = engine;
        engine = null;
        void old.dispose();
      }
    }),
  );
  registerHovers(context, services);
  return {
    panels: () => LossPanel.current().map((p) => ({ value: p.result?.value, error: p.lastErrorMessage })),
  };
}

export async function deactivate(): Promise<void> {
  LossPanel.disposeAll();
  await engine?.dispose();
  engine = null;
  disposeLog();
}
