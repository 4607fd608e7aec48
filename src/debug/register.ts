// Wiring of the debug-session features (activate() calls this): the stop tracker, the temporary files, the
// three commands, the debug hover, and the Explain notification on exceptions raised in a loss call.
import * as vscode from 'vscode';
import type { HostServices } from '../host/panels/lossPanel';
import { log, messageOf } from '../host/log';
import { computeLossFromDebug, DEBUG_COMMANDS, debugVariableLoss, explainDebugException, offerExplain, type DebugLossArgs } from './debugCommands';
import { DebugHoverProvider } from './debugHover';
import { DebugPanel, type DebugServices } from './debugPanel';
import { DebugStops } from './stops';
import { DebugTransfers } from './transfer';

let transfers: DebugTransfers | null = null;

export function registerDebug(context: vscode.ExtensionContext, host: HostServices): void {
  const stops = new DebugStops();
  transfers = new DebugTransfers();
  const services: DebugServices = { host, transfers, stops };
  context.subscriptions.push(
    stops,
    stops.onStop((e) => {
      if (e.reason === 'exception') void offerExplain(services, e).catch((err) => log().warn(`explain offer: ${messageOf(err)}`));
    }),
    stops.onEnd((s) => transfers?.endSession(s.id)),
    vscode.commands.registerCommand(DEBUG_COMMANDS.computeLossFromDebug, (args?: DebugLossArgs) => computeLossFromDebug(services, args)),
    vscode.commands.registerCommand(DEBUG_COMMANDS.debugVariableLoss, (ctx?: Parameters<typeof debugVariableLoss>[1]) => debugVariableLoss(services, ctx)),
    vscode.commands.registerCommand(DEBUG_COMMANDS.explainDebugException, () => explainDebugException(services)),
    vscode.languages.registerHoverProvider({ language: 'python' }, new DebugHoverProvider(services)),
  );
}

/** Closes the debug panels and deletes every temporary file (deactivate()). */
export function disposeDebug(): void {
  DebugPanel.disposeAll();
  transfers?.dispose();
  transfers = null;
}
