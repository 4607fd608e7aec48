// Hover tooltips for tensor literals (JSON, JSONC, Python files and notebook cells, Markdown code blocks)
// and for string literals naming .npy/.npz files. Thin glue over the pure src/hover modules. The extension
// host only does small work (src/hover/limits.ts): a small document is scanned in place and its index
// cached per version; a large one is copied into shared memory a slice per task and scanned in a worker,
// which keeps its index and answers each hover with a few spans. Parsing a large literal and reading a
// file run in the workers too, and a cancelled hover cancels its work.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LensError, isLensError } from '../../errors';
import { commandUri, escapeMarkdown, fileHoverMarkdown, literalHoverMarkdown } from '../../hover/markdown';
import { HOST_REPORT_CHARS, HOST_SCAN_CHARS } from '../../hover/limits';
import { hoverReport, parseLiteral, type HoverReport, type LiteralText } from '../../hover/report';
import {
  PairFinder,
  literalRange,
  lookupAt,
  scanDocument,
  type DocumentSyntax,
  type HoverTarget,
  type LiteralIndex,
  type LiteralPair,
  type LiteralSpan,
  type PathSpan,
  type WarmLiteral,
} from '../../hover/scan';
import type { FileSummary } from '../../hover/files';
import type { HoverLookupQuery, SharedText } from '../../protocol';
import { fitPair, fittedOptions, type TensorMeta } from '../../kernel/roles';
import { splitMemberSpec } from '../../tensor/load';
import { readShared } from '../../worker/engine/sharedText';
import { documentLength, shareDocument } from './documentText';
import { LossPanel, inlineSource, type HostServices, type SourceSpec } from '../panels/lossPanel';
import { log, messageOf, showError } from '../log';
import { lossOptionsFromSettings } from '../settings';

/** Internal (not in the palette): opens the loss panel on the literal pair at a document offset. */
export const OPEN_PANEL_FOR_LITERALS = 'crossEntropyLens.openPanelForLiterals';

export interface OpenPanelArgs {
  readonly uri: string;
  /** An offset inside the hovered literal; the pair is found again from the document as it is now. */
  readonly offset: number;
}

const LANGUAGES: Readonly<Record<string, DocumentSyntax>> = { json: 'json', jsonc: 'json', python: 'python', markdown: 'markdown' };

/** Documents whose index (and last reports) stay cached. */
const CACHED_DOCUMENTS = 16;
/** Characters of large documents kept in shared memory (2 bytes each) over all cached documents. */
const MAX_SHARED_CHARS = 128 * 1024 * 1024;
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

/** An AbortSignal that follows a cancellation token (dispose the subscription when done). */
function abortOn(token: vscode.CancellationToken | undefined): { readonly signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const sub = token?.onCancellationRequested(() => ac.abort());
  if (token?.isCancellationRequested) ac.abort();
  return { signal: ac.signal, dispose: () => sub?.dispose() };
}

/**
 * Where one document version's literals are looked up. A small document is scanned in place and looked up
 * here. A large one is copied into shared memory a slice per task and scanned in a worker, which keeps the
 * index and answers each hover with a few spans: the host never holds its text in one piece nor its index.
 */
type IndexSource =
  | { readonly kind: 'local'; readonly text: string; readonly index: LiteralIndex; readonly pairs: PairFinder }
  | { readonly kind: 'shared'; readonly text: SharedText; readonly query: Omit<HoverLookupQuery, 'offset' | 'warm'>; readonly warm: readonly WarmLiteral[] };

interface IndexEntry {
  /** The document's URI, as the key of the cache. */
  readonly key: string;
  readonly version: number;
  /** Characters this entry holds in shared memory (0 when scanned in place). */
  readonly sharedChars: number;
  readonly source: Promise<IndexSource>;
  /** Stops copying and scanning when no hover waits any more, the document changes, or it closes. */
  readonly abort: AbortController;
  waiting: number;
  settled: boolean;
  /** The scan failed for good (too slow, too many literals): no hovers on this version, said once. */
  failed: boolean;
  readonly reports: Map<string, HoverReport>;
  /** Reports being computed (by a hover or ahead of one), so a hover joins them instead of starting again. */
  readonly pending: Map<string, Promise<HoverReport>>;
  /** Stops the reports computed ahead of a hover once this version of the document is gone. */
  readonly stale: AbortController;
}

/** Distinguishes document versions in the workers' index caches (a reopened document restarts at 1). */
let nextKey = 0;

function literalTextIn(src: IndexSource, s: LiteralSpan): LiteralText {
  const r = literalRange(s);
  const text = src.kind === 'local' ? src.text.slice(r.start, r.end) : readShared(src.text, r.start, r.end);
  return { text, syntax: s.syntax, name: s.name };
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
    if (syntax === undefined || documentLength(doc) <= HOST_SCAN_CHARS) return;
    const entry = this.entry(doc, syntax);
    // The large literals of input/target pairs (a few, found by the worker's scan) get their reports
    // ahead of a hover too: parsing megabytes of numbers is most of a first hover's time.
    entry.source.then((src) => {
      if (src.kind !== 'shared') return;
      for (const w of src.warm) {
        if (entry.stale.signal.aborted) break;
        this.report(doc, entry, src, w.pair, w.literal, undefined).catch(() => undefined);
      }
    }, () => undefined);
  }

  /** The document is gone, or its text changed: stop its scan and its reports now. */
  forget(uri: vscode.Uri): void {
    this.drop(uri.toString());
  }

  private drop(key: string): void {
    const e = this.docs.get(key);
    if (e === undefined) return;
    if (!e.settled) e.abort.abort();
    e.stale.abort();
    this.docs.delete(key);
  }

  /** The document's index source for its current version, shared by every hover on that version. */
  private entry(doc: vscode.TextDocument, syntax: DocumentSyntax): IndexEntry {
    const key = doc.uri.toString();
    const old = this.docs.get(key);
    if (old !== undefined && old.version === doc.version) {
      // Most recently used last, for the eviction below.
      this.docs.delete(key);
      this.docs.set(key, old);
      return old;
    }
    this.drop(key);
    const length = documentLength(doc);
    const abort = new AbortController();
    const small = length <= HOST_SCAN_CHARS;
    const source = small ? Promise.resolve(scanHere(doc.getText(), syntax)) : this.scanInWorker(doc, syntax, abort.signal);
    const e: IndexEntry = {
      key, version: doc.version, sharedChars: small ? 0 : length, source, abort, waiting: 0, settled: false, failed: false,
      reports: new Map(), pending: new Map(), stale: new AbortController(),
    };
    source.then(
      () => (e.settled = true),
      (err: unknown) => {
        e.settled = true;
        // A cancelled scan is not cached: the next hover tries again. One that failed is, so each hover
        // does not pay for it again.
        if (isLensError(err) && err.kind === 'cancelled') {
          if (this.docs.get(key) === e) this.docs.delete(key);
        } else {
          e.failed = true;
          log().warn(`hover: ${messageOf(err)}`);
        }
      },
    );
    this.docs.set(key, e);
    this.evict();
    return e;
  }

  /** Least recently used first, down to CACHED_DOCUMENTS and MAX_SHARED_CHARS (the newest always stays). */
  private evict(): void {
    let shared = 0;
    for (const e of this.docs.values()) shared += e.sharedChars;
    for (const [key, e] of this.docs) {
      if (this.docs.size <= 1 || (this.docs.size <= CACHED_DOCUMENTS && shared <= MAX_SHARED_CHARS)) break;
      shared -= e.sharedChars;
      this.drop(key);
    }
  }

  private async scanInWorker(doc: vscode.TextDocument, syntax: DocumentSyntax, signal: AbortSignal): Promise<IndexSource> {
    const text = await shareDocument(doc, signal);
    const query = { key: `${++nextKey}`, text, syntax };
    const { warm } = await this.services.engine().hoverLookup({ ...query, offset: null, warm: { minChars: HOST_REPORT_CHARS, max: WARM_LITERALS } }, signal);
    return { kind: 'shared', text, query, warm };
  }

  /** The entry's source, counting this hover as waiting for it: the last waiter to cancel stops the scan. */
  private async source(e: IndexEntry, token: vscode.CancellationToken): Promise<IndexSource> {
    if (e.settled) return e.source;
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
      // Nobody waits any more: stop it, and let the next hover start afresh instead of joining it.
      if (e.waiting === 0 && !e.settled && this.docs.get(e.key) === e) this.drop(e.key);
    });
    try {
      return await untilCancelled(e.source, token);
    } finally {
      sub.dispose();
      release();
    }
  }

  /** What is at `offset`: looked up in place, or asked of the worker that holds the index (a small answer). */
  private async lookup(src: IndexSource, offset: number, token: vscode.CancellationToken): Promise<HoverTarget> {
    if (src.kind === 'local') return lookupAt(src.index, offset, src.pairs);
    const stop = abortOn(token);
    try {
      const r = await untilCancelled(this.services.engine().hoverLookup({ ...src.query, offset, warm: null }, stop.signal), token);
      return r.target;
    } finally {
      stop.dispose();
    }
  }

  /** The literal or path at `offset` of the document as it is now, and where its text is (the panel command). */
  async targetAt(doc: vscode.TextDocument, offset: number): Promise<{ readonly src: IndexSource; readonly target: HoverTarget }> {
    const syntax = LANGUAGES[doc.languageId];
    if (syntax === undefined) throw new LensError('format', `${doc.languageId} documents hold no literals this command reads`);
    const entry = this.entry(doc, syntax);
    if (entry.failed) await entry.source;
    const never = new vscode.CancellationTokenSource();
    try {
      const src = await this.source(entry, never.token);
      return { src, target: await this.lookup(src, offset, never.token) };
    } finally {
      never.dispose();
    }
  }

  async provideHover(doc: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const syntax = LANGUAGES[doc.languageId];
    if (syntax === undefined) return undefined;
    try {
      const offset = doc.offsetAt(position);
      const entry = this.entry(doc, syntax);
      if (entry.failed) return undefined;
      const src = await this.source(entry, token);
      const target = await this.lookup(src, offset, token);
      if (target.kind === 'path') return await this.fileHover(doc, target.path, token);
      if (target.kind === 'none') return undefined;
      return await this.literalHover(doc, entry, src, target.literal, target.pair, token);
    } catch (e) {
      if (isLensError(e) && e.kind === 'cancelled') return undefined;
      if (!this.docs.get(doc.uri.toString())?.failed) log().warn(`hover: ${messageOf(e)}`);
      return undefined;
    }
  }

  private async literalHover(
    doc: vscode.TextDocument,
    entry: IndexEntry,
    src: IndexSource,
    lit: LiteralSpan,
    pair: LiteralPair | null,
    token: vscode.CancellationToken,
  ): Promise<vscode.Hover | undefined> {
    const report = await this.report(doc, entry, src, pair, lit, token);
    const args: OpenPanelArgs = { uri: doc.uri.toString(), offset: lit.start };
    const link = pair !== null && report.loss?.ok === true ? commandUri(OPEN_PANEL_FOR_LITERALS, [args]) : null;
    return new vscode.Hover(trusted(literalHoverMarkdown(lit.name, report, link)), rangeOf(doc, lit.start, lit.end));
  }

  /**
   * The report of `lit` (with its pair's loss), from the cache, from a computation already running for
   * it, or computed now: in place when small, else in a worker (which reads a large document's literals
   * from shared memory itself). A hover's cancel stops only its own computation; one started ahead of
   * hovers stops when the document version is gone.
   */
  private async report(
    doc: vscode.TextDocument,
    entry: IndexEntry,
    src: IndexSource,
    pair: LiteralPair | null,
    lit: LiteralSpan,
    token: vscode.CancellationToken | undefined,
  ): Promise<HoverReport> {
    const spans = pair === null ? [lit] : [pair.input, pair.target, ...(pair.weight === null ? [] : [pair.weight])];
    const options = lossOptionsFromSettings(doc.uri);
    // By position: spans that came from a worker are copies.
    const hovered = spans.findIndex((s) => s.start === lit.start);
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
    const base = { hovered, pair: pair === null ? null : { input: 0, target: 1, weight: pair.weight === null ? null : 2 }, options };
    const chars = spans.reduce((a, s) => a + literalRange(s).end - literalRange(s).start, 0);
    let report: HoverReport;
    if (chars <= HOST_REPORT_CHARS) report = hoverReport({ ...base, literals: spans.map((s) => literalTextIn(src, s)) });
    else {
      const ac = new AbortController();
      const sub = token?.onCancellationRequested(() => ac.abort());
      const follow = (): void => ac.abort();
      if (!token) entry.stale.signal.addEventListener('abort', follow, { once: true });
      const engine = this.services.engine();
      const job =
        src.kind === 'shared'
          ? engine.hoverReportShared(src.text, spans, base, ac.signal)
          : engine.hoverReport({ ...base, literals: spans.map((s) => literalTextIn(src, s)) }, ac.signal);
      entry.pending.set(key, job);
      try {
        report = token ? await untilCancelled(job, token) : await job;
      } finally {
        sub?.dispose();
        entry.stale.signal.removeEventListener('abort', follow);
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
        const stop = abortOn(token);
        try {
          summary = await untilCancelled(this.services.engine().tensorFileSummary(spec, stop.signal), token);
        } finally {
          stop.dispose();
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

/** A small document's index, scanned in place (HOST_SCAN_CHARS bounds the time). */
function scanHere(text: string, syntax: DocumentSyntax): IndexSource {
  const index = scanDocument(text, syntax);
  return { kind: 'local', text, index, pairs: new PairFinder(index) };
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


async function openPanelForLiterals(services: HostServices, provider: LensHoverProvider, args: OpenPanelArgs | undefined): Promise<void> {
  try {
    if (args === undefined || typeof args.uri !== 'string' || typeof args.offset !== 'number') {
      throw new LensError('option', 'this command opens the panel from a hover on a tensor literal');
    }
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(args.uri));
    const { src, target } = await provider.targetAt(doc, args.offset);
    const pair = target.kind === 'literal' ? target.pair : null;
    if (pair === null) throw new LensError('format', 'the document changed: no input/target pair at the hovered place any more — hover again');
    const where = path.basename(doc.uri.path);
    // Large literals are parsed in a worker, as their hover reports are: not on the extension host thread.
    const read = async (s: LiteralSpan): Promise<SourceSpec> => {
      const line = doc.positionAt(s.start).line + 1;
      const lt = literalTextIn(src, s);
      const t = s.end - s.start <= HOST_REPORT_CHARS ? parseLiteral(lt) : await services.engine().parseLiteral(lt);
      return inlineSource(t, `${where} ${s.name ?? 'literal'} (line ${line})`);
    };
    const [input, tgt, weight] = await Promise.all([read(pair.input), read(pair.target), pair.weight === null ? null : read(pair.weight)]);
    const meta = (id: string, s: SourceSpec): TensorMeta => ({ id, name: id, shape: s.kind === 'inline' ? s.shape : [], dtype: s.kind === 'inline' ? s.dtype : 'float32' });
    const fit = fitPair(meta('input', input), meta('target', tgt), lossOptionsFromSettings(doc.uri), weight === null ? undefined : meta('weight', weight));
    LossPanel.show(services, { input, target: tgt, weight, ...fittedOptions(fit) });
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
      if (e.contentChanges.length === 0) return;
      // The old version's copy, scan and warm reports stop now, not when the next version is scanned.
      provider.forget(e.document.uri);
      warmLater(e.document);
    }),
    { dispose: () => pending.forEach((t) => clearTimeout(t)) },
    vscode.languages.registerHoverProvider(selector, provider),
    vscode.commands.registerCommand(OPEN_PANEL_FOR_LITERALS, (args?: OpenPanelArgs) => openPanelForLiterals(services, provider, args)),
    vscode.workspace.onDidCloseTextDocument((d) => {
      clearTimeout(pending.get(d.uri.toString()));
      pending.delete(d.uri.toString());
      provider.forget(d.uri);
    }),
  );
}
