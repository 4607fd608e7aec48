// Shared by the WebAssembly kernel tests: the compiled module (built on demand when dist/ has none), a
// growable shared memory with a bump allocator, and one kernel call laid out in that memory.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blockedLength, ceAccLength, instantiateCeKernel, type CeWasmKernel } from '../../../src/kernel/wasm/wasmKernel';

const ROOT = path.resolve(__dirname, '../../..');
let built: string | null = null;

/**
 * Path of a compiled module: $CEL_WASM_DIR/<file> when set, dist/<file> after a build, else a fresh build
 * into a temporary folder.
 */
export function wasmPath(file: 'ce.wasm' | 'ce.unshared.wasm' = 'ce.wasm'): string {
  const inDist = path.join(process.env.CEL_WASM_DIR ?? path.join(ROOT, 'dist'), file);
  if (fs.existsSync(inDist)) return inDist;
  if (!built) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-wasm-'));
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build-wasm.mjs'), dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`building the wasm kernel failed: ${r.stderr}`);
    built = dir;
  }
  return path.join(built, file);
}

export function loadModule(file: 'ce.wasm' | 'ce.unshared.wasm' = 'ce.wasm'): WebAssembly.Module {
  return new WebAssembly.Module(fs.readFileSync(wasmPath(file)));
}

/** A shared memory that grows on demand; allocations are 64-byte aligned and freed all at once. */
export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly kernel: CeWasmKernel;
  private top: number;

  constructor(module: WebAssembly.Module, maxPages = 16384) {
    this.memory = new WebAssembly.Memory({ initial: 16, maximum: maxPages, shared: true });
    this.kernel = instantiateCeKernel(module, this.memory);
    this.top = this.kernel.reservedBytes;
  }

  reset(): void {
    this.top = this.kernel.reservedBytes;
  }

  alloc(bytes: number): number {
    const at = this.top;
    this.top = Math.ceil((at + Math.max(bytes, 1)) / 64) * 64;
    const need = Math.ceil(this.top / 65536) - this.memory.buffer.byteLength / 65536;
    if (need > 0) this.memory.grow(need);
    return at;
  }

  f32(at: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, n);
  }
  i32(at: number, n: number): Int32Array {
    return new Int32Array(this.memory.buffer, at, n);
  }
  f64(at: number, n: number): Float64Array {
    return new Float64Array(this.memory.buffer, at, n);
  }
}

export interface CeCase {
  C: number;
  S: number;
  /** (C, S) logits of one sample. */
  x: Float32Array;
  t: Int32Array;
  w: Float32Array | null;
  ignoreIndex: number;
  labelSmoothing: number;
}

export interface CeOutputs {
  ret: number;
  loss: Float32Array;
  pred: Int32Array;
  acc: Float64Array;
  confusion: Float64Array;
}

/** Copies a case into the arena and runs one call on [s0, s1); outputs are copied out. */
/**
 * With `blocked`, the logits go through toBlocks into the 16-pixel block layout (garbage in the lanes past
 * S) and the call is ceIndexF32Blocked.
 */
export function runCase(a: Arena, k: CeCase, s0: number, s1: number, opts: { pred?: boolean; confusion?: boolean; blocked?: boolean } = {}): CeOutputs {
  a.reset();
  const { C, S } = k;
  // An odd offset inside the arena (whole floats) so rows are not all 64-byte aligned.
  const xAt = a.alloc(C * S * 4 + 64) + 4 * ((C * 7 + S) % 16);
  const blockAt = opts.blocked ? a.alloc(blockedLength(C, S) * 4) : 0;
  const tAt = a.alloc(S * 4);
  const wAt = k.w ? a.alloc(C * 4) : 0;
  const lossAt = a.alloc(S * 4);
  const predAt = a.alloc(S * 4);
  const accAt = a.alloc(ceAccLength(C) * 8);
  const confAt = a.alloc(C * C * 8);
  a.f32(xAt, C * S).set(k.x);
  if (opts.blocked) {
    a.f32(blockAt, blockedLength(C, S)).fill(NaN);
    a.kernel.toBlocks(xAt, blockAt, C, S, 1, 0, C);
  }
  a.i32(tAt, S).set(k.t);
  if (k.w) a.f32(wAt, C).set(k.w);
  a.f32(lossAt, S).fill(-12345);
  a.i32(predAt, S).fill(-7);
  a.f64(accAt, ceAccLength(C)).fill(0);
  a.f64(confAt, C * C).fill(0);
  const withPred = opts.pred !== false;
  const withConf = opts.confusion !== false;
  const ret = (opts.blocked ? a.kernel.ceIndexF32Blocked : a.kernel.ceIndexF32)(opts.blocked ? blockAt : xAt, tAt, wAt, C, S, s0, s1, k.ignoreIndex, k.labelSmoothing, lossAt,
    withPred ? predAt : 0, accAt, withConf ? confAt : 0);
  return {
    ret,
    loss: a.f32(lossAt, S).slice(),
    pred: a.i32(predAt, S).slice(),
    acc: a.f64(accAt, ceAccLength(C)).slice(),
    confusion: a.f64(confAt, C * C).slice(),
  };
}

/** mulberry32: small, seedable, good enough for test data. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

export type RowDtype = 'float32' | 'float16' | 'bfloat16';

export interface RowCase {
  C: number;
  R: number;
  dtype: RowDtype;
  /** [R, C] logits as the reference reads them (for float16 / bfloat16: the widened values of `bits`). */
  x: Float32Array;
  /** float16 / bfloat16 bit patterns [R, C]; null for float32. */
  bits: Uint16Array | null;
  t: Int32Array;
  w: Float32Array | null;
  ignoreIndex: number;
  labelSmoothing: number;
}

/**
 * Copies a row case into the arena and runs one row-kernel call on [r0, r1); outputs are copied out. The
 * logits start `shift` bytes past a 64-byte boundary (any offset: rows of 2-byte logits sit at odd
 * multiples of 2 anyway).
 */
export function runRows(a: Arena, k: RowCase, r0: number, r1: number, opts: { pred?: boolean; confusion?: boolean; shift?: number } = {}): CeOutputs {
  a.reset();
  const { C, R } = k;
  const eb = k.dtype === 'float32' ? 4 : 2;
  const shift = opts.shift ?? 4 * ((C * 7 + R) % 16);
  const xAt = a.alloc(C * R * eb + 64) + shift;
  const tAt = a.alloc(R * 4);
  const wAt = k.w ? a.alloc(C * 4) : 0;
  const lossAt = a.alloc(R * 4);
  const predAt = a.alloc(R * 4);
  const accAt = a.alloc(ceAccLength(C) * 8);
  const withConf = opts.confusion !== false;
  const confAt = withConf ? a.alloc(C * C * 8) : 0;
  writeBytes(a, xAt, k.dtype === 'float32' ? new Uint8Array(k.x.buffer, k.x.byteOffset, k.x.byteLength) : new Uint8Array((k.bits as Uint16Array).buffer, (k.bits as Uint16Array).byteOffset, (k.bits as Uint16Array).byteLength));
  a.i32(tAt, R).set(k.t);
  if (k.w) a.f32(wAt, C).set(k.w);
  a.f32(lossAt, R).fill(-12345);
  a.i32(predAt, R).fill(-7);
  a.f64(accAt, ceAccLength(C)).fill(0);
  if (withConf) a.f64(confAt, C * C).fill(0);
  const withPred = opts.pred !== false;
  const fn = k.dtype === 'float32' ? a.kernel.ceRowsF32 : k.dtype === 'float16' ? a.kernel.ceRowsF16 : a.kernel.ceRowsBF16;
  const ret = fn(xAt, tAt, wAt, C, R, r0, r1, k.ignoreIndex, k.labelSmoothing, lossAt, withPred ? predAt : 0, accAt, confAt);
  return {
    ret,
    loss: a.f32(lossAt, R).slice(),
    pred: a.i32(predAt, R).slice(),
    acc: a.f64(accAt, ceAccLength(C)).slice(),
    confusion: withConf ? a.f64(confAt, C * C).slice() : new Float64Array(0),
  };
}

function writeBytes(a: Arena, at: number, bytes: Uint8Array): void {
  new Uint8Array(a.memory.buffer, at, bytes.length).set(bytes);
}
