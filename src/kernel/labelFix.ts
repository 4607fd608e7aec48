// The one-click way out of PyTorch's "Target 255 is out of bounds": when the first out-of-range label a
// computation met is a value datasets use to mark pixels to skip (255 void, -1, -100), the panel offers
// ignore_index set to it. Errors cross from the workers as messages, so the value is read back from the
// message targetRangeError words; whether it is the only out-of-range value is checked by computing again
// with it ignored (lossPanel.ts), so the button is shown only when it works.
import type { ErrorFix } from '../protocol';
import type { LossOptions } from './types';

const RANGE = /target value (-?\d+)(?: at index \[[\d, ]*\])? is out of bounds for (\d+) classes/;

/** The out-of-range target value a message names, and the class count, or null for any other message. */
export function outOfRangeTarget(message: string): { readonly value: number; readonly classes: number } | null {
  const m = RANGE.exec(message);
  if (m === null) return null;
  const value = Number(m[1]);
  const classes = Number(m[2]);
  return Number.isSafeInteger(value) && classes > 0 ? { value, classes } : null;
}

/** The fix to try for a message: ignore the value it names (null when it names none, or it is ignored already). */
export function ignoreIndexFix(message: string, options: Pick<LossOptions, 'ignoreIndex'>): ErrorFix | null {
  const found = outOfRangeTarget(message);
  if (found === null || found.value === options.ignoreIndex) return null;
  return { label: `Use ignore_index ${found.value}`, options: { ignoreIndex: found.value } };
}

/**
 * What a picker says of a label mask whose values leave [0, C): "holds 255 (void?)" for the usual void label,
 * else the values outside. Null when every value is a class.
 */
export function maskRangeNote(values: ReadonlyArray<{ readonly value: number; readonly count: number }>, classes: number): string | null {
  const outside = values.filter((v) => v.count > 0 && (v.value < 0 || v.value >= classes)).map((v) => v.value);
  if (outside.length === 0) return null;
  if (outside.length === 1 && outside[0] === 255) return 'holds 255 (void?)';
  const shown = outside.slice(0, 3).join(', ') + (outside.length > 3 ? ', …' : '');
  return `holds ${shown} outside 0..${classes - 1}`;
}
