// The photo a sample's maps are drawn over: found by stem beside the input or target file (pure; no VS Code
// API, so it is unit-tested directly). frankfurt_000000_000294_gtFine_labelIds.png pairs with
// frankfurt_000000_000294_leftImg8bit.png; x.npy with x.jpg. Only display images (PNG, JPEG) are offered, and
// never the loss's own input or target file.
import * as path from 'node:path';

/** Largest image read for display (bytes): far above a 4K photo, far below a memory problem. */
export const MAX_IMAGE_BYTES = 32 << 20;

export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

/** Name suffixes stripped to get a sample's stem (longest first, so _gtFine_labelIds goes before _labelIds). */
export const STEM_SUFFIXES: readonly string[] = [
  '_gtFine_labelIds', '_gtFine_labelTrainIds', '_leftImg8bit', '_logits', '_labels', '_label', '_target', '_input',
  '_pred', '_mask', '_seg', '_gt',
];

/** The stem of a file: its base name without member spec (file.npz:member), extension or a known suffix. */
export function imageStem(file: string): string {
  let base = path.basename(file);
  // A member spec (file.pt:key) names a member, not a file: the stem is the file's.
  const colon = base.indexOf(':');
  if (colon > 0) base = base.slice(0, colon);
  const dot = base.lastIndexOf('.');
  if (dot > 0) base = base.slice(0, dot);
  for (const s of STEM_SUFFIXES) {
    if (base.length > s.length && base.toLowerCase().endsWith(s.toLowerCase())) return base.slice(0, base.length - s.length);
  }
  return base;
}

/** MIME type of a display image by extension, or null for anything else. */
export function imageMime(file: string): 'image/png' | 'image/jpeg' | null {
  const ext = path.extname(file).toLowerCase();
  return ext === '.png' ? 'image/png' : ext === '.jpg' || ext === '.jpeg' ? 'image/jpeg' : null;
}

/** The file path of a tensor spec (file.npz:member → file.npz); Windows drive letters kept. */
function filePart(spec: string): string {
  const dir = path.dirname(spec);
  const base = path.basename(spec);
  const colon = base.indexOf(':');
  return colon > 0 ? path.join(dir, base.slice(0, colon)) : spec;
}

/**
 * Candidate image paths for a sample, in order: for each of the input and the target (a file spec or null),
 * in its directory, the stem with each known image suffix (none, _leftImg8bit, _image, _img) and extension.
 * The input and target files themselves are never candidates.
 */
export function imageCandidates(sources: readonly (string | null)[]): string[] {
  const own = new Set(sources.filter((s): s is string => !!s).map((s) => path.resolve(filePart(s))));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const s of sources) {
    if (!s) continue;
    const file = filePart(s);
    const dir = path.dirname(file);
    const stem = imageStem(file);
    if (!stem) continue;
    for (const suffix of ['', '_leftImg8bit', '_image', '_img']) {
      for (const ext of IMAGE_EXTENSIONS) {
        const p = path.join(dir, stem + suffix + ext);
        const key = path.resolve(p);
        if (own.has(key) || seen.has(key)) continue;
        seen.add(key);
        out.push(p);
      }
    }
  }
  return out;
}

/** The first candidate that `exists` accepts (a regular-file check on the host), or null. */
export async function findImageFor(sources: readonly (string | null)[], exists: (p: string) => Promise<boolean>): Promise<string | null> {
  for (const p of imageCandidates(sources)) if (await exists(p)) return p;
  return null;
}
