// Hover texts (Markdown) from the plain-data reports. Every piece of text that comes from a document or a
// file (names, paths, error messages that quote data) is escaped: a hover must never render what a file
// says as links, images or HTML. Numbers are formatted like the CLI (six significant digits).

import { CLASS_LAST_NOTE } from '../protocol';
import { fmt6 } from '../cli/report';
import { fmtShape } from '../errors';
import type { FileSummary, MaskSummary } from './files';
import type { HoverReport, LossReport, TensorReport, TensorStats } from './report';

/** Escapes Markdown (and inline HTML) syntax; newlines become spaces. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[\\`*_{}[\]()#+\-.!|<>~&:]/g, '\\$&');
}

/** A command link target: command:ID?ARGS with the arguments as URI-encoded JSON. */
export function commandUri(command: string, args: readonly unknown[]): string {
  return `command:${command}?${encodeURIComponent(JSON.stringify(args))}`;
}

function kindText(dtype: string): string {
  if (dtype === 'bool') return 'booleans';
  return dtype.startsWith('float') ? 'floating point' : 'integers';
}

export function statsLine(s: TensorStats): string {
  const parts = [`min ${fmt6(s.min)}`, `max ${fmt6(s.max)}`, `mean ${fmt6(s.mean)}`, `NaN ${s.nanCount}`, `+Inf ${s.posInfCount}`, `−Inf ${s.negInfCount}`];
  return parts.join(' · ');
}

function tensorSection(name: string | null, t: TensorReport): string[] {
  const title = name === null ? '**Tensor literal**' : `**${escapeMarkdown(name)}**`;
  if (!t.ok) return [`${title}: ${escapeMarkdown(t.error)}`];
  const out = [`${title} · shape ${fmtShape(t.shape)} · ${t.dtype} (${kindText(t.dtype)}) · ${t.stats.count} elements`, statsLine(t.stats)];
  const p = t.preview;
  if (p !== null) {
    const shown = p.rows[0]?.probs.length ?? 0;
    const what = p.kind === 'logits' ? 'softmax (read as logits)' : p.kind === 'log-probs' ? 'exp (read as log-probabilities)' : 'probabilities (read as probabilities)';
    const rowsNote = p.rowCount > p.rows.length ? `, first ${p.rows.length} of ${p.rowCount} rows` : '';
    const classNote = p.classCount > shown ? `, classes 0–${shown - 1} of ${p.classCount}` : '';
    out.push(`Class probabilities, ${what}${rowsNote}${classNote}:`);
    const header = ['row', ...Array.from({ length: shown }, (_, c) => String(c)), 'argmax'];
    const table = [`| ${header.join(' | ')} |`, `|${header.map(() => '--:').join('|')}|`];
    for (const r of p.rows) table.push(`| ${r.row} | ${r.probs.map((v) => fmt6(v)).join(' | ')} | ${r.argmax} |`);
    out.push(table.join('\n'));
  }
  return out;
}

function optionsLine(l: LossReport & { ok: true }): string {
  const o = l.options;
  const parts: string[] = [];
  if (l.targetKind === 'index') parts.push(`ignore_index ${o.ignoreIndex} (${l.ignoredCount} of ${l.elementCount} ignored)`);
  parts.push(`label_smoothing ${o.labelSmoothing}`, `input ${o.inputKind}`, l.classLastFromShapes ? CLASS_LAST_NOTE : `class dim ${o.classDim}`);
  return parts.join(' · ');
}

function lossSection(l: LossReport, link: string | null): string[] {
  if (!l.ok) return [`**Cross-entropy**: ${escapeMarkdown(l.error)}`];
  const o = l.options;
  const out: string[] = [];
  if (o.reduction === 'none') {
    out.push(`**Cross-entropy** (reduction none): loss map ${fmtShape(l.lossShape)}, sum ${fmt6(l.numerator)}, mean ${fmt6(l.numerator / l.denominator)}`);
  } else {
    out.push(`**Cross-entropy** (${o.reduction}): **${fmt6(l.value)}**`);
  }
  out.push(optionsLine(l));
  if (l.rows.length > 0 && l.lossShape.length > 0) {
    const total = l.lossShape.reduce((a, b) => a * b, 1);
    const table = ['| element | target | predicted | loss |', '|--:|--:|--:|--:|'];
    for (const r of l.rows) {
      const target = r.ignored ? `${r.target} (ignored)` : String(r.target);
      table.push(`| ${fmtShape(r.index)} | ${target} | ${r.predicted} | ${fmt6(r.loss)} |`);
    }
    out.push(`Per element${total > l.rows.length ? ` (first ${l.rows.length} of ${total})` : ''}:\n\n${table.join('\n')}`);
  }
  if (link !== null) out.push(`[Open in Cross-Entropy Lens panel](${link} "Show this pair in the loss panel")`);
  return out;
}

/** The hover on a literal; `link` (a command URI) opens the panel on the pair, when there is one. */
export function literalHoverMarkdown(name: string | null, report: HoverReport, link: string | null): string {
  const parts = tensorSection(name, report.tensor);
  if (report.loss !== null) parts.push('---', ...lossSection(report.loss, link));
  return parts.join('\n\n');
}

export function fmtBytes(n: number): string {
  if (n < 1000) return `${n} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${Number(v.toPrecision(3))} ${units[u]}`;
}

/** The hover on a PNG label mask's path: size, bit depth, colour type, and the classes of a small mask. */
function maskHoverMarkdown(shownPath: string, s: FileSummary, m: MaskSummary): string {
  const a = s.arrays[0];
  const out = [`**${escapeMarkdown(shownPath)}** · PNG label mask · ${fmtBytes(s.sizeBytes)} on disk`];
  out.push(`${m.width} x ${m.height} · ${m.bitDepth}-bit ${escapeMarkdown(m.colorType)} · target shape ${fmtShape(a?.shape ?? [m.height, m.width])} ${a?.dtype ?? ''} (one sample: pairs with input [1, C, H, W] or [C, H, W])`);
  if (m.classes !== null) {
    const shown = m.classes.slice(0, 32).map((c) => `${c.value}: ${c.count}`).join(' · ');
    out.push(`${m.classes.length} distinct ${m.classes.length === 1 ? 'value' : 'values'} (class: pixels): ${shown}${m.classes.length > 32 ? ' · …' : ''}`);
  }
  if (a?.error) out.push(escapeMarkdown(a.error));
  if (s.note !== null) out.push(`_${escapeMarkdown(s.note)}_`);
  return out.join('\n\n');
}

/** The hover on a tensor-file path; `shownPath` is what to call the file (workspace-relative). */
export function fileHoverMarkdown(shownPath: string, s: FileSummary): string {
  if (s.kind === 'png' && s.mask !== undefined) return maskHoverMarkdown(shownPath, s, s.mask);
  const what = s.kind === 'npz' ? '.npz archive' : s.kind === 'torch' ? 'torch.save file' : s.kind === 'safetensors' ? '.safetensors' : '.npy';
  const checkpoint = s.kind === 'torch' || s.kind === 'safetensors';
  const out = [`**${escapeMarkdown(shownPath)}** · ${what} · ${fmtBytes(s.sizeBytes)} on disk`];
  if (checkpoint && s.arrays.length === 0 && s.note === null) out.push('no tensors');
  for (const a of s.arrays) {
    const name = a.name === null ? '' : `**${escapeMarkdown(a.name)}** · `;
    if (a.dtype === '?') {
      out.push(`${name}${escapeMarkdown(a.error ?? 'not an array')}`);
      continue;
    }
    const order = checkpoint ? '' : a.fortranOrder ? ' · Fortran order' : ' · C order';
    out.push(`${name}shape ${fmtShape(a.shape)} · ${a.dtype} (${escapeMarkdown(a.descr)}, ${kindText(a.dtype)})${order}`);
    if (a.stats !== null) out.push(statsLine(a.stats));
    else if (a.error !== null) out.push(`statistics: ${escapeMarkdown(a.error)}`);
    const m = a.stats !== null ? a.sampled : undefined;
    if (m !== undefined) {
      const how = m.layout === 'spaced'
        ? `${m.blocks} evenly spaced blocks of ${fmtBytes(m.blockBytes)} from the first element to the last`
        : `the first ${fmtBytes(m.blockBytes)} of data (a compressed member is read from its start)`;
      out.push(`_Sampled: this member is ${fmtBytes(m.memberBytes)} uncompressed, so these statistics cover ${m.elements} of ${m.totalElements} elements, read as ${how}._`);
    }
  }
  if (s.moreArrays > 0) out.push(`… and ${s.moreArrays} more ${checkpoint ? 'tensors' : 'members'}`);
  if (s.sampled !== null) {
    const x = s.sampled;
    out.push(
      `_Sampled: the file is over 100 MB, so these statistics cover ${x.elements} of ${x.totalElements} elements, read as ${x.blocks} evenly spaced blocks of ${fmtBytes(x.blockBytes)} from the first element to the last._`,
    );
  }
  if (s.note !== null) out.push(`_${escapeMarkdown(s.note)}_`);
  return out.join('\n\n');
}
