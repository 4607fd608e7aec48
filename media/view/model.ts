// What the view currently shows, shared by its components: the summary, the selected sample's maps and
// their geometry, the class probability maps, element details from the host, and the class colours.
// LossView writes it as messages arrive; components read it.
import type { ClassMaps, ElementDetail, SampleMaps, ViewLabelIssues, ViewSummary, ViewToHost } from '../../src/protocol';
import { flaggedInSample } from '../../src/labels/viewIssues';
import { classPositions, elementClassAxis, mapLayout, type MapLayout } from '../../src/mapLayout';
import type { Domain } from '../../src/valueScale';
import type { Builder } from './dom';
import { classColourTable } from './heatmap/overlay';
import { multiIndex, type Geometry } from './render/raster';
import type { Store, Timers } from './state';
import { HardPixelsState, type SampleMask } from './runs/hardState';

/** What every component gets: the builder, the page, the host channel and the state store. */
export interface ViewContext {
  readonly h: Builder;
  readonly root: HTMLElement;
  readonly win: (Window & typeof globalThis) | null;
  readonly timers: Timers;
  readonly post: (msg: ViewToHost) => void;
  readonly store: Store;
  /** A notebook output (smaller heatmap, "Open in panel"), not the panel. */
  readonly compact: boolean;
  /** An extension host can save files and open dialogs (false: a notebook page computing by itself). */
  readonly hostActions: boolean;
}

const DETAIL_CACHE = 64;

export function detailKey(n: number, index: readonly number[]): string {
  return `${n}|${index.join(',')}`;
}

/** Typed arrays may arrive as plain arrays when a channel JSON-encodes messages. */
export function f32(v: ArrayLike<number> | null | undefined): Float32Array | null {
  if (v === null || v === undefined) return null;
  return v instanceof Float32Array ? v : Float32Array.from(v, (x) => (x === null ? NaN : x));
}
export function i32(v: ArrayLike<number>): Int32Array {
  return v instanceof Int32Array ? v : Int32Array.from(v);
}
export function u8(v: ArrayLike<number>): Uint8Array {
  return v instanceof Uint8Array ? v : Uint8Array.from(v);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Maps from the host with every array typed (confidence and delta kept only when their lengths fit). */
export function normalizeMaps(raw: SampleMaps, need: number): SampleMaps {
  const conf = raw.confidence;
  const top1 = f32(conf?.top1);
  const margin = f32(conf?.margin);
  const entropy = f32(conf?.entropy);
  const delta = f32(raw.delta);
  return {
    n: raw.n, shape: raw.shape,
    loss: f32(raw.loss) as Float32Array, target: i32(raw.target), predicted: i32(raw.predicted), ignored: u8(raw.ignored),
    pTarget: f32(raw.pTarget),
    confidence: top1 && margin && entropy && top1.length >= need && margin.length >= need && entropy.length >= need ? { top1, margin, entropy } : null,
    delta: delta && delta.length >= need ? delta : null,
    ...(raw.confidenceOnRequest === true ? { confidenceOnRequest: true } : {}),
    ...(raw.pending === true ? { pending: true } : {}),
  };
}

export class ViewModel {
  summary: ViewSummary | null = null;
  /** The maps on screen (null while none arrived for the current summary). */
  maps: SampleMaps | null = null;
  geometry: Geometry | null = null;
  classMaps: ClassMaps | null = null;
  /** Class colours (flat RGB) for the label modes, the legend and the table. */
  colours: Uint8Array = classColourTable(null, 1);
  coloursKey = '';
  /** Likely label errors of the result on screen (null: not asked for, or a new result). */
  labelIssues: ViewLabelIssues | null = null;
  /** Counts label-issue updates (the painter's cache key). */
  labelIssuesSeq = 0;
  /** The label-errors mode asked the host for them for the result on screen. */
  labelIssuesAsked = false;
  /** "Hard in every run" of an image from the runs view (media/view/runs/). */
  readonly hard = new HardPixelsState();
  private flaggedCache: { readonly seq: number; readonly n: number; readonly mask: Uint8Array; readonly count: number } | null = null;
  /** A map preview on screen (src/mapPreview.ts): its placeholder maps, colour-table indices and domain. */
  preview: { readonly maps: SampleMaps; readonly lut: Int16Array; readonly domain: Domain } | null = null;
  private classesCache: { readonly maps: SampleMaps; readonly summary: ViewSummary; readonly classes: Int32Array } | null = null;
  private readonly details = new Map<string, ElementDetail>();

  setLabelIssues(issues: ViewLabelIssues | null): void {
    this.labelIssues = issues;
    this.labelIssuesSeq++;
    this.flaggedCache = null;
  }

  /**
   * For an elementwise loss (bce, sigmoid focal), the class each element of the maps on screen stands for:
   * its position along the class axis, which the class filter compares with (the target there is a 0/1,
   * not a class). Null for class targets, where the target is the class.
   */
  elementClasses(): Int32Array | null {
    const s = this.summary;
    const maps = this.maps;
    const g = this.geometry;
    const axis = s?.targetKind === 'binary' ? elementClassAxis(s.lossShape, s.options.classDim) : null;
    if (!s || !maps || !g || axis === null) return null;
    const c = this.classesCache;
    if (c && c.maps === maps && c.summary === s) return c.classes;
    const per = g.count * g.slices;
    // The maps hold elements [at, at + per) of the flat loss map: sample n's, or all of them.
    const classes = classPositions(s.lossShape, axis, maps.n >= 0 ? maps.n * per : 0, per);
    this.classesCache = { maps, summary: s, classes };
    return classes;
  }

  /** The sample on screen's reported elements as a 0/1 mask over its map, and their number (null: none known). */
  flaggedOfSample(): { readonly mask: Uint8Array; readonly count: number } | null {
    const li = this.labelIssues;
    const maps = this.maps;
    const g = this.geometry;
    if (!li || li.state !== 'done' || !maps || !g) return null;
    const c = this.flaggedCache;
    if (c && c.seq === this.labelIssuesSeq && c.n === maps.n) return c;
    const S = g.count * g.slices;
    const at = flaggedInSample(li.flagged, maps.n, S);
    const mask = new Uint8Array(S);
    let count = 0;
    for (const i of at) {
      if (i >= 0 && i < S) {
        mask[i] = 1;
        count++;
      }
    }
    this.flaggedCache = { seq: this.labelIssuesSeq, n: maps.n, mask, count };
    return this.flaggedCache;
  }

  /** The sample on screen's pixels hard in every run (null: not known). */
  hardOfSample(): SampleMask | null {
    return this.maps ? this.hard.ofSample(this.maps.n, this.geometry) : null;
  }

  /** The class colours for C classes (setting crossEntropyLens.classColors, else the palette); true if they changed. */
  setColours(classColors: readonly string[] | null, C: number): boolean {
    const key = JSON.stringify([classColors ?? [], C]);
    if (key === this.coloursKey) return false;
    this.colours = classColourTable(classColors, C);
    this.coloursKey = key;
    return true;
  }

  detail(key: string | null): ElementDetail | undefined {
    return key === null ? undefined : this.details.get(key);
  }

  hasDetail(key: string): boolean {
    return this.details.has(key);
  }

  addDetail(d: ElementDetail): string {
    const key = detailKey(d.n, d.index);
    this.details.set(key, d);
    if (this.details.size > DETAIL_CACHE) this.details.delete(this.details.keys().next().value as string);
    return key;
  }

  clearDetails(): void {
    this.details.clear();
  }

  get classNames(): readonly string[] {
    return this.summary?.classNames ?? [];
  }

  /** How the summary's loss map is drawn (null before a summary). */
  get layout(): MapLayout | null {
    return this.summary ? mapLayout(this.summary.lossShape, this.summary.options.loss) : null;
  }

  /** One sample of the loss map at a time ([N, ...spatial]) rather than a strip, a matrix or a single element. */
  get spatial(): boolean {
    return this.layout?.perSample ?? false;
  }

  /** Samples the view selects among (1 for a strip or a matrix). */
  get sampleCount(): number {
    return this.summary && this.spatial ? this.summary.lossShape[0] : 1;
  }

  /** Where an element of a slice sits for the host: [n, index within the sample map]. */
  elementRef(slice: number, i: number): { n: number; index: number[] } | null {
    const g = this.geometry;
    if (!g || !this.maps) return null;
    if (g.wrapped && this.maps.n < 0) return { n: -1, index: [i] };
    return { n: this.maps.n, index: multiIndex(g, slice, i) };
  }

  /** The probability plane of class c for the sample on screen, when it arrived. */
  classProbPlane(c: number | null): Float32Array | null {
    const cm = this.classMaps;
    const g = this.geometry;
    if (!cm || c === null || !g || !this.maps || cm.n !== this.maps.n) return null;
    const S = g.count * g.slices;
    if (cm.probs.length < (c + 1) * S) return null;
    return cm.probs.subarray(c * S, (c + 1) * S);
  }
}

export function safeContext(c: HTMLCanvasElement): CanvasRenderingContext2D | null {
  try {
    return c.getContext('2d');
  } catch {
    return null;
  }
}

export function safeDataUrl(c: HTMLCanvasElement): string {
  try {
    const url = c.toDataURL('image/png');
    return typeof url === 'string' && url.startsWith('data:image/png') ? url : '';
  } catch {
    return '';
  }
}

/** Puts RGBA bytes on a canvas (sized to them); nothing where the page has no 2-D canvas. */
export function putPixels(win: (Window & typeof globalThis) | null, canvas: HTMLCanvasElement, rgba: Uint8ClampedArray, width: number, height: number): void {
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = safeContext(canvas);
  const ImageDataCtor = win?.ImageData;
  if (!ctx || !ImageDataCtor) return;
  ctx.imageSmoothingEnabled = false;
  ctx.putImageData(new ImageDataCtor(rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
}
