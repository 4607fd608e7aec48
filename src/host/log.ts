// The "Cross-Entropy Lens" output channel and the one way errors reach the user: a notification with a
// one-line message and a Show Details action that opens the log. Never a silent failure.
import * as vscode from 'vscode';
import { isLensError } from '../errors';
import { showErrorMessage } from './notify';

let channel: vscode.LogOutputChannel | undefined;

export function log(): vscode.LogOutputChannel {
  channel ??= vscode.window.createOutputChannel('Cross-Entropy Lens', { log: true });
  return channel;
}

/** The user-facing one-line message of any error (LensError as is; anything else marked internal). */
export function messageOf(e: unknown): string {
  if (isLensError(e)) return e.message;
  const m = e instanceof Error ? e.message : String(e);
  return `internal error: ${m.split('\n')[0]}`;
}

export async function showError(e: unknown, context: string): Promise<void> {
  const msg = messageOf(e);
  log().error(`${context}: ${msg}`);
  if (!isLensError(e) && e instanceof Error && e.stack) log().error(e.stack);
  if (isLensError(e) && e.kind === 'cancelled') return;
  const pick = await showErrorMessage(`Cross-Entropy Lens: ${msg}`, 'Show Details');
  if (pick === 'Show Details') log().show(true);
}

export function disposeLog(): void {
  channel?.dispose();
  channel = undefined;
}
