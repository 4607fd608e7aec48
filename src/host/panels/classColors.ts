// Class colours for the label views: the setting crossEntropyLens.classColors, else a "colors" list in
// classes.json beside the input ({"names": [...], "colors": ["#rrggbb" | [r, g, b], ...]}), else none (the
// view's palette). No VS Code API here, so it is unit-tested directly.
import * as path from 'node:path';
import { readSmallRegularFile } from '../../worker/files/regularFile';
import { MAX_CLASS_NAMES_BYTES } from '../../worker/files/classNames';

function hex2(v: number): string {
  return Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, '0');
}

/** "#rrggbb" for a colour given as "#rrggbb" / "rrggbb" or [r, g, b] (0..255); '' for anything else. */
export function colourHex(v: unknown): string {
  if (typeof v === 'string') {
    const t = v.trim();
    return /^#?[0-9a-fA-F]{6}$/.test(t) ? `#${t.replace('#', '').toLowerCase()}` : '';
  }
  if (Array.isArray(v) && v.length >= 3 && v.slice(0, 3).every((x) => typeof x === 'number' && Number.isFinite(x))) {
    return `#${hex2(v[0] as number)}${hex2(v[1] as number)}${hex2(v[2] as number)}`;
  }
  return '';
}

/** The "colors" (or "colours") of a classes.json object, as "#rrggbb" strings ('' where invalid); [] if none. */
export function parseClassColors(text: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return [];
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return [];
  const o = v as Record<string, unknown>;
  const list = Array.isArray(o.colors) ? o.colors : Array.isArray(o.colours) ? o.colours : null;
  return list ? list.map(colourHex) : [];
}

/** The setting's colours where given, else classes.json's beside `inputPath` (a file spec), else []. */
export async function classColorsFor(inputPath: string | null, setting: readonly string[]): Promise<string[]> {
  if (setting.some((c) => c !== '')) return [...setting];
  if (!inputPath) return [];
  const file = path.basename(inputPath).includes(':') ? path.join(path.dirname(inputPath), path.basename(inputPath).split(':')[0]) : inputPath;
  const r = await readSmallRegularFile(path.join(path.dirname(file), 'classes.json'), MAX_CLASS_NAMES_BYTES);
  return r.kind === 'read' ? parseClassColors(new TextDecoder('utf-8').decode(r.bytes)) : [];
}
