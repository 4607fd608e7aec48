// Saving what the view exports (the panel's and a notebook output's): a PNG of the heatmap or a CSV of the
// class table as the view sent them, or the unreduced loss map as a float32 .npy from the host's result.
import * as vscode from 'vscode';
import { LensError } from '../../errors';
import { encodeNpy } from '../../tensor/binary/npy';
import { showInformationMessage } from '../notify';

export type ExportKind = 'png' | 'csv' | 'npy';

/**
 * Asks where to save (proposing `proposed`), then writes the file. `lossMap` gives the whole unreduced
 * loss and its shape (computed now where the result keeps its maps on demand), or null when it was not
 * kept (a streamed input).
 */
export async function saveExport(
  kind: ExportKind, data: string | undefined, proposed: vscode.Uri | undefined,
  lossMap: () => Promise<{ readonly shape: readonly number[]; readonly data: ArrayLike<number> } | null>,
): Promise<void> {
  const target = await vscode.window.showSaveDialog({ defaultUri: proposed });
  if (!target) return;
  let bytes: Uint8Array;
  if (kind === 'png') {
    const m = /^data:image\/png;base64,(.*)$/.exec(data ?? '');
    if (!m) throw new LensError('format', 'the view sent no PNG data');
    bytes = Buffer.from(m[1], 'base64');
  } else if (kind === 'csv') {
    bytes = Buffer.from(data ?? '', 'utf8');
  } else {
    const map = await lossMap();
    if (!map) throw new LensError('io', 'no loss map to export (the input streamed; use the CLI with --out)');
    bytes = encodeNpy({ dtype: 'float32', shape: map.shape, data: Float32Array.from(map.data) });
  }
  try {
    await vscode.workspace.fs.writeFile(target, bytes);
  } catch (e) {
    // A file system error is the user's to fix (a file in the way, no permission, a full disk): say which
    // file and why in one line, not as an internal error.
    throw new LensError('io', `could not write ${vscode.workspace.asRelativePath(target, false)}: ${e instanceof Error ? e.message : String(e)}`);
  }
  void showInformationMessage(`Cross-Entropy Lens: wrote ${vscode.workspace.asRelativePath(target, false)}`);
}
