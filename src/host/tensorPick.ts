// The Quick Picks of tensor files that the commands share: a list that fills in while headers are read, with
// a Browse… entry for files outside the workspace. No panel here, so the panel may use them too.
import * as vscode from 'vscode';
import { LensError } from '../errors';
import { fitPair, type TensorMeta } from '../kernel/roles';
import type { LossOptions } from '../kernel/types';
import { CLASS_LAST_NOTE } from '../protocol';
import { describeEntry, findTensorFiles, tensorsIn, type TensorEntry } from './tensorFiles';

export interface Item extends vscode.QuickPickItem {
  readonly entry?: TensorEntry;
  readonly browse?: true;
}

export function item(e: TensorEntry): Item {
  return { label: e.name, description: describeEntry(e), entry: e };
}

/** A target's item, saying when it fits only with the class axis last. */
export function targetItem(input: TensorMeta, e: TensorEntry, opts: Partial<LossOptions>): Item {
  const it = item(e);
  const fit = fitPair(input, e, opts);
  return fit.kind === 'fits' && fit.classLastFromShapes ? { ...it, description: `${it.description ?? ''} · ${CLASS_LAST_NOTE}` } : it;
}

export const BROWSE: Item = { label: '$(folder-opened) Browse…', description: 'a tensor file outside the workspace', browse: true, alwaysShow: true };

/**
 * How often a streaming Quick Pick's list is refreshed: each refresh sends the whole list to the
 * workbench, so refreshing per batch would cost quadratic time on a workspace with thousands of files.
 */
const REFRESH_MS = 150;

/** Shows a Quick Pick whose items arrive while files are read (headers only). */
/** order: how the list is sorted as items arrive (a stable sort, so arrival order holds within ties). */
export async function pickStreaming(
  title: string,
  placeholder: string,
  /** update: replaces a listed item (found by its entry's id), e.g. when a description is known later. */
  load: (add: (items: Item[]) => void, token: vscode.CancellationToken, update: (item: Item) => void) => Promise<void>,
  order?: (a: Item, b: Item) => number,
  /** Stays open when the focus moves (a click in the panel that opened beside it must not cancel the pick). */
  ignoreFocusOut = false,
): Promise<Item | undefined> {
  const qp = vscode.window.createQuickPick<Item>();
  qp.ignoreFocusOut = ignoreFocusOut;
  qp.title = title;
  qp.placeholder = placeholder;
  qp.matchOnDescription = true;
  qp.busy = true;
  qp.items = [BROWSE];
  const cts = new vscode.CancellationTokenSource();
  const picked = new Promise<Item | undefined>((resolve) => {
    qp.onDidAccept(() => resolve(qp.selectedItems[0]));
    qp.onDidHide(() => resolve(undefined));
  });
  qp.show();
  const listed: Item[] = [];
  // Whether the list changed since it was last sent (an item added or replaced).
  let dirty = false;
  let lastRefresh = 0;
  const refresh = (): void => {
    if (!dirty) return;
    dirty = false;
    lastRefresh = Date.now();
    // The item the user moved to (or filtered down to) stays active; otherwise the list's first match is.
    const keep = qp.activeItems.filter((i) => !i.browse);
    const items = [...(order ? [...listed].sort(order) : listed), BROWSE];
    qp.items = items;
    // An item that update() replaced is a new object: the old one is in no list, and made active it would
    // leave nothing active, so Enter would accept nothing and the pick would close as if dismissed.
    const active = keep.flatMap((k) => items.find((i) => i === k || (k.entry !== undefined && i.entry?.id === k.entry.id)) ?? []);
    if (active.length) qp.activeItems = active;
  };
  // The first items show at once; later changes are gathered for a while (load's end sends the rest).
  const changed = (): void => {
    dirty = true;
    if (lastRefresh === 0 || Date.now() - lastRefresh >= REFRESH_MS) refresh();
  };
  void load((items) => {
    // Nothing new: setting the same items again would reset the list under the user's typing.
    if (items.length === 0) return;
    listed.push(...items);
    changed();
  }, cts.token, (item) => {
    const at = listed.findIndex((i) => i.entry !== undefined && i.entry.id === item.entry?.id);
    if (at < 0) return;
    listed[at] = item;
    changed();
  }).finally(() => {
    refresh();
    qp.busy = false;
  });
  const result = await picked;
  cts.cancel();
  qp.dispose();
  return result;
}

export async function browse(title: string): Promise<TensorEntry | undefined> {
  const uris = await vscode.window.showOpenDialog({ title, canSelectMany: false, filters: { Tensors: ['npy', 'npz', 'json', 'png'], 'All files': ['*'] } });
  if (!uris?.length) return undefined;
  const entries = await tensorsIn(uris[0]);
  if (entries.length === 0) throw new LensError('format', `${uris[0].fsPath}: no tensor found in this file`);
  if (entries.length === 1) return entries[0];
  const pick = await vscode.window.showQuickPick(entries.map(item), { title: 'Which array?' });
  return pick?.entry;
}

/** Reads the workspace's tensor headers a few dozen files at a time, handing each batch on as it is read. */
export async function scanTensorEntries(token: vscode.CancellationToken, onBatch: (batch: TensorEntry[]) => void): Promise<void> {
  const uris = await findTensorFiles(token);
  for (let i = 0; i < uris.length && !token.isCancellationRequested; i += 32) {
    onBatch((await Promise.all(uris.slice(i, i + 32).map((u) => tensorsIn(u)))).flat());
  }
}
