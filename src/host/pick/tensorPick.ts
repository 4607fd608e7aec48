// The Quick Picks of tensor files that the commands share: a list that fills in while headers are read, with
// a Browse… entry for files outside the workspace. No panel here, so the panel may use them too.
import * as vscode from 'vscode';
import { LensError } from '../../errors';
import { fitPair, type TensorMeta } from '../../kernel/roles';
import type { LossOptions } from '../../kernel/types';
import { CLASS_LAST_NOTE } from '../../protocol';
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

/**
 * Shows a Quick Pick whose items arrive while files are read (headers only). Items are only ever appended
 * (update() replaces one in place): the workbench names the row accepted by its index in the list it shows,
 * and the extension host reads that index in the list it last sent, so a row that moved between the two
 * would be accepted as another file.
 */
export async function pickStreaming(
  title: string,
  placeholder: string,
  /** update: replaces a listed item (found by its entry's id), e.g. when a description is known later. */
  load: (add: (items: Item[]) => void, token: vscode.CancellationToken, update: (item: Item) => void) => Promise<void>,
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
  const listed: Item[] = [];
  // Whether the list changed since it was last sent (an item added or replaced).
  let dirty = false;
  let lastRefresh = 0;
  // Each new list makes the workbench focus the first match of its filter, which is right unless the user moved
  // off it with the keyboard: only a row they moved to is made active again. The workbench reports focus
  // changes of three kinds, told apart by their order alone (what this side knows of the filter and the list
  // lags the workbench's, so the rows themselves cannot tell): typing (a report, then the new filter), the
  // report that follows a list sent from here, and a move. A row kept on a guess that is wrong is one the
  // workbench had focused anyway, or one hidden by a newer filter, which leaves no row focused: the accept
  // handler below then focuses the first match again rather than end the command.
  let moved: Item | undefined;
  let pending: Item | undefined;
  // The row the workbench last reported focused: while it puts a new list in place it reports none for a moment.
  let lastFocused: Item | undefined;
  let listSent = false;
  const sameRow = (a: Item, b: Item): boolean => a === b || (a.entry !== undefined && a.entry.id === b.entry?.id);
  qp.onDidChangeValue(() => {
    moved = undefined;
    pending = undefined;
  });
  qp.onDidChangeActive((now) => {
    const k = now[0];
    pending = undefined;
    if (k !== undefined) lastFocused = k;
    if (listSent) {
      listSent = false;
      if (k === undefined || moved === undefined || !sameRow(k, moved)) moved = undefined;
      return;
    }
    moved = undefined;
    // Browse… is focused by the workbench when nothing else matches yet: never a row to hold on to.
    if (k === undefined || k.browse) return;
    pending = k;
    // A report that typing caused is followed by the new filter in the same batch of messages.
    setImmediate(() => {
      if (pending === k) moved = k;
      pending = undefined;
    });
  });
  const refresh = (keepActive = true): void => {
    if (!dirty) return;
    dirty = false;
    lastRefresh = Date.now();
    const keep = keepActive ? moved : undefined;
    const items = [...listed, BROWSE];
    qp.items = items;
    listSent = true;
    // An item that update() replaced is a new object, found by its entry.
    const active = keep === undefined ? undefined : items.find((i) => sameRow(i, keep));
    if (active !== undefined) qp.activeItems = [active];
  };
  // The first items show at once; later changes are gathered for a while (load's end sends the rest).
  const changed = (): void => {
    dirty = true;
    if (lastRefresh === 0 || Date.now() - lastRefresh >= REFRESH_MS) refresh();
  };
  const picked = new Promise<Item | undefined>((resolve) => {
    qp.onDidAccept(() => {
      // Enter while no row was focused (the workbench putting a new list in place, or a kept row that a newer
      // filter hides): the row the user last saw focused is the one they meant. Without one, closing would end
      // the command as if it were dismissed, so the first match is focused again and the next Enter picks it.
      const chosen = qp.selectedItems[0] ?? lastFocused;
      if (chosen !== undefined) return resolve(chosen);
      dirty = true;
      refresh(false);
    });
    qp.onDidHide(() => resolve(undefined));
  });
  qp.show();
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
