// A sample's loss map as a preview (protocol.ts MapPreview): made on the host from the maps the computation
// gives first, drawn by the view before the maps themselves arrive. The indices come from the view's own
// scale (src/valueScale.ts) over the elements its loss mode counts (not ignored), so the picture is the one
// the maps give. Pure code: the panel host and tests share it.
import type { MapPreview } from './protocol';
import { computeDomain, lutIndex, NAN_INDEX, type Scale } from './valueScale';

/** The scale and clip a fresh view starts in (media/view/state.ts DEFAULT_STATE; a unit test keeps them equal). */
export const PREVIEW_SCALE: { readonly scale: Scale; readonly clip: number } = { scale: 'linear', clip: 100 };

/**
 * The preview of sample n's loss map in the given scale and clip, or null where it would show nothing
 * (no finite loss outside the ignored elements: the maps' own paint says what there is).
 */
export function mapPreview(
  m: { readonly shape: readonly number[]; readonly loss: Float32Array; readonly ignored: Uint8Array },
  n: number,
  at: { readonly scale: Scale; readonly clip: number } = PREVIEW_SCALE,
): MapPreview | null {
  const S = m.loss.length;
  if (m.ignored.length !== S) return null;
  const include = new Uint8Array(S);
  for (let i = 0; i < S; i++) include[i] = m.ignored[i] ? 0 : 1;
  const domain = computeDomain(m.loss, { scale: at.scale, clip: at.clip, include });
  if (domain.finiteCount === 0) return null;
  const index = new Uint8Array(S);
  const bytes = (S + 7) >> 3;
  const ignoredBits = new Uint8Array(bytes);
  const nanBits = new Uint8Array(bytes);
  for (let i = 0; i < S; i++) {
    const li = lutIndex(m.loss[i], domain);
    if (li === NAN_INDEX) nanBits[i >> 3] |= 1 << (i & 7);
    else index[i] = li;
    if (m.ignored[i]) ignoredBits[i >> 3] |= 1 << (i & 7);
  }
  return { n, shape: [...m.shape], scale: at.scale, clip: at.clip, domain, index, ignoredBits, nanBits };
}

/**
 * What the view draws a preview with: the colour-table index of each element (NAN_INDEX for NaN, as
 * lutIndex gives) and the ignored mask; null for a preview whose arrays do not fit its shape.
 */
export function previewArrays(p: MapPreview): { readonly lut: Int16Array; readonly ignored: Uint8Array } | null {
  const S = p.shape.reduce((a, b) => a * b, 1);
  const bytes = (S + 7) >> 3;
  if (!Number.isInteger(S) || p.index.length !== S || p.ignoredBits.length !== bytes || p.nanBits.length !== bytes) return null;
  const lut = new Int16Array(S);
  const ignored = new Uint8Array(S);
  for (let i = 0; i < S; i++) {
    const bit = 1 << (i & 7);
    lut[i] = p.nanBits[i >> 3] & bit ? NAN_INDEX : p.index[i];
    if (p.ignoredBits[i >> 3] & bit) ignored[i] = 1;
  }
  return { lut, ignored };
}
