// torch.save files (.pt, .pth, .bin) in the zip format of PyTorch >= 1.6: `<archive>/data.pkl` is a pickle
// of the saved object whose tensors refer to storages `<archive>/data/<key>` by persistent id
// ('storage', torch.FloatStorage, key, location, numel); each tensor is
// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata]).
// The pickle runs in the restricted reader of pickle.ts against the allow-list below, so a file that asks
// for any other global (os.system, builtins.eval, a numpy array, a module) is refused and nothing in it
// runs. Tensors are references until asked for: listing a file parses data.pkl only, and get() reads (and
// CRC-checks) only the storages the requested tensor uses, copying its view (offset, size, stride: slices,
// transposes, channels-last) into C order.

import { wholeView, type ByteView } from '../byteView';
import { LensError, fmtShape, quoteSnippet, unravelIndex } from '../../errors';
import { halvesToFloat32 } from '../float16';
import { type NpzMember, memberLabel, resolveNpzMember, ROLE_NAMES, type TensorRole } from './npz';
import { PyDict, PyGlobal, PyHost, PyList, PyTuple, type PyValue, pyTypeName, unpickle } from './pickle';
import { type DType, type Tensor, type TensorData, numel } from '../tensor';
import { VIEW_CONSTRUCTORS, viewableInPlace } from './inPlace';
import type { NpyHeader } from './npy';
import { ZipReader, type StoredPlace } from './zip';

/** The dtype as PyTorch names it (bfloat16 has no DType of its own: it is read as float32, exactly). */
export type TorchDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const STORAGE_TYPES: Readonly<Record<string, TorchDType>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const ITEM_SIZE: Readonly<Record<TorchDType, number>> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** The DType of the Tensor a TorchDType decodes to. */
export function tensorDType(d: TorchDType): DType {
  return d === 'bfloat16' ? 'float32' : d;
}

export interface TorchTensorInfo {
  /** Member path: dict keys and list/tuple indices joined by '.', e.g. 'out.logits', 'batch.1'; '' for a bare tensor. */
  readonly name: string;
  readonly shape: readonly number[];
  /** The dtype of the decoded Tensor ('float32' for bfloat16). */
  readonly dtype: DType;
  /** The dtype as saved. */
  readonly torchDType: TorchDType;
}

interface StorageRef {
  readonly key: string;
  readonly dtype: TorchDType;
  readonly numel: number;
}

interface TensorRef {
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

const RE_SAVE = "torch.save(t.detach().cpu(), 'x.pt')";

function corrupt(detail: string): LensError {
  return new LensError('format', `not a valid torch.save file: ${detail}`);
}

// ---------------------------------------------------------------------------------------------------------
// The allow-list

function isIndex(v: PyValue): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function intTuple(v: PyValue, what: string): number[] {
  const items = v instanceof PyTuple || v instanceof PyList ? v.items : undefined;
  if (items === undefined || items.length > 64 || !items.every(isIndex)) {
    throw corrupt(`a tensor's ${what} is ${pyTypeName(v)} rather than a tuple of non-negative integers`);
  }
  return items as number[];
}

function tensorHost(ref: TensorRef): PyHost {
  return new PyHost('torch.Tensor', ref);
}

function asTensorRef(v: PyValue | undefined): TensorRef | undefined {
  return v instanceof PyHost && v.typeName === 'torch.Tensor' ? (v.value as TensorRef) : undefined;
}

function rebuildTensor(args: readonly PyValue[]): PyValue {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.length < 4 || args.length > 7) throw corrupt(`_rebuild_tensor_v2 called with ${args.length} arguments`);
  const [s, off] = args;
  if (!(s instanceof PyHost) || s.typeName !== 'storage') throw corrupt(`_rebuild_tensor_v2 called on a ${pyTypeName(s)}, not a storage`);
  if (!isIndex(off)) throw corrupt("a tensor's storage offset is not a non-negative integer");
  const storage = s.value as StorageRef;
  const shape = intTuple(args[2], 'size');
  const stride = intTuple(args[3], 'stride');
  if (stride.length !== shape.length) throw corrupt(`a tensor of size ${fmtShape(shape)} has stride ${fmtShape(stride)}`);
  const n = numel(shape);
  if (n > 0) {
    let last = off;
    for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
    if (!Number.isSafeInteger(last) || last >= storage.numel) {
      throw corrupt(
        `a tensor view (offset ${off}, size ${fmtShape(shape)}, stride ${fmtShape(stride)}) runs past its storage of ${storage.numel} elements`,
      );
    }
  }
  return tensorHost({ storage, offset: off, shape, stride });
}

function rebuildParameter(args: readonly PyValue[]): PyValue {
  // (data, requires_grad, backward_hooks[, state]): a Parameter is its data here.
  const t = args[0];
  if (args.length < 3 || args.length > 4 || asTensorRef(t) === undefined) throw corrupt('_rebuild_parameter called without a tensor');
  return t;
}

function orderedDict(args: readonly PyValue[]): PyValue {
  if (args.length !== 0) throw corrupt('collections.OrderedDict called with arguments');
  return new PyDict(true);
}

function torchSize(args: readonly PyValue[]): PyValue {
  return new PyTuple(intTuple(args[0] ?? null, 'torch.Size'));
}

const ALLOWED: ReadonlyMap<string, (args: readonly PyValue[]) => PyValue> = new Map([
  ['torch._utils._rebuild_tensor_v2', rebuildTensor],
  ['torch._utils._rebuild_parameter', rebuildParameter],
  ['torch._utils._rebuild_parameter_with_state', rebuildParameter],
  ['collections.OrderedDict', orderedDict],
  ['torch.Size', torchSize],
]);

function findGlobal(module: string, name: string): PyGlobal | undefined {
  const call = ALLOWED.get(`${module}.${name}`);
  if (call !== undefined) return new PyGlobal(module, name, call);
  if (module === 'torch' && STORAGE_TYPES[name] !== undefined) return new PyGlobal(module, name);
  if (module === 'torch' && /^(Complex\w*|QU?Int\w*|Float8\w*|UntypedStorage|Bits\w*)Storage$|^UntypedStorage$/.test(name)) {
    throw new LensError('dtype', `holds a tensor with storage torch.${name}, whose dtype is not read here — convert it first, e.g. t.float() or t.long(), and re-save`);
  }
  return undefined;
}

function persistentLoad(pid: PyValue, storages: Map<string, StorageRef>): PyValue {
  const items = pid instanceof PyTuple ? pid.items : [];
  if (items.length !== 5 || items[0] !== 'storage') throw corrupt(`an unexpected persistent id (${pyTypeName(pid)})`);
  const [, type, key, , n] = items;
  if (!(type instanceof PyGlobal) || type.module !== 'torch' || STORAGE_TYPES[type.name] === undefined) {
    throw corrupt(`a storage of type ${pyTypeName(type)}`);
  }
  if (typeof key !== 'string' || !isIndex(n)) throw corrupt('a storage reference without a key or size');
  const dtype = STORAGE_TYPES[type.name];
  let s = storages.get(key);
  if (s === undefined || s.dtype !== dtype || s.numel !== n) {
    s = { key, dtype, numel: n };
    storages.set(key, s);
  }
  return new PyHost('storage', s);
}

// ---------------------------------------------------------------------------------------------------------
// Finding the archive's parts

const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/** The pickle that starts every torch.save file of PyTorch < 1.6 (or saved with _use_new_zipfile_serialization=False). */
export function isLegacyTorchSave(bytes: Uint8Array): boolean {
  return bytes.length >= LEGACY_MAGIC.length && LEGACY_MAGIC.every((x, i) => bytes[i] === x);
}

function legacyError(): LensError {
  return new LensError(
    'format',
    'is a torch.save file in the legacy format (PyTorch < 1.6, or _use_new_zipfile_serialization=False), which is not read here — re-save with torch.save in PyTorch >= 1.6 (the zip format)',
  );
}

/** The `<archive>/` prefix of data.pkl, or undefined when the zip is not a torch.save archive. */
export function archivePrefix(zip: ZipReader): string | undefined {
  // PyTorch names the archive after the first entry's folder; any other writer's order is accepted too.
  const first = zip.entries[0]?.name ?? '';
  const slash = first.indexOf('/');
  if (slash > 0 && zip.get(`${first.slice(0, slash + 1)}data.pkl`) !== undefined) return first.slice(0, slash + 1);
  const pkl = zip.entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  return pkl === undefined ? undefined : pkl.name.slice(0, -'data.pkl'.length);
}

/** Whether a zip file is a torch.save archive (holds `<archive>/data.pkl`) rather than an .npz. */
export function isTorchSaveZip(bytes: Uint8Array): boolean {
  try {
    return archivePrefix(new ZipReader(bytes, 'zip file')) !== undefined;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Walking the saved object

const MAX_DEPTH = 64;
const MAX_LISTED = 100_000;

function isContainer(v: PyValue): v is PyDict | PyList | PyTuple {
  return v instanceof PyDict || v instanceof PyList || v instanceof PyTuple;
}

/** A dict key as a path segment, or undefined for keys a path cannot name (tuples, bytes). */
function keySegment(k: PyValue): string | undefined {
  if (typeof k === 'string') return k;
  if ((typeof k === 'number' && Number.isInteger(k)) || typeof k === 'bigint') return String(k);
  return undefined;
}

function children(v: PyDict | PyList | PyTuple): Array<[string, PyValue]> {
  if (v instanceof PyDict) {
    const out: Array<[string, PyValue]> = [];
    for (let i = 0; i < v.size; i++) {
      const seg = keySegment(v.keys[i]);
      if (seg !== undefined) out.push([seg, v.values[i]]);
    }
    return out;
  }
  return v.items.map((x, i) => [String(i), x]);
}

function info(name: string, ref: TensorRef): TorchTensorInfo {
  return { name, shape: ref.shape, dtype: tensorDType(ref.storage.dtype), torchDType: ref.storage.dtype };
}

/** Every tensor reachable from `root` with its path (each container visited once: shared or cyclic structure stays finite). */
function listTensors(root: PyValue, prefix: string): { tensors: TorchTensorInfo[]; refs: TensorRef[]; truncated: boolean } {
  const tensors: TorchTensorInfo[] = [];
  const refs: TensorRef[] = [];
  const seen = new Set<object>();
  let truncated = false;
  const walk = (v: PyValue, path: string, depth: number): void => {
    if (tensors.length >= MAX_LISTED) {
      truncated = true;
      return;
    }
    const ref = asTensorRef(v);
    if (ref !== undefined) {
      tensors.push(info(path, ref));
      refs.push(ref);
      return;
    }
    if (!isContainer(v) || seen.has(v)) return;
    if (depth >= MAX_DEPTH) {
      truncated = true;
      return;
    }
    seen.add(v);
    for (const [seg, child] of children(v)) walk(child, path === '' ? seg : `${path}.${seg}`, depth + 1);
  };
  walk(root, prefix, 0);
  return { tensors, refs, truncated };
}

/**
 * The value at a member path. Dict keys may themselves hold dots (a state_dict's 'layer1.0.weight'), so at
 * a dict the longest run of segments that names a key is tried first, then shorter ones.
 */
function resolvePath(root: PyValue, segs: readonly string[]): PyValue | undefined {
  // Shared containers make many (container, segment) states reachable by many splits of the dots; each
  // state that failed is remembered, so the search costs (containers x segments) at most, not 2^segments.
  const failed = new Map<object, Set<number>>();
  const go = (v: PyValue, i: number, depth: number): PyValue | undefined => {
    if (i === segs.length) return v;
    if (depth > MAX_DEPTH || !isContainer(v)) return undefined;
    if (failed.get(v)?.has(i) === true) return undefined;
    let found: PyValue | undefined;
    if (v instanceof PyDict) {
      let key = segs.slice(i).join('.');
      for (let j = segs.length; j > i && found === undefined; j--) {
        if (j < segs.length) key = key.slice(0, key.length - segs[j].length - 1);
        let child = v.get(key);
        if (child === undefined && /^-?\d{1,15}$/.test(key)) child = v.get(Number(key));
        if (child !== undefined) found = go(child, j, depth + 1);
      }
    } else {
      const s = segs[i];
      if (/^\d{1,9}$/.test(s) && Number(s) < v.items.length) found = go(v.items[Number(s)], i + 1, depth + 1);
    }
    if (found === undefined) {
      let set = failed.get(v);
      if (set === undefined) failed.set(v, (set = new Set()));
      set.add(i);
    }
    return found;
  };
  return go(root, 0, 0);
}

function describeValue(v: PyValue): string {
  if (typeof v === 'string') return `a str (${quoteSnippet(v)})`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${pyTypeName(v)} ${String(v)}`;
  if (v === null) return 'None';
  return `a ${pyTypeName(v)}`;
}

function describeTensors(ts: readonly TorchTensorInfo[], max = 12): string {
  const shown = ts.slice(0, max).map((t) => `${memberLabel(t.name)} ${fmtShape(t.shape)} ${t.torchDType}`);
  if (ts.length > max) shown.push(`… ${ts.length - max} more`);
  return shown.join(', ');
}

// ---------------------------------------------------------------------------------------------------------
// Materializing a tensor

const PLATFORM_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAX_ELEMENTS = 2 ** 31 - 1;
/**
 * A view with more elements than its storage (stride 0: t.expand) is the one way a small file could ask for
 * a huge tensor; up to this many bytes it is materialized, beyond it refused.
 */
const MAX_BROADCAST_BYTES = 256 << 20;
/** Storage bytes one open file keeps for tensors that share storages. */
const MAX_CACHED_STORAGE_BYTES = 64 << 20;
/**
 * Largest data.pkl read. A state_dict of 100k tensors is a few megabytes; a deflated pickle could otherwise
 * inflate to a gigabyte from a megabyte of file.
 */
export const MAX_PICKLE_BYTES = 64 << 20;

type Words = Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array;

/** The view reads its storage in C order with no gaps (size-1 axes may have any stride). */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  for (let d = shape.length - 1, s = 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== s) return false;
    s *= shape[d];
  }
  return true;
}

/** Copies a strided view (in elements of `unit` words) into C order. */
function gather<T extends Words>(src: T, dst: T, shape: readonly number[], stride: readonly number[], unit: number): void {
  const n = numel(shape);
  if (n === 0) return;
  const nd = shape.length;
  if (nd === 0 || isContiguous(shape, stride)) {
    dst.set(src.subarray(0, n * unit) as never);
    return;
  }
  const idx = new Array<number>(nd).fill(0);
  const last = nd - 1;
  const len = shape[last];
  const step = stride[last] * unit;
  let base = 0;
  let o = 0;
  for (;;) {
    let s = base;
    if (unit === 1) {
      for (let i = 0; i < len; i++, s += step) dst[o++] = src[s];
    } else {
      for (let i = 0; i < len; i++, s += step) for (let u = 0; u < unit; u++) dst[o++] = src[s + u];
    }
    let d = last - 1;
    for (; d >= 0; d--) {
      idx[d]++;
      base += stride[d] * unit;
      if (idx[d] < shape[d]) break;
      base -= stride[d] * unit * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

function swapBytes(b: Uint8Array, size: number): void {
  for (let i = 0; i + size <= b.length; i += size) {
    for (let j = 0, k = size - 1; j < k; j++, k--) {
      const t = b[i + j];
      b[i + j] = b[i + k];
      b[i + k] = t;
    }
  }
}

/** 64-bit integers (pairs of int32 words, low first) to int32, as .npy int64 decodes; the first misfit is named. */
function narrowInt64(words: Int32Array, shape: readonly number[]): Int32Array {
  const n = numel(shape);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const lo = words[2 * i];
    const hi = words[2 * i + 1];
    if (hi !== lo >> 31) {
      const value = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
      throw new LensError('dtype', `int64 value ${value} at index ${fmtShape(unravelIndex(i, shape))} does not fit the kernel's 32-bit integer type`);
    }
    out[i] = lo;
  }
  return out;
}

/** Elements from the view's first to its last, inclusive (0 for an empty view). */
function viewExtent(ref: TensorRef): number {
  if (numel(ref.shape) === 0) return 0;
  let extent = 1;
  for (let d = 0; d < ref.shape.length; d++) extent += (ref.shape[d] - 1) * ref.stride[d];
  return extent;
}

function materialize(ref: TensorRef, storageBytes: Uint8Array, littleEndian: boolean): Tensor {
  const { storage, offset, shape, stride } = ref;
  const dtype = storage.dtype;
  const item = ITEM_SIZE[dtype];
  const n = numel(shape);
  if (n > MAX_ELEMENTS) throw new LensError('format', `a tensor of size ${fmtShape(shape)} has ${n} elements, more than can be read (${MAX_ELEMENTS}) — save a slice`);
  if (n > storage.numel && n * item > MAX_BROADCAST_BYTES) {
    throw new LensError(
      'format',
      `a tensor of size ${fmtShape(shape)} (stride ${fmtShape(stride)}) repeats its ${storage.numel}-element storage into ${n} elements, more than a broadcast view is expanded to here — save t.contiguous() or a slice`,
    );
  }
  const extent = viewExtent(ref);
  if (storageBytes.length < (offset + extent) * item) throw new Error('materialize: the storage prefix is shorter than the view');
  // bfloat16 decodes as float32 but its bytes are not float32's.
  const direct = dtype === 'bfloat16' ? undefined : VIEW_CONSTRUCTORS[dtype];
  const plain = direct !== undefined && n > 0 && isContiguous(shape, stride) && (item === 1 || littleEndian === PLATFORM_LITTLE_ENDIAN);
  if (plain && viewableInPlace(storageBytes, offset * item, n * item, item)) {
    return { dtype: tensorDType(dtype), shape: [...shape], data: new direct(storageBytes.buffer, storageBytes.byteOffset + offset * item, n) }; // never bfloat16 (no direct view)
  }
  // A copy of just the span the view touches: aligned for typed views, byte-swapped when needed.
  // Uint8Array's slice: a Node Buffer's own slice() is a view, not a copy.
  const span = Uint8Array.prototype.slice.call(storageBytes, offset * item, (offset + extent) * item);
  if (item > 1 && littleEndian !== PLATFORM_LITTLE_ENDIAN) swapBytes(span, item);
  const buf = span.buffer;
  // A contiguous view's span is its values in order: the one copy is the tensor.
  if (plain) return { dtype: tensorDType(dtype), shape: [...shape], data: new direct(buf, 0, n) };
  let data: TensorData;
  switch (dtype) {
    case 'float32': gather(new Float32Array(buf), (data = new Float32Array(n)), shape, stride, 1); break;
    case 'float64': gather(new Float64Array(buf), (data = new Float64Array(n)), shape, stride, 1); break;
    case 'int32': gather(new Int32Array(buf), (data = new Int32Array(n)), shape, stride, 1); break;
    case 'int16': gather(new Int16Array(buf), (data = new Int16Array(n)), shape, stride, 1); break;
    case 'int8': gather(new Int8Array(buf), (data = new Int8Array(n)), shape, stride, 1); break;
    case 'uint8': gather(span, (data = new Uint8Array(n)), shape, stride, 1); break;
    case 'bool': {
      const out = new Uint8Array(n);
      gather(span, out, shape, stride, 1);
      for (let i = 0; i < n; i++) if (out[i] > 1) out[i] = 1;
      data = out;
      break;
    }
    case 'float16': {
      const halves = new Uint16Array(n);
      gather(new Uint16Array(buf), halves, shape, stride, 1);
      data = halvesToFloat32(halves);
      break;
    }
    case 'bfloat16': {
      // A bfloat16 is the high half of the float32 with the same bits: widening is exact.
      const halves = new Uint16Array(n);
      gather(new Uint16Array(buf), halves, shape, stride, 1);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = halves[i] << 16;
      data = new Float32Array(bits.buffer);
      break;
    }
    case 'int64': {
      const words = new Int32Array(2 * n);
      gather(new Int32Array(buf), words, shape, stride, 2);
      if (!PLATFORM_LITTLE_ENDIAN) for (let i = 0; i < n; i++) [words[2 * i], words[2 * i + 1]] = [words[2 * i + 1], words[2 * i]];
      data = narrowInt64(words, shape);
      break;
    }
  }
  return { dtype: tensorDType(dtype), shape: [...shape], data, ...(dtype === 'bfloat16' ? { storedAs: 'bfloat16' as const } : {}) };
}

// ---------------------------------------------------------------------------------------------------------
// The file

export interface TorchSaveFile {
  /** Every tensor in the file with its member path, in pickle order (a bare tensor: one entry named ''). */
  readonly tensors: readonly TorchTensorInfo[];
  /** Listing stopped early (more than 100000 tensors, or nesting deeper than 64). */
  readonly truncated: boolean;
  /** The file holds one tensor and nothing around it. */
  readonly bare: boolean;
  /** The tensor at a member path ('' for a bare tensor), reading only the storages it uses. */
  get(member: string): Tensor;
  /** The tensor listed at `tensors[index]`, without resolving its name again. */
  tensorAt(index: number): Tensor;
  /**
   * Where a member's values lie in the file as a .npy's data would (a contiguous view of a stored storage,
   * in a dtype .npy has); undefined for any other tensor.
   */
  place(member: string): StoredPlace | undefined;
}

/** .npy descrs of the storage dtypes a place can have (bfloat16 has none). */
const NPY_DESCR: Partial<Record<TorchDType, string>> = {
  float32: '<f4', float64: '<f8', float16: '<f2', int64: '<i8', int32: '<i4', int16: '<i2', int8: '|i1', uint8: '|u1', bool: '|b1',
};

/**
 * Parses a torch.save zip's data.pkl (no storage is read). Errors are one line, prefixed with `source` when
 * given: a refused global names itself, a legacy (pre-1.6) file says to re-save.
 */
export function readTorchSave(file: Uint8Array | ByteView, source?: string): TorchSaveFile {
  const bytes = file instanceof Uint8Array ? wholeView(file) : file;
  const src = (e: unknown): LensError => {
    const le = e instanceof LensError ? e : corrupt(e instanceof Error ? e.message : String(e));
    return source === undefined ? le : le.withSource(source);
  };
  try {
    if (isLegacyTorchSave(bytes.subarray(0, Math.min(bytes.length, LEGACY_MAGIC.length)))) throw legacyError();
    if (!(bytes.length >= 4 && bytes.byteAt(0) === 0x50 && bytes.byteAt(1) === 0x4b)) {
      if (bytes.length > 0 && bytes.byteAt(0) === 0x80) {
        throw new LensError('format', `is a plain pickle, not a torch.save zip archive — re-save with ${RE_SAVE} in PyTorch >= 1.6`);
      }
      throw corrupt(bytes.length === 0 ? 'the file is empty' : `missing the PK zip signature — expected a file written by ${RE_SAVE}`);
    }
    const zip = new ZipReader(bytes, 'torch.save (zip) file');
    const prefix = archivePrefix(zip);
    if (prefix === undefined) throw corrupt(`the zip holds no data.pkl — expected a file written by ${RE_SAVE}`);
    const pklEntry = zip.get(`${prefix}data.pkl`)!;
    if (pklEntry.size > MAX_PICKLE_BYTES) throw corrupt(`data.pkl is ${pklEntry.size} bytes, over the ${MAX_PICKLE_BYTES >> 20} MB of pickle read here — a checkpoint's data.pkl is far smaller`);
    const pkl = zip.read(pklEntry);
    const order = zip.get(`${prefix}byteorder`);
    const byteorder = order === undefined ? 'little' : new TextDecoder().decode(zip.read(order)).trim();
    if (byteorder !== 'little' && byteorder !== 'big') throw corrupt(`byteorder ${quoteSnippet(byteorder)}`);
    const storages = new Map<string, StorageRef>();
    const root = unpickle(pkl, { findGlobal, persistentLoad: (pid) => persistentLoad(pid, storages) });
    const { tensors, refs, truncated } = listTensors(root, '');
    const bare = asTensorRef(root) !== undefined;
    // Storage bytes already read, kept for tensors that share a storage, up to a bound: a hover asks for
    // several tensors, and keeps no more than it shows.
    const cache = new Map<string, Uint8Array>();
    let cached = 0;
    const storageBytes = (ref: TensorRef): Uint8Array => {
      const { key, dtype, numel: count } = ref.storage;
      const item = ITEM_SIZE[dtype];
      const needed = (ref.offset + viewExtent(ref)) * item;
      const hit = cache.get(key);
      if (hit !== undefined && hit.length >= needed) return hit;
      const e = zip.get(`${prefix}data/${key}`);
      if (e === undefined) throw corrupt(`storage data/${memberLabel(key)} is missing from the archive — truncated?`);
      // torch.save writes exactly numel x itemsize bytes: a larger entry is not a storage it wrote, and a
      // deflated one could inflate to gigabytes behind a six-element tensor.
      const declared = count * item;
      if (e.size > declared) {
        throw corrupt(`storage data/${memberLabel(key)} holds ${e.size} bytes, more than its ${count} ${dtype} elements take (${declared}) — re-save the file`);
      }
      if (e.size < declared) throw corrupt(`storage data/${memberLabel(key)} holds ${e.size} of ${declared} bytes — truncated?`);
      // Only the part the view reaches is inflated (a deflated storage); all of it is CRC-checked when read whole.
      const b = zip.prefix(e, needed).bytes;
      if (b.length <= MAX_CACHED_STORAGE_BYTES - cached) {
        cached += b.length - (hit?.length ?? 0);
        cache.set(key, b);
      }
      return b;
    };
    const valueAt = (member: string): PyValue => {
      if (member === '') return root;
      if (bare) throw new LensError('option', `holds a single tensor, not a dict, list or tuple — drop the member name (:${memberLabel(member)})`);
      const segs = member.split('.');
      const v = segs.length > MAX_DEPTH ? undefined : resolvePath(root, segs);
      if (v === undefined) {
        throw new LensError('option', `no member named ${memberLabel(member)}; tensors: ${describeTensors(tensors)}${tensors.length > 0 ? ` — name one as ${source ?? 'file.pt'}:${memberLabel(tensors[0].name)}` : ''}`);
      }
      return v;
    };
    const little = byteorder === 'little';
    return {
      tensors,
      truncated,
      bare,
      tensorAt(index: number): Tensor {
        const ref = refs[index];
        if (ref === undefined) throw new RangeError(`tensorAt(${index}) of ${refs.length} tensors`);
        try {
          return materialize(ref, storageBytes(ref), little);
        } catch (e) {
          throw src(e);
        }
      },
      place(member: string): StoredPlace | undefined {
        try {
          const ref = asTensorRef(valueAt(member));
          if (ref === undefined) return undefined;
          const { key, dtype, numel: count } = ref.storage;
          const item = ITEM_SIZE[dtype];
          const descr = NPY_DESCR[dtype];
          const n = numel(ref.shape);
          if (descr === undefined || n === 0 || !isContiguous(ref.shape, ref.stride)) return undefined;
          const e = zip.get(`${prefix}data/${key}`);
          // Only a plain stored entry (get() words what is wrong with any other).
          if (e === undefined || e.method !== 0 || (e.flags & 1) !== 0 || e.compressedSize !== e.size || e.size !== count * item || (ref.offset + n) * item > e.size) return undefined;
          const entryStart = zip.dataStart(e);
          const header: NpyHeader = {
            version: '1.0', descr: item > 1 && !little ? descr.replace('<', '>') : descr, dtype: tensorDType(dtype), littleEndian: little || item === 1, itemSize: item,
            fortranOrder: false, shape: [...ref.shape], dataOffset: entryStart + ref.offset * item,
          };
          return { header, zip, entry: e, entryStart };
        } catch (e) {
          throw src(e);
        }
      },
      get(member: string): Tensor {
        try {
          const v = valueAt(member);
          const ref = asTensorRef(v);
          if (ref === undefined) {
            const inside = isContainer(v) ? listTensors(v, member).tensors : [];
            const what = member === '' ? 'the file holds' : `member ${memberLabel(member)} is`;
            if (inside.length === 0) throw new LensError('format', `${what} ${describeValue(v)}, not a tensor, and no tensor is inside it`);
            throw new LensError('option', `${what} ${describeValue(v)}, not a tensor; tensors in it: ${describeTensors(inside)} — name one as ${source ?? 'file.pt'}:${memberLabel(inside[0].name)}`);
          }
          return materialize(ref, storageBytes(ref), little);
        } catch (e) {
          throw src(e);
        }
      },
    };
  } catch (e) {
    throw src(e);
  }
}

/** Shape and dtype of every tensor in a torch.save file, from data.pkl alone (for pickers and hovers). */
export function torchSaveTensors(bytes: Uint8Array | ByteView, source?: string): TorchTensorInfo[] {
  return [...readTorchSave(bytes, source).tensors];
}

/**
 * The member a role uses when none is named: the file itself when it is one tensor, else the tensor whose
 * name (a top-level key) is a role name, by the same rules as an .npz member (resolveNpzMember).
 */
export function resolveTorchMember(file: TorchSaveFile, role: TensorRole, source: string): string {
  if (file.bare) return '';
  if (file.tensors.length === 0) throw new LensError('format', `${source}: holds no tensors`);
  // resolveNpzMember words the error; it needs only names, shapes and dtypes. Role-named tensors go first so
  // that a long state_dict's listing (cut to 24) still counts every hit.
  const names = ROLE_NAMES[role];
  const isHit = (t: TorchTensorInfo): boolean => names.includes(t.name.toLowerCase());
  const ordered = [...file.tensors.filter(isHit), ...file.tensors.filter((t) => !isHit(t))].slice(0, 24);
  const members: NpzMember[] = ordered.map((t) => ({
    name: t.name,
    size: 0,
    deflated: false,
    header: { version: '1.0', descr: t.torchDType, dtype: t.dtype, littleEndian: true, itemSize: ITEM_SIZE[t.torchDType], fortranOrder: false, shape: [...t.shape], dataOffset: 0 },
  }));
  return resolveNpzMember({ members }, role, source);
}

/** Decodes the tensor a role or member names from a torch.save file. */
export function decodeTorchSave(source: string, bytes: Uint8Array | ByteView, role: TensorRole, member: string | undefined): Tensor {
  const file = readTorchSave(bytes, source);
  return file.get(member ?? resolveTorchMember(file, role, source));
}
