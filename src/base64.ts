// Base64 for bytes in every context the pure code runs in: the extension host and the CLI (Node, whose
// Buffer codec is native), the worker, webviews and notebook renderers (native btoa/atob). Node's own
// btoa/atob work a character at a time (a 61 MB notebook payload took 0.7 s to decode on the host thread),
// so Buffer is taken where there is one, without importing Node.

/** Characters per String.fromCharCode call when building btoa's binary string. */
const CHUNK = 0x8000;

/** Node's Buffer where there is one (the extension host, the CLI), looked up without importing Node. */
interface NodeBuffer {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): { toString(encoding: 'base64'): string };
  from(text: string, encoding: 'base64'): Uint8Array;
}
const nodeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;

export function bytesToBase64(bytes: Uint8Array): string {
  // Node's btoa works a character at a time: 290 ms for a 512 x 512 sample's maps on the extension host,
  // which held the summary sent before them for as long. Buffer's encoder is native (a few ms); browsers'
  // btoa is native too.
  if (nodeBuffer) return nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return bytesToBase64ByBtoa(bytes);
}

/** The same base64 by btoa (what a webview uses). */
export function bytesToBase64ByBtoa(bytes: Uint8Array): string {
  // btoa takes a binary string; building it in chunks keeps String.fromCharCode's argument list small.
  let s = '';
  for (let i = 0; i < bytes.length; i += CHUNK) s += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(s);
}

/**
 * Standard base64 with its padding, and nothing else (a length that is a multiple of 4). A character loop
 * the regex engine runs without backtracking: the grouped form (?:[...]{4})* overflowed the stack on texts
 * of a few million characters.
 */
export function isStrictBase64(b64: string): boolean {
  return b64.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(b64);
}

export function base64ToBytes(b64: string): Uint8Array {
  // Buffer decodes natively but accepts anything (it skips what is not base64): only text already known to
  // be strict base64 goes that way; the rest keeps atob's rules (and its errors). A copy: the caller views
  // the bytes' buffer from offset 0, and Buffer's may be a slice of its pool.
  if (nodeBuffer) {
    // atob also takes text without its padding (2 or 3 characters in the last group, no '='): padded here.
    const r = b64.length % 4;
    const padded = r > 1 && !b64.endsWith('=') ? b64 + '='.repeat(4 - r) : b64;
    if (isStrictBase64(padded)) return new Uint8Array(nodeBuffer.from(padded, 'base64'));
  }
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

