// The debug hover: while a Python session is paused, a name in a Python editor whose value in the focused
// frame is a tensor shows its shape, dtype, device, requires_grad, min/max/mean and NaN/Inf counts (computed
// by the debuggee's own torch or NumPy), and with a fitting target in the frame (names as the file hovers
// rank them) the cross-entropy, computed by the engine, with a link to the panel.
import * as vscode from 'vscode';
import { fmt6 } from '../cli/report';
import { fitPair, fittedOptions, rankTargets, roleScore } from '../kernel/roles';
import { escapeMarkdown } from '../hover/markdown';
import { lossOptionsFromSettings } from '../host/settings';
import { messageOf } from '../host/log';
import { LossSession } from '../worker/engine/session';
import { DEBUG_COMMANDS, describeValue, metaOf, type DebugLossArgs } from './debugCommands';
import type { DebugServices } from './debugPanel';
import { dottedNameIn } from './dottedName';
import { FrameClient, isPythonSession } from './frameClient';
import type { ListedValue, PyNumber, ValueRef, ValueStats } from './snippet';
import type { LocalValue } from './transfer';

/** Above this many elements the hover gives statistics only: the loss line would cost a transfer and a computation. */
const LOSS_ELEMENTS = 1 << 25;

/** A dotted name ending at the hovered word: logits, outputs.logits, self.model.out. */
function dottedNameAt(doc: vscode.TextDocument, pos: vscode.Position): { ref: ValueRef; range: vscode.Range } | null {
  const word = doc.getWordRangeAtPosition(pos, /[A-Za-z_][A-Za-z0-9_]*/);
  if (!word) return null;
  const named = dottedNameIn(doc.lineAt(pos.line).text, word.start.character, word.end.character);
  if (!named) return null;
  const { parts, start: prefixStart } = named;
  return { ref: { root: parts[0]!, steps: parts.slice(1).map((a) => ['attr', a] as const) }, range: new vscode.Range(pos.line, prefixStart, word.end.line, word.end.character) };
}

/** A number from the debuggee's reply, as shown: anything that is not a number or NaN/±Infinity is not shown. */
function num(v: PyNumber | undefined): string {
  if (typeof v === 'number') return fmt6(v);
  return v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? v : '–';
}

function count(v: number | undefined): string {
  return typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : '–';
}

export function statsMarkdown(s: ValueStats): string {
  const head = `**${escapeMarkdown(s.label)}**: ${escapeMarkdown(describeValue(s))}`;
  if (s.numel === 0) return `${head}  \nno elements`;
  const parts = s.min === undefined ? [] : [`min ${num(s.min)}`, `max ${num(s.max)}`, `mean ${num(s.mean)}`];
  if (s.nan !== undefined) parts.push(`NaN ${count(s.nan)}`, `Inf ${count(s.inf ?? 0)}`);
  return parts.length ? `${head}  \n${parts.join(' · ')}` : head;
}

export class DebugHoverProvider implements vscode.HoverProvider {
  /** The focused frame's listing, kept until the session's next stop. */
  private listing: { key: string; values: readonly ListedValue[] } | null = null;
  /** Loss lines of this stop by input (a hover moved back and forth computes once per stop). */
  private readonly lossLines = new Map<string, string | null>();

  constructor(private readonly services: DebugServices) {}

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const item = vscode.debug.activeStackItem;
    if (!item || !isPythonSession(item.session)) return undefined;
    const at = dottedNameAt(doc, pos);
    if (!at) return undefined;
    let client: FrameClient;
    let stats: ValueStats;
    try {
      client = await FrameClient.focused();
      stats = await client.ask({ op: 'stats', ref: at.ref });
    } catch {
      return undefined; // not a tensor in this frame (or not paused): other hovers speak
    }
    if (token.isCancellationRequested) return undefined;
    const lines = [statsMarkdown(stats)];
    const loss = await this.lossLine(client, { ...stats, ref: at.ref }, token).catch((e) => `cross-entropy not computed: ${escapeMarkdown(messageOf(e))}`);
    if (loss) lines.push(loss);
    const md = new vscode.MarkdownString(lines.join('\n\n'));
    md.isTrusted = { enabledCommands: [DEBUG_COMMANDS.computeLossFromDebug] };
    md.supportHtml = false;
    return new vscode.Hover(md, at.range);
  }

  private async lossLine(client: FrameClient, input: ListedValue, token: vscode.CancellationToken): Promise<string | null> {
    const inputMeta = metaOf(input);
    if (!inputMeta || input.numel > LOSS_ELEMENTS) return null;
    const key = `${client.session.id}|${this.services.stops.seqOf(client.session.id)}|${client.frameId}`;
    if (this.listing?.key !== key) {
      this.listing = { key, values: (await client.ask({ op: 'list' })).values };
      this.lossLines.clear();
    }
    const lineKey = JSON.stringify(input.ref);
    if (this.lossLines.has(lineKey)) return this.lossLines.get(lineKey)!;
    const line = await this.computeLossLine(client, input, inputMeta, token);
    if (!token.isCancellationRequested) this.lossLines.set(lineKey, line);
    return line;
  }

  private async computeLossLine(client: FrameClient, input: ListedValue, inputMeta: NonNullable<ReturnType<typeof metaOf>>, token: vscode.CancellationToken): Promise<string | null> {
    if (!this.listing) return null;
    const opts = lossOptionsFromSettings();
    const candidates = this.listing.values.flatMap((v) => {
      const m = metaOf(v);
      return m && v.label !== input.label && roleScore(v.label, 'target') > 0 && v.numel <= LOSS_ELEMENTS ? [{ ...m, value: v }] : [];
    });
    const target = rankTargets(inputMeta, candidates, opts)[0];
    if (!target || token.isCancellationRequested) return null;
    const fitted = fittedOptions(fitPair(inputMeta, target, opts), {});
    const files: LocalValue[] = [];
    try {
      for (const [ref, role] of [[input.ref, 'input'], [target.value.ref, 'target']] as const) files.push(await this.services.transfers.save(client, ref, [], role));
      const s = await LossSession.open(this.services.host.engine(), { input: { kind: 'file', path: files[0]!.path }, target: { kind: 'file', path: files[1]!.path }, weight: null, options: { ...opts, ...fitted.options }, topK: 1 }, {});
      const value = s.result.value;
      const args: DebugLossArgs = { input: input.ref, target: target.value.ref };
      // Parentheses too: a ')' in a dict key would end the Markdown link early.
      const link = `[Open in panel](command:${DEBUG_COMMANDS.computeLossFromDebug}?${encodeURIComponent(JSON.stringify([args])).replace(/\(/g, '%28').replace(/\)/g, '%29')})`;
      const reduction = { ...opts, ...fitted.options }.reduction;
      return `**Cross-entropy** with ${escapeMarkdown(target.value.label)} (${reduction}${fitted.classLastFromShapes ? ', class axis last' : ''}): **${value === null ? 'per element' : fmt6(value)}** · ${link}`;
    } finally {
      this.services.transfers.release(files);
    }
  }
}
