// Reads the crossEntropyLens.* settings into kernel options and UI preferences.
import * as vscode from 'vscode';
import type { LossOptions } from '../kernel/types';

export function lossOptionsFromSettings(scope?: vscode.Uri): Partial<LossOptions> {
  const c = vscode.workspace.getConfiguration('crossEntropyLens', scope);
  return {
    ignoreIndex: c.get<number>('ignoreIndex', -100),
    reduction: c.get<LossOptions['reduction']>('reduction', 'mean'),
    labelSmoothing: c.get<number>('labelSmoothing', 0),
    inputKind: c.get<LossOptions['inputKind']>('inputKind', 'logits'),
    classDim: c.get<number>('classDim', 1),
  };
}

export function maxWorkersSetting(): number {
  return vscode.workspace.getConfiguration('crossEntropyLens').get<number>('maxWorkers', 0);
}

export type AutoRecompute = 'auto' | 'ask' | 'off';

export function autoRecomputeSetting(): AutoRecompute {
  return vscode.workspace.getConfiguration('crossEntropyLens').get<AutoRecompute>('autoRecompute', 'auto');
}

export function classNamesSetting(): string[] {
  const v = vscode.workspace.getConfiguration('crossEntropyLens').get<unknown>('classNames', []);
  return Array.isArray(v) ? v.map((x) => String(x)) : [];
}

/** crossEntropyLens.classColors: "#rrggbb" by class index (anything else there: the palette's colour). */
export function classColorsSetting(): string[] {
  const v = vscode.workspace.getConfiguration('crossEntropyLens').get<unknown>('classColors', []);
  return Array.isArray(v) ? v.map((x) => (typeof x === 'string' && /^#[0-9a-fA-F]{6}$/.test(x.trim()) ? x.trim() : '')) : [];
}

/** crossEntropyLens.vocabulary: a tokenizer.json / vocab.json / vocab.txt for the token view ('' for none). */
export function vocabularySetting(scope?: vscode.Uri): string {
  const v = vscode.workspace.getConfiguration('crossEntropyLens', scope).get<unknown>('vocabulary', '');
  return typeof v === 'string' ? v : '';
}

const COLORMAPS = ['viridis', 'magma', 'turbo', 'gray'] as const;

/** The default colormap, validated: it is written into the webview's HTML. */
export function colormapSetting(): (typeof COLORMAPS)[number] {
  const v = vscode.workspace.getConfiguration('crossEntropyLens').get<string>('colormap', 'viridis');
  return (COLORMAPS as readonly string[]).includes(v) ? (v as (typeof COLORMAPS)[number]) : 'viridis';
}
