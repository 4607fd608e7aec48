// Hover tooltips for tensor literals (JSON, JSONC, Python files and notebook cells, Markdown code blocks)
// and for string literals naming .npy/.npz files. Thin glue over the pure src/hover modules: the literal
// index is cached per document version; anything that is not small (scanning a large document, parsing a
// large literal, reading a file) runs in the engine's worker threads, and a cancelled hover cancels it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LensError, isLensError } from '../errors';
import { commandUri, escapeMarkdown, fileHoverMarkdown, literalHoverMarkdown } from '../hover/markdown';
import { hoverReport, parseLiteral, type HoverReport, type LiteralText, type ReportRequest } from '../hover/report';
import { findPair, literalAt, pathAt, scanDocument, type DocumentSyntax, type LiteralIndex, type LiteralPair, type LiteralSpan, type PathSpan } from '../hover/scan';
import type { FileSummary } from '../hover/files';
import { splitMemberSpec } from '../tensor/load';
import type { Tensor } from '../tensor/tensor';
import { LossPanel, type HostServices, type SourceSpec } from './lossPanel';
import { log, messageOf, showError } from './log';
import { lossOptionsFromSettings } from './settings';

/** Internal (not in the palette): opens the loss panel on the literal pair at a document offset. */
export const OPEN_PANEL_FOR_LITERALS = 'crossEntropyLens.openPanelForLiterals';

export interface OpenPanelArgs {
  readonly uri: string;
  /** An offset inside the hovered literal; the pair is found again from the document as it is now. */
  readonly offset: number;
}

const LANGUAGES: Readonly<Record<string, DocumentSyntax>> = { json: 'json', jsonc: 'json', python: 'python', markdown: 'markdown' };

/** Documents up to this many characters are scanned in place (about a millisecond); larger ones in a worker. */
const HOST_SCAN_CHARS = 256 * 1024;
/** Literal text up to this many characters (all literals of one hover) is parsed in place; more in a worker. */
const HOST_REPORT_CHARS = 32 * 1024;
/** Documents whose index (and last reports) stay cached. */
const CACHED_DOCUMENTS = 16;
const CACHED_REPORTS = 8;
const CACHED_FILES = 32;
/** Large literals (of input/target pairs) whose reports are computed ahead of a hover, per document. */
const WARM_LITERALS = 4;
/** A large document is scanned again this long after typing stops (a hover before then scans at once). */
const WARM_AFTER_TYPING_MS = 750;

function cancelled(): LensError {
  return new LensError('cancelled', 'hover cancelled');
}

/** Settles with `p`, or rejects as cancelled as soon as the token fires. */
function untilCancelled<T>(p: Promise<T>, token: vscode.CancellationToken): Promise<T> {
  if (token.isCancellationRequested) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const sub = token.onCancellationRequested(() => {
      sub.dispose();
      reject(cancelled());
    });
    p.then(
      (v) => (sub.dispose(), resolve(v)),
      (e: unknown) => (sub.dispose(), reject(e)),
    );
  });
}

interface IndexEntry {
  readonly version: number;
  readonly index: Promise<LiteralIndex>;
  /** Stops a worker scan when no hover waits for it any more. */
  readonly abort: AbortController;
  waiting: number;
  settled: boolean;
  readonly reports: Map<string, HoverReport>;
  /** Reports being computed (by a hover or ahead of one), so a hover joins them instead of starting again. */
  readonly pending: Map<string, Promise<HoverReport>>;
  /** Stops the reports computed ahead of a hover once this version of the document is gone. */
  readonly stale: AbortController;
}

class LensHoverProvider implements vscode.HoverProvider {
  private readonly docs = new Map<string, IndexEntry>();
  private readonly files = new Map<string, FileSummary>();

  constructor(private readonly services: HostServices) {}

  /**
   * Starts the literal scan of a large document ahead of any hover (on open, and after typing pauses),
   * so the first hover pays only for the literals under the cursor. The scan runs in a worker.
   */
  warm(doc: vscode.TextDocument): void {
    const syntax = LANGUAGES[doc.languageId];
    if (syntax === undefined || doc.lineCount === 0) return;
    const length = doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end);
    if (length <= HOST_SCAN_CHARS) return;
    const entry = this.entry(doc, syntax);
    // The large literals of input/target pairs (a few) get their reports ahead of a hover too: parsing
    // megabytes of numbers is most of a first hover's time.
    entry.index.then((index) => {
      let started = 0;
      for (const lit of index.literals) {
        if (started >= WARM_LITERALS || entry.stale.signal.aborted) break;
        if (lit.listEnd - lit.listStart <= HOST_REPORT_CHARS) continue;
        const pair = findPair(index, lit);
        if (pair === null) continue;
        started++;
        this.report(doc, entry, pair, lit, undefined).catch(() => undefined);
      }
    }, () => undefined);
  }

  forget(uri: vscode.Uri): void {
    const e = this.docs.get(uri.toString());
    if (e !== undefined && !e.settled) e.abort.abort();
    e?.stale.abort();
    this.docs.delete(uri.toString());
  }

  /** The document's literal index for its current version, shared by every hover on that version. */
  private entry(doc: vscode.TextDocument, syntax: DocumentSyntax): IndexEntry {
    const key = doc.uri.toString();
    const old = this.docs.get(key);
    if (old !== undefined && old.version === doc.version) {
      // Most recently used last, for the eviction below.
      this.docs.delete(key);
      this.docs.set(key, old);
      return old;
    }
    if (old !== undefined && !old.settled) old.abort.abort();
    old?.stale.abort();
    const text = doc.getText();
    const abort = new AbortController();
    const index = text.length <= HOST_SCAN_CHARS ? Promise.resolve(scanDocument(text, syntax)) : this.services.engine().hoverIndex(text, syntax, abort.signal);
    const e: IndexEntry = { version: doc.version, index, abort, waiting: 0, settled: false, reports: new Map(), pending: new Map(), stale: new AbortController() };
    index.then(
      () => (e.settled = true),
      () => {
        // A failed or cancelled scan is not cached: the next hover tries again.
        e.settled = true;
        if (this.docs.get(key) === e) this.docs.delete(key);
      },
    );
    this.docs.delete(key);
    this.docs.set(key, e);
    while (this.docs.size > CACHED_DOCUMENTS) this.forget(vscode.Uri.parse(this.docs.keys().next().value as string));
    return e;
  }

  private async index(e: IndexEntry, token: vscode.CancellationToken): Promise<LiteralIndex> {
    if (e.settled) return e.index;
    e.waiting++;
    let counted = true;
    const release = (): void => {
      if (counted) {
        counted = false;
        e.waiting--;
      }
    };
    const sub = token.onCancellationRequested(() => {
      release();
      if (e.waiting === 0 && !e.settled) e.abort.abort();
    });
    try {
      return await untilCancelled(e.index, token);
    } finally {
      sub.dispose();
      release();
    }
  }

  async provideHover(doc: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const syntax = LANGUAGES[doc.languageId];
    if (syntax === undefined) return undefined;
    try {
      const entry = this.entry(doc, syntax);
      const index = await this.index(entry, token);
      const offset = doc.offsetAt(position);
      const p = pathAt(index, offset);
      if (p !== undefined) return await this.fileHover(doc, p, token);
      const lit = literalAt(index, offset);
      if (lit === undefined) return undefined;
      return await this.literalHover(doc, entry, index, lit, token);
    } catch (e) {
      if (isLensError(e) && e.kind === 'cancelled') return undefined;
      log().warn(`hover: ${messageOf(e)}`);
      return undefined;
    }
  }

  private async literalHover(doc: vscode.TextDocument, entry: IndexEntry, index: LiteralIndex, lit: LiteralSpan, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const pair = findPair(index, lit);
    const report = await this.report(doc, entry, pair, lit, token);
    const args: OpenPanelArgs = { uri: doc.uri.toString(), offset: lit.start };
    const link = pair !== null && report.loss?.ok === true ? commandUri(OPEN_PANEL_FOR_LITERALS, [args]) : null;
    return new vscode.Hover(trusted(literalHoverMarkdown(lit.name, report, link)), rangeOf(doc, lit.start, lit.end));
  }

  /**
   * The report of `lit` (with its pair's loss), from the cache, from a computation already running for
   * it, or computed now: in place when small, else in a worker. A hover's cancel stops only its own
   * computation; one started ahead of hovers stops when the document version is gone.
   */
  private async report(doc: vscode.TextDocument, entry: IndexEntry, pair: LiteralPair | null, lit: LiteralSpan, token: vscode.CancellationToken | undefined): Promise<HoverReport> {
    const spans = pair === null ? [lit] : [pair.input, pair.target, ...(pair.weight === null ? [] : [pair.weight])];
    const options = lossOptionsFromSettings(doc.uri);
    const hovered = spans.indexOf(lit);
    const key = JSON.stringify([spans.map((s) => s.start), hovered, options]);
    const cached = entry.reports.get(key);
    if (cached !== undefined) return cached;
    const running = entry.pending.get(key);
    if (running !== undefined) {
      try {
        return token ? await untilCancelled(running, token) : await running;
      } catch (e) {
        // Another hover's computation was cancelled: compute for this one (unless it is cancelled too).
        if (!(isLensError(e) && e.kind === 'cancelled') || token?.isCancellationRequested) throw e;
      }
    }
    const literals: LiteralText[] = spans.map((s) => literalText(doc, s));
    const request: ReportRequest = { literals, hovered, pair: pair === null ? null : { input: 0, target: 1, weight: pair.weight === null ? null : 2 }, options };
    let report: HoverReport;
    if (literals.reduce((a, l) => a + l.text.length, 0) <= HOST_REPORT_CHARS) report = hoverReport(request);
    else {
      const ac = new AbortController();
      const sub = token?.onCancellationRequested(() => ac.abort());
      const stop = (): void => ac.abort();
      if (!token) entry.stale.signal.addEventListener('abort', stop, { once: true });
      const job = this.services.engine().hoverReport(request, ac.signal);
      entry.pending.set(key, job);
      try {
        report = token ? await untilCancelled(job, token) : await job;
      } finally {
        sub?.dispose();
        entry.stale.signal.removeEventListener('abort', stop);
        if (entry.pending.get(key) === job) entry.pending.delete(key);
      }
    }
    entry.reports.set(key, report);
    if (entry.reports.size > CACHED_REPORTS) entry.reports.delete(entry.reports.keys().next().value as string);
    return report;
  }

  private async fileHover(doc: vscode.TextDocument, p: PathSpan, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const { path: rel, member } = splitMemberSpec(p.value);
    const found = await resolveTensorPath(doc, rel);
    if (found === undefined || token.isCancellationRequested) return undefined;
    const spec = member === undefined ? found.file : `${found.file}:${member}`;
    const key = `${spec}\u0000${found.size}\u0000${found.mtimeMs}`;
    const shown = vscode.workspace.asRelativePath(found.file, false) + (member === undefined ? '' : `:${member}`);
    let text: string;
    let summary = this.files.get(key);
    try {
      if (summary === undefined) {
        const ac = new AbortController();
        const sub = token.onCancellationRequested(() => ac.abort());
        try {
          summary = await untilCancelled(this.services.engine().tensorFileSummary(spec, ac.signal), token);
        } finally {
          sub.dispose();
        }
        this.files.set(key, summary);
        if (this.files.size > CACHED_FILES) this.files.delete(this.files.keys().next().value as string);
      }
      text = fileHoverMarkdown(shown, summary);
    } catch (e) {
      if (isLensError(e) && e.kind === 'cancelled') throw e;
      text = `**${escapeMarkdown(shown)}**: ${escapeMarkdown(messageOf(e))}`;
    }
    return new vscode.Hover(trusted(text), rangeOf(doc, p.start, p.end));
  }
}

/** Markdown that may run our own panel command and nothing else; no HTML. */
function trusted(md: string): vscode.MarkdownString {
  const s = new vscode.MarkdownString(md);
  s.isTrusted = { enabledCommands: [OPEN_PANEL_FOR_LITERALS] };
  s.supportHtml = false;
  return s;
}

function rangeOf(doc: vscode.TextDocument, start: number, end: number): vscode.Range {
  return new vscode.Range(doc.positionAt(start), doc.positionAt(end));
}

function literalText(doc: vscode.TextDocument, s: LiteralSpan): LiteralText {
  // JSON reads the list itself (as a .json file would); Python reads the call with its dtype= argument.
  const text = s.syntax === 'json' ? doc.getText(rangeOf(doc, s.listStart, s.listEnd)) : doc.getText(rangeOf(doc, s.start, s.end));
  return { text, syntax: s.syntax, name: s.name };
}

/** A path as written in a document: absolute, or relative to the document's folder or a workspace folder. */
async function resolveTensorPath(doc: vscode.TextDocument, written: string): Promise<{ file: string; size: number; mtimeMs: number } | undefined> {
  const candidates: string[] = [];
  if (path.isAbsolute(written)) candidates.push(written);
  else {
    // Notebook cells carry the notebook's path in their URI.
    if (doc.uri.scheme === 'file' || doc.uri.scheme === 'vscode-notebook-cell') candidates.push(path.resolve(path.dirname(doc.uri.fsPath), written));
    for (const f of vscode.workspace.workspaceFolders ?? []) if (f.uri.scheme === 'file') candidates.push(path.resolve(f.uri.fsPath, written));
  }
  for (const file of candidates) {
    try {
      const st = await fs.promises.stat(file);
      if (st.isFile()) return { file, size: st.size, mtimeMs: st.mtimeMs };
    } catch {
      // not there; try the next folder
    }
  }
  return undefined;
}

function inline(t: Tensor, label: string): SourceSpec {
  return { kind: 'inline', label, dtype: t.dtype, shape: t.shape, data: Array.from(t.data as ArrayLike<number>) };
}

async function openPanelForLiterals(services: HostServices, args: OpenPanelArgs | undefined): Promise<void> {
  try {
    if (args === undefined || typeof args.uri !== 'string' || typeof args.offset !== 'number') {
      throw new LensError('option', 'this command opens the panel from a hover on a tensor literal');
    }
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(args.uri));
    const syntax = LANGUAGES[doc.languageId];
    if (syntax === undefined) throw new LensError('format', `${doc.languageId} documents hold no literals this command reads`);
    const index = scanDocument(doc.getText(), syntax);
    const lit = literalAt(index, args.offset);
    const pair = lit === undefined ? null : findPair(index, lit);
    if (pair === null) throw new LensError('format', 'the document changed: no input/target pair at the hovered place any more — hover again');
    const where = path.basename(doc.uri.path);
    const read = (s: LiteralSpan): SourceSpec => {
      const line = doc.positionAt(s.start).line + 1;
      return inline(parseLiteral(literalText(doc, s)), `${where} ${s.name ?? 'literal'} (line ${line})`);
    };
    LossPanel.show(services, { input: read(pair.input), target: read(pair.target), weight: pair.weight === null ? null : read(pair.weight), options: {} });
  } catch (e) {
    void showError(e, 'Open the loss panel from a hover');
  }
}

export function registerHovers(context: vscode.ExtensionContext, services: HostServices): void {
  const provider = new LensHoverProvider(services);
  const selector = Object.keys(LANGUAGES).map((language) => ({ language }));
  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  const warmLater = (doc: vscode.TextDocument): void => {
    const key = doc.uri.toString();
    clearTimeout(pending.get(key));
    pending.set(key, setTimeout(() => {
      pending.delete(key);
      if (!doc.isClosed) provider.warm(doc);
    }, WARM_AFTER_TYPING_MS));
  };
  for (const doc of vscode.workspace.textDocuments) provider.warm(doc);
  context.subscriptions.push(
    vscode.workspace.onDidOpenTextDocument((d) => provider.warm(d)),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length > 0) warmLater(e.document);
    }),
    { dispose: () => pending.forEach((t) => clearTimeout(t)) },
    vscode.languages.registerHoverProvider(selector, provider),
    vscode.commands.registerCommand(OPEN_PANEL_FOR_LITERALS, (args?: OpenPanelArgs) => openPanelForLiterals(services, args)),
    vscode.workspace.onDidCloseTextDocument((d) => provider.forget(d.uri)),
  );
}
