// What one first touch of a fresh 4 KiB page costs on this machine, for the bench's machine section. It
// decides how much of any "allocate, then compute" timing is the kernel's work: PyTorch's F.cross_entropy
// allocates its log-softmax afresh per call, and so do our result maps per request. ~0.1-0.3 us on bare
// Linux; ~10 us on the Firecracker VM these figures were first taken on.
const MIB = 2 ** 20;

/** Microseconds per fresh page: best of `reps` rounds, each touching a new 64 MiB buffer page by page. */
export function pageFaultMicros(reps = 3): number {
  const page = 4096;
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    // Above glibc's largest mmap threshold (32 MiB): always fresh pages from the kernel, never reused ones.
    const t0 = performance.now();
    const a = new Uint8Array(64 * MIB);
    for (let i = 0; i < a.length; i += page) a[i] = 1;
    const us = ((performance.now() - t0) * 1000) / (a.length / page);
    best = Math.min(best, us);
  }
  return best;
}
