// The one way the extension shows notifications. Besides showing them it keeps the last few, so that tests
// running in the extension host (the test API of activate()) can see what the user was told: a toast is
// drawn by the workbench, out of reach of the extension host.
import * as vscode from 'vscode';

export interface ShownMessage {
  readonly severity: 'error' | 'warning' | 'info';
  readonly text: string;
  /** The buttons offered with it. */
  readonly items: readonly string[];
  /** Date.now() when it was shown. */
  readonly at: number;
}

/** Enough for a test to look at what one action showed; older ones are dropped. */
const KEEP = 20;
const shown: ShownMessage[] = [];

function record(severity: ShownMessage['severity'], text: string, items: readonly string[]): void {
  shown.push({ severity, text, items: [...items], at: Date.now() });
  if (shown.length > KEEP) shown.splice(0, shown.length - KEEP);
}

export function showErrorMessage<T extends string>(text: string, ...items: T[]): Thenable<T | undefined> {
  record('error', text, items);
  return vscode.window.showErrorMessage(text, ...items);
}

export function showWarningMessage<T extends string>(text: string, ...items: T[]): Thenable<T | undefined> {
  record('warning', text, items);
  return vscode.window.showWarningMessage(text, ...items);
}

export function showInformationMessage<T extends string>(text: string, ...items: T[]): Thenable<T | undefined> {
  record('info', text, items);
  return vscode.window.showInformationMessage(text, ...items);
}

/** The messages shown, oldest first (at most the last 20). */
export function recentMessages(): readonly ShownMessage[] {
  return [...shown];
}
