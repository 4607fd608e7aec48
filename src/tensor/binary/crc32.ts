// CRC-32 (the zip/PNG polynomial 0xEDB88320, reflected), in pure code so that src/tensor stays usable in a
// browser: fflate computes it internally but does not export it, and Node's zlib.crc32 is Node only.
// Slicing by 16 (sixteen 256-entry tables, four aligned 32-bit words per step) runs at about 1 GB/s on the
// reference machine, a quarter of zlib's native speed and well below the cost of inflating a member.

const TABLES = ((): Int32Array => {
  const t = new Int32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let k = 1; k < 16; k++) {
    for (let n = 0; n < 256; n++) {
      const prev = t[(k - 1) * 256 + n];
      t[k * 256 + n] = t[prev & 0xff] ^ (prev >>> 8);
    }
  }
  return t;
})();

// The word loop reads bytes in little-endian order out of Int32 words.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Crc32 = (bytes: Uint8Array, crc: number) => number;

let native: Crc32 | null = null;

/**
 * Hands in a platform CRC-32 with this one's meaning (Node's zlib.crc32: 5-10x this code's speed, 40-70 ms
 * against 380 ms for a 176 MB torch.save file here). The Node entry points call it; this module imports
 * nothing from Node, so that it still runs in a browser.
 */
export function useNativeCrc32(fn: Crc32 | null): void {
  native = fn;
}

/** The CRC-32 computed here, whatever was handed in (tests compare the two). */
export function crc32Portable(bytes: Uint8Array, crc = 0): number {
  const T = TABLES;
  let c = ~crc;
  let i = 0;
  const n = bytes.length;
  if (LITTLE_ENDIAN) {
    for (; i < n && (bytes.byteOffset + i) % 4 !== 0; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    const blocks = Math.floor((n - i) / 16);
    const w = blocks > 0 ? new Int32Array(bytes.buffer, bytes.byteOffset + i, blocks * 4) : new Int32Array(0);
    for (let k = 0; k < w.length; k += 4) {
      const a = c ^ w[k];
      const b = w[k + 1];
      const d = w[k + 2];
      const e = w[k + 3];
      c =
        T[3840 + (a & 0xff)] ^ T[3584 + ((a >>> 8) & 0xff)] ^ T[3328 + ((a >>> 16) & 0xff)] ^ T[3072 + (a >>> 24)] ^
        T[2816 + (b & 0xff)] ^ T[2560 + ((b >>> 8) & 0xff)] ^ T[2304 + ((b >>> 16) & 0xff)] ^ T[2048 + (b >>> 24)] ^
        T[1792 + (d & 0xff)] ^ T[1536 + ((d >>> 8) & 0xff)] ^ T[1280 + ((d >>> 16) & 0xff)] ^ T[1024 + (d >>> 24)] ^
        T[768 + (e & 0xff)] ^ T[512 + ((e >>> 8) & 0xff)] ^ T[256 + ((e >>> 16) & 0xff)] ^ T[e >>> 24];
    }
    i += blocks * 16;
  }
  for (; i < n; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * The CRC-32 of `bytes`, continuing from `crc` (the value returned for the bytes before them; 0 to start),
 * so a stream can be checked piece by piece. Returns an unsigned 32-bit value.
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return native !== null && bytes.length >= 4096 ? native(bytes, crc) >>> 0 : crc32Portable(bytes, crc);
}
