// The overlay section: the sample's photo under the heatmap, an opacity slider, target/prediction contours,
// and the class colours the label modes use. The pixel work is pure (RGBA byte arrays in, out; O(pixels)) so
// it is tested without a canvas; the component only builds its controls.
import type { Builder } from '../dom';
import { hexToRgb, PALETTE_FLAT } from '../render/palette';

/** Contour colours: target boundaries white, predicted boundaries magenta (both: yellow). */
export const CONTOUR_TARGET: readonly number[] = [255, 255, 255, 255];
export const CONTOUR_PREDICTED: readonly number[] = [255, 0, 200, 255];
export const CONTOUR_BOTH: readonly number[] = [255, 220, 0, 255];

/**
 * The heatmap over the photo: heat alpha scaled by `opacity` in [0, 1], composited "over" the opaque photo.
 * Where the heat is transparent (masked) the photo shows. All arrays are width*height*4 RGBA bytes.
 */
export function composite(photo: ArrayLike<number>, heat: ArrayLike<number>, opacity: number, out?: Uint8ClampedArray): Uint8ClampedArray {
  const n = heat.length;
  const rgba = out && out.length === n ? out : new Uint8ClampedArray(n);
  const op = Number.isFinite(opacity) ? Math.min(1, Math.max(0, opacity)) : 1;
  for (let o = 0; o < n; o += 4) {
    const a = (heat[o + 3] / 255) * op;
    const b = 1 - a;
    rgba[o] = Math.round(heat[o] * a + photo[o] * b);
    rgba[o + 1] = Math.round(heat[o + 1] * a + photo[o + 1] * b);
    rgba[o + 2] = Math.round(heat[o + 2] * a + photo[o + 2] * b);
    rgba[o + 3] = 255;
  }
  return rgba;
}

const HEX = /^#?[0-9a-fA-F]{6}$/;

/**
 * Flat RGB table of class colours for `C` classes: `colours[c]` ("#rrggbb") where valid, else the palette's
 * colour for c (cycling).
 */
export function classColourTable(colours: readonly string[] | null | undefined, C: number): Uint8Array {
  const n = Math.max(1, C, colours?.length ?? 0);
  const out = new Uint8Array(n * 3);
  const P = PALETTE_FLAT.length / 3;
  for (let c = 0; c < n; c++) {
    const hex = colours?.[c];
    if (typeof hex === 'string' && HEX.test(hex.trim())) out.set(hexToRgb(hex.trim()), c * 3);
    else out.set(PALETTE_FLAT.subarray((c % P) * 3, (c % P) * 3 + 3), c * 3);
  }
  return out;
}

/** RGB of class c from a table (classes past its end cycle through it; invalid classes black). */
export function colourOf(table: Uint8Array, c: number): [number, number, number] {
  const n = table.length / 3;
  if (!Number.isInteger(c) || c < 0 || n === 0) return [0, 0, 0];
  const q = (c % n) * 3;
  return [table[q], table[q + 1], table[q + 2]];
}

/**
 * Boundaries of target and predicted regions in one slice: flag bit 1 where a pixel's target label differs
 * from a 4-neighbour's, bit 2 where its predicted label does. `base` is the slice's offset in the maps;
 * `count` the elements in the slice (pixels past it have no label).
 */
export function contours(target: ArrayLike<number>, predicted: ArrayLike<number>, width: number, height: number, base = 0, count = width * height): Uint8Array {
  const flags = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (i >= count) continue;
      const k = base + i;
      let f = 0;
      const t = target[k];
      const p = predicted[k];
      const check = (j: number): void => {
        if (j >= count) return;
        if (target[base + j] !== t) f |= 1;
        if (predicted[base + j] !== p) f |= 2;
      };
      if (x > 0) check(i - 1);
      if (x < width - 1) check(i + 1);
      if (y > 0) check(i - width);
      if (y < height - 1) check(i + width);
      flags[i] = f;
    }
  }
  return flags;
}

/** Paints contour flags into RGBA bytes in place. */
export function drawContours(rgba: Uint8ClampedArray, flags: Uint8Array): Uint8ClampedArray {
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i];
    if (!f) continue;
    const c = f === 3 ? CONTOUR_BOTH : f === 1 ? CONTOUR_TARGET : CONTOUR_PREDICTED;
    const o = i * 4;
    rgba[o] = c[0];
    rgba[o + 1] = c[1];
    rgba[o + 2] = c[2];
    rgba[o + 3] = 255;
  }
  return rgba;
}

/** Classes present in a slice, most frequent first, at most `limit` (skipping where skip[k] is set). */
export function presentClasses(labels: ArrayLike<number>, base: number, count: number, limit: number, skip?: ArrayLike<number> | null): { classes: number[]; more: number } {
  const counts = new Map<number, number>();
  for (let k = base; k < base + count; k++) {
    if (skip && skip[k]) continue;
    const c = labels[k];
    if (!Number.isInteger(c) || c < 0) continue;
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const all = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map((e) => e[0]);
  return { classes: all.slice(0, limit), more: Math.max(0, all.length - limit) };
}

/** A decoded photo at the map's size. */
export interface Photo {
  readonly rgba: Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  readonly name: string;
}

export interface OverlayEvents {
  /** Opacity (heat over photo, 0..1) or contours changed. */
  change(patch: { overlayOpacity?: number; contours?: boolean }): void;
  /** Ask the host for an image (open dialog). */
  choose(): void;
}

/** The overlay controls: Choose image…, opacity slider (data-testid overlay-opacity), contours toggle, a note. */
export class OverlayControls {
  readonly el: HTMLElement;
  readonly slider: HTMLInputElement;
  readonly contoursToggle: HTMLInputElement;
  readonly chooseButton: HTMLButtonElement;
  private readonly opacityGroup: HTMLElement;
  private readonly noteEl: HTMLElement;

  constructor(h: Builder, events: OverlayEvents, init: { opacity: number; contours: boolean; canChoose: boolean }) {
    this.chooseButton = h('button', { type: 'button', class: 'cel-button cel-secondary', text: 'Choose image…', title: 'Draw the heatmap over a photo (PNG or JPEG)', hidden: !init.canChoose });
    this.slider = h('input', {
      type: 'range', min: 0, max: 100, step: 1, value: Math.round(init.opacity * 100),
      'data-testid': 'overlay-opacity', 'aria-label': 'Heatmap opacity over the image',
    });
    this.opacityGroup = h('label', { class: 'cel-group', hidden: true }, h('span', { class: 'cel-label', text: 'Opacity' }), this.slider);
    this.contoursToggle = h('input', { type: 'checkbox', checked: init.contours });
    const contoursGroup = h('label', { class: 'cel-group cel-check', title: 'Outline target regions (white) and predicted regions (magenta); yellow where both' },
      this.contoursToggle, h('span', { text: 'Contours' }));
    this.noteEl = h('span', { class: 'cel-dim cel-overlay-note' });
    this.el = h('div', { class: 'cel-overlay', role: 'group', 'aria-label': 'Image overlay' },
      this.chooseButton, this.opacityGroup, contoursGroup, this.noteEl);
    this.slider.addEventListener('input', () => events.change({ overlayOpacity: Number(this.slider.value) / 100 }));
    this.contoursToggle.addEventListener('change', () => events.change({ contours: this.contoursToggle.checked }));
    this.chooseButton.addEventListener('click', () => events.choose());
  }

  /** Shows the slider while there is a photo; the note names it (and any scaling). */
  setPhoto(name: string | null, note = ''): void {
    this.opacityGroup.hidden = name === null;
    this.noteEl.textContent = name === null ? note : `${name}${note ? ` (${note})` : ''}`;
  }
}
