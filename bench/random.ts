// Deterministic pseudo-random data (xorshift) shared by the benchmarks, so their runs compare.
export function xorshift(seed = 12345): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}
