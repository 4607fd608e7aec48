// The benchmark's arithmetic anchor (expAnchor in src/wasm/ce.ts): it must do the work it stands for — exp of
// every value with the kernel's polynomial — or the bench's "kernel over anchor" ratio means nothing.
import * as assert from 'node:assert/strict';
import { instantiateCeKernel } from '../../../src/kernel/wasmKernel';
import { loadModule } from './wasmHelpers';

describe('wasm: the arithmetic anchor', function () {
  it('sums exp(v - 4) over every value (SIMD body and scalar tail) within the polynomial\'s error', function () {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
    const k = instantiateCeKernel(loadModule(), memory);
    const at = 1 << 16;
    for (const n of [0, 5, 16, 37, 1000]) {
      const xs = new Float32Array(memory.buffer, at, n);
      for (let i = 0; i < n; i++) xs[i] = Math.fround(((i * 7919) % 800) / 100 - 4);
      let want = 0;
      for (let i = 0; i < n; i++) want += Math.exp(xs[i]! - 4);
      const got = k.expAnchor(at, n);
      assert.ok(Math.abs(got - want) <= 1e-5 * want + 1e-30, `n = ${n}: ${got} vs ${want}`);
    }
  });
});
