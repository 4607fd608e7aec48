// Sample maps on their way to a view. Under code-server or a remote window, a message from the extension
// host reaches a webview at a few MB/s (measured here: 3.3 MB of maps took 0.5-0.9 s, about as long as the
// computation), so the first paint waits on bytes. Class indices rarely need 32 bits: they travel in the
// narrowest integer array that holds every value, and the view widens them again (model.ts normalizeMaps).
// Pure code: the panel host, the notebook renderer's host and tests share it.
import type { ConfidenceMaps, HostToView, HostToViewWire, IndexArray, SampleMaps, SampleRest } from './protocol';
import { packSummary } from './summaryWire';

/** `a` in the narrowest integer array holding its values (itself when nothing narrower does). */
export function narrowIndices(a: IndexArray): IndexArray {
  if (!(a instanceof Int32Array)) return ownBuffer(a);
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
  }
  if (lo >= 0 && hi <= 0xff) return Uint8Array.from(a);
  if (lo >= -0x80 && hi <= 0x7f) return Int8Array.from(a);
  if (lo >= 0 && hi <= 0xffff) return Uint16Array.from(a);
  if (lo >= -0x8000 && hi <= 0x7fff) return Int16Array.from(a);
  return ownBuffer(a);
}

/**
 * `a` over a buffer of its own: VS Code posts a typed array's whole underlying buffer (with an offset), so a
 * view into a batch's maps would carry the batch.
 */
export function ownBuffer<T extends Float32Array | IndexArray>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}

/** The maps with their target and predicted classes narrowed (the same values, fewer bytes), each array on its own buffer. */
export function compactSampleMaps(m: SampleMaps): SampleMaps {
  return {
    ...compactRest(m),
    ...(m.delta ? { delta: ownBuffer(m.delta) } : {}),
    loss: ownBuffer(m.loss),
    target: narrowIndices(m.target),
    predicted: narrowIndices(m.predicted),
    ignored: ownBuffer(m.ignored),
  };
}

/** A sample's rest (p(target) and confidence maps), each array on its own buffer. */
function compactRest<T extends SampleRest>(m: T): T {
  const c = m.confidence;
  return { ...m, pTarget: m.pTarget && ownBuffer(m.pTarget), ...(c ? { confidence: ownConfidence(c) } : {}) };
}

function ownConfidence(c: ConfidenceMaps): ConfidenceMaps {
  return { top1: ownBuffer(c.top1), margin: ownBuffer(c.margin), entropy: ownBuffer(c.entropy) };
}

/** A message as it goes to a view: a sample's maps compacted, a summary packed (src/summaryWire.ts), anything else as it is. */
export function forView(msg: HostToView): HostToViewWire {
  if (msg.type === 'sample') return { ...msg, maps: compactSampleMaps(msg.maps) };
  if (msg.type === 'sampleRest') return { ...msg, rest: compactRest(msg.rest) };
  if (msg.type === 'confidence') return msg.confidence ? { ...msg, confidence: ownConfidence(msg.confidence) } : msg;
  if (msg.type === 'summary') return { ...msg, summary: packSummary(msg.summary) };
  return msg;
}
