// activate(): wiring only. The commands, panel, renderer messaging and hovers arrive with their issues;
// until then the extension contributes its settings and the CLI (dist/cli.js) does the computing.
import type * as vscode from 'vscode';

export function activate(_context: vscode.ExtensionContext): void {
  // Nothing to wire yet.
}

export function deactivate(): void {
  // Nothing to release yet.
}
