// activate(): wiring only. Computation happens in the engine's worker threads, never here.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { COMMANDS, computeLoss, computeLossForSelectedFiles, computeLossFromSelection } from './host/commands';
import { COMPARE_LOSSES_COMMAND, compareLosses } from './host/compareLosses';
import { EVALUATE_FOLDER_COMMAND, evaluateFolder } from './host/evaluation/evaluateFolder';
import { DATASET_VIEW_TYPE, DatasetPanel } from './host/evaluation/datasetPanel';
import { EVALUATE_CHECKPOINTS_COMMAND, evaluateCheckpoints } from './host/evaluation/evaluateCheckpoints';
import { RUNS_VIEW_TYPE, RunsPanel } from './host/evaluation/runsPanel';
import type { EvalOptions } from './eval/types';
import { registerHovers } from './host/editor/hover';
import { DebugPanel } from './debug/debugPanel';
import { disposeDebug, registerDebug } from './debug/register';
import { INSTALL_HELPER_COMMAND, disposeInstallHelperOutput, installNotebookHelper } from './host/editor/installHelper';
import { disposeLog } from './host/log';
import { LossPanel, PANEL_VIEW_TYPE, type HostServices } from './host/panels/lossPanel';
import { registerNotebookRenderer } from './host/editor/notebookRenderer';
import { maxWorkersSetting } from './host/settings';
import { useEngineForListings } from './host/pick/tensorFiles';
import { recentMessages, type ShownMessage } from './host/notify';
import type { LossOptions } from './kernel/types';
import type { ViewSummary } from './protocol';
import { Engine } from './worker/engine/engine';
import { installNativeCrc32 } from './worker/files/nativeCrc';

let engine: Engine | null = null;

/** What tests and other extensions can reach through the exports of activate(). */
export interface CrossEntropyLensApi {
  /** The panels open now, with their last result or error (tests read the numbers shown). */
  panels(): ReadonlyArray<{
    readonly value: number | null | undefined;
    readonly error: string | null;
    /** The last summary the view was sent (labels, options, class names, engine line), or null. */
    readonly summary: ViewSummary | null;
    /** The colormap the view was started with. */
    readonly colormap: string;
    readonly title: string;
  }>;
  /** The last notifications the extension showed (errors, warnings, information), oldest first. */
  messages(): readonly ShownMessage[];
  /** The panels opened from a debug session: whether each follows its breakpoint, and its stop history. */
  debugPanels(): ReturnType<typeof DebugPanel.current>;
}

export function activate(context: vscode.ExtensionContext): CrossEntropyLensApi {
  installNativeCrc32();
  const services: HostServices = {
    extensionUri: context.extensionUri,
    engine: () => {
      engine ??= new Engine({
        distDir: path.join(context.extensionPath, 'dist'),
        maxWorkers: maxWorkersSetting(),
        // .npy inputs over 32 MiB stream through two reused 16 MiB blocks, keeping their maps: first touching
        // fresh pages for a resident 176 MB batch cost about 1 s here, reading it again into reused ones
        // about 0.1 s (a recompute with other options reads it again instead of finding it resident).
        streamFilesOverBytes: 32 << 20,
        blockBytes: 16 << 20,
        keepStreamedMapsBytes: 512 << 20,
      });
      return engine;
    },
  };
  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.computeLoss, (input?: vscode.Uri, target?: vscode.Uri, options?: Partial<LossOptions>) => computeLoss(services, input, target, options)),
    vscode.commands.registerCommand(COMMANDS.forSelectedFiles, (clicked?: vscode.Uri, selected?: vscode.Uri[], options?: Partial<LossOptions>) =>
      computeLossForSelectedFiles(services, clicked, selected, options),
    ),
    vscode.commands.registerCommand(COMMANDS.fromSelection, (options?: Partial<LossOptions>) => computeLossFromSelection(services, options)),
    vscode.commands.registerCommand(COMPARE_LOSSES_COMMAND, (inputA?: vscode.Uri, inputB?: vscode.Uri, target?: vscode.Uri, options?: Partial<LossOptions>) =>
      compareLosses(services, inputA, inputB, target, options),
    ),
    vscode.commands.registerCommand(EVALUATE_FOLDER_COMMAND, async (predDir?: vscode.Uri, labelDir?: vscode.Uri, options?: Partial<EvalOptions>) => {
      await evaluateFolder(services, predDir, labelDir, options);
    }),
    vscode.commands.registerCommand(EVALUATE_CHECKPOINTS_COMMAND, async (clicked?: vscode.Uri, selected?: vscode.Uri[], labelDir?: vscode.Uri, options?: Partial<EvalOptions>) => {
      await evaluateCheckpoints(services, clicked, selected, labelDir, options);
    }),
    vscode.commands.registerCommand(INSTALL_HELPER_COMMAND, (python?: string) => installNotebookHelper(context.extensionPath, python)),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state: unknown) {
        LossPanel.revive(services, panel, state);
      },
    }),
    vscode.window.registerWebviewPanelSerializer(DATASET_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state: unknown) {
        DatasetPanel.revive(services, panel, state);
      },
    }),
    vscode.window.registerWebviewPanelSerializer(RUNS_VIEW_TYPE, {
      async deserializeWebviewPanel(panel, state: unknown) {
        RunsPanel.revive(services, panel, state);
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
  useEngineForListings(services.engine);
  registerHovers(context, services);
  registerDebug(context, services);
  return {
    panels: () => LossPanel.current().map((p) => ({ value: p.result?.value, error: p.lastErrorMessage, summary: p.shownSummary, colormap: p.colormap, title: p.panel.title })),
    messages: recentMessages,
    debugPanels: () => DebugPanel.current(),
  };
}

export async function deactivate(): Promise<void> {
  disposeDebug();
  LossPanel.disposeAll();
  DatasetPanel.disposeAll();
  RunsPanel.disposeAll();
  await engine?.dispose();
  engine = null;
  disposeLog();
  disposeInstallHelperOutput();
}
