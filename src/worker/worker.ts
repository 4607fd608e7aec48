// worker_threads entry (dist/worker.js): runs kernel jobs on shared memory and answers with small
// partial statistics; the maps are written in place.
import { parentPort } from 'node:worker_threads';
import { isLensError } from '../errors';
import { computeSlice } from '../kernel/partial';
import { emptyPartial, type StatsPartial } from '../kernel/stats';
import { resolveOptions } from '../kernel/options';
import { buildProblem } from '../kernel/validate';
import { sampleProbabilities } from '../kernel/sample/softmax';
import { sampleConfidence } from '../kernel/sample/confidence';
import { softmaxOfLogits, softmaxRange } from '../kernel/sample/softmaxRange';
import { moveAxis } from '../kernel/layout';
import { explainSampleElement } from '../kernel/sample/sampleView';
import { explainedForView } from '../kernel/sample/explainRows';
import type { GeneralJob, IndexArray, WorkerRequest, WorkerResponse } from '../protocol';
import { share, viewOf } from './engine/shared';
import { readTensorFile } from './files/readTensorFile';
import { runFastChunk, runFastRelayout, initWasm } from './fast/fastChunk';
import { runSigmoidFocalChunk } from './fast/sigmoidFocalChunk';
import { scanDocument } from '../hover/scan';
import { workerScanLimits } from '../hover/limits';
import { findLiteralsShared, hoverLookup, hoverReportShared } from './jobs/hoverJobs';
import { hoverReport, parseLiteral } from '../hover/report';
import { summarizeTensorFile } from './jobs/tensorSummary';
import { listTensorFile } from './jobs/tensorListing';
import { runTokenDetails } from './jobs/tokenDetails';
import { readVocabularyFile } from './jobs/vocabularyJob';
import { evalImage } from './jobs/evalImage';
import { runLabelIssues, runLabelIssuesImage } from './jobs/labelIssuesJob';
import { runLossFigures } from './jobs/lossFiguresJob';
import { installNativeCrc32 } from './files/nativeCrc';
import { locateTensor } from './files/locateTensor';

function reply(msg: WorkerResponse, transfer: readonly ArrayBuffer[] = []): void {
  parentPort!.postMessage(msg, transfer as ArrayBuffer[]);
}

function replyError(id: number, e: unknown): void {
  reply({ kind: 'error', id, message: e instanceof Error ? e.message : String(e), lensKind: isLensError(e) ? e.kind : null });
}

/** The working memory this worker was last given (init-wasm), for prefault jobs. */
let working: { readonly memory: WebAssembly.Memory; readonly generation: number } | null = null;

/** Bytes between the bytes a prefault job writes: the OS allocates memory in 4 KiB pages. */
const OS_PAGE_BYTES = 4096;

/**
 * Writes one byte per OS page of [start, end) of the working memory, so that the OS allocates the pages now
 * rather than in the first computation (a read alone may map them to the shared zero page). An atomic OR with
 * zero writes each byte's own value back: a computation writing there at the same time loses nothing.
 */
function prefault(job: Extract<WorkerRequest, { kind: 'prefault' }>): void {
  if (!working || working.generation !== job.generation) throw new Error('working memory not initialised for this request');
  const bytes = new Uint8Array(working.memory.buffer);
  const end = Math.min(job.end, bytes.length);
  for (let i = job.start; i < end; i += OS_PAGE_BYTES) Atomics.or(bytes, i, 0);
}

function runGeneral(job: GeneralJob): StatsPartial {
  const input = viewOf(job.input);
  const target = viewOf(job.target);
  const weight = job.weight ? viewOf(job.weight) : null;
  const posWeight = job.posWeight ? viewOf(job.posWeight) : null;
  const r = computeSlice({ input, target, weight, posWeight, options: job.options }, job.n0, job.n1, job.topK);
  const off = r.flatOffset;
  (viewOf(job.outLoss).data as Float64Array).set(r.maps.lossMap, off);
  // Int32Array, or Uint8Array for the 0/1 maps of an elementwise loss (generalOutputs).
  (viewOf(job.outPred).data as IndexArray).set(r.maps.predicted, off);
  (viewOf(job.outTargetClass).data as IndexArray).set(r.maps.targetClass, off);
  // An elementwise loss ignores nothing: its mask is all zeros, which the fresh shared buffer already holds
  // (writing them would only fault its pages in).
  const elementwise = job.options.loss === 'bce' || job.options.loss === 'sigmoid-focal';
  if (!elementwise) (viewOf(job.outIgnored).data as Uint8Array).set(r.maps.ignoredMask, off);
  return r.stats;
}

installNativeCrc32();

parentPort!.on('message', (msg: WorkerRequest) => {
  const id = 'id' in msg ? msg.id : -1;
  try {
    switch (msg.kind) {
      case 'init-wasm':
        initWasm(msg.module, msg.memory, msg.generation);
        working = { memory: msg.memory, generation: msg.generation };
        return;
      case 'prefault':
        prefault(msg);
        reply({ kind: 'prefault-done', id });
        return;
      case 'general':
        reply({ kind: 'done', id, stats: runGeneral(msg) });
        return;
      case 'sigmoid-focal-chunk':
        if (!working || working.generation !== msg.generation) throw new Error('wasm memory not initialised for this request');
        reply({ kind: 'done', id, stats: runSigmoidFocalChunk(msg, working.memory) });
        return;
      case 'validate': {
        const j = msg.job;
        buildProblem(
          { input: viewOf(j.input), target: viewOf(j.target), weight: j.weight ? viewOf(j.weight) : null, posWeight: j.posWeight ? viewOf(j.posWeight) : null },
          resolveOptions(j.options),
        );
        reply({ kind: 'done', id, stats: emptyPartial(0, false) });
        return;
      }
      case 'probs': {
        const out = viewOf(msg.out).data as Float32Array;
        if (softmaxOfLogits(msg.inputKind, msg.loss)) {
          const into = msg.confidence ? viewOf(msg.confidence).data as Float32Array : null;
          const conf = into ? { top1: into.subarray(0, msg.S), margin: into.subarray(msg.S, 2 * msg.S), entropy: into.subarray(2 * msg.S, 3 * msg.S) } : null;
          softmaxRange(viewOf(msg.x).data, msg.C, msg.S, msg.s0 ?? 0, msg.s1 ?? msg.S, out, conf);
          reply({ kind: 'probs-done', id });
          return;
        }
        out.set(sampleProbabilities(viewOf(msg.x).data, msg.C, msg.S, msg.inputKind, msg.loss));
        if (msg.confidence) {
          const c = sampleConfidence(viewOf(msg.x).data, msg.C, msg.S, msg.inputKind);
          const into = viewOf(msg.confidence).data as Float32Array;
          into.set(c.top1, 0);
          into.set(c.margin, msg.S);
          into.set(c.entropy, 2 * msg.S);
        }
        reply({ kind: 'probs-done', id });
        return;
      }
      case 'move-axis': {
        const out = viewOf(msg.out).data as Float32Array | Float64Array;
        out.set(moveAxis(viewOf(msg.x), msg.from, 0).data as Float32Array | Float64Array);
        reply({ kind: 'move-axis-done', id });
        return;
      }
      case 'eval-image':
        reply({ kind: 'eval-image-done', id, result: evalImage(msg) });
        return;
      case 'fast-chunk':
        reply(runFastChunk(msg));
        return;
      case 'fast-relayout':
        reply(runFastRelayout(msg));
        return;
      case 'hover-index':
        reply({ kind: 'hover-index-done', id, index: scanDocument(msg.text, msg.syntax, workerScanLimits()) });
        return;
      case 'hover-lookup':
        reply({ kind: 'hover-lookup-done', id, ...hoverLookup(msg) });
        return;
      case 'hover-report-shared':
        reply({ kind: 'hover-report-done', id, report: hoverReportShared(msg) });
        return;
      case 'find-literals':
        reply({ kind: 'find-literals-done', id, literals: findLiteralsShared(msg) });
        return;
      case 'hover-report':
        reply({ kind: 'hover-report-done', id, report: hoverReport(msg.request) });
        return;
      case 'parse-literal': {
        const tensor = parseLiteral(msg.literal);
        reply({ kind: 'parse-literal-done', id, tensor });
        return;
      }
      case 'vocabulary':
        void readVocabularyFile(msg.path).then((vocabulary) => reply({ kind: 'vocabulary-done', id, vocabulary }), (e: unknown) => replyError(id, e));
        return;
      case 'load-tensor':
        reply({ kind: 'load-tensor-done', id, tensors: msg.items.map((it) => share(readTensorFile(it.path, it.role, it.pin, true))) });
        return;
      case 'locate-tensor':
        reply({ kind: 'locate-tensor-done', id, range: locateTensor(msg.path, msg.role, msg.pin) });
        return;
      case 'explain-element': {
        const { explanation, top } = explainSampleElement(msg.options, msg.targetKind, { samples: 1, strip: false, shape: [msg.S], S: msg.S, C: msg.C }, msg.s, {
          x: viewOf(msg.x).data as Float32Array | Float64Array,
          targetProbs: msg.targetProbs ? (viewOf(msg.targetProbs).data as Float32Array | Float64Array) : null,
          targetClass: msg.targetClass,
          weight: msg.weight ? viewOf(msg.weight) : null,
        });
        reply({ kind: 'explain-element-done', id, explanation: explainedForView(explanation), top });
        return;
      }
      case 'token-details':
        void runTokenDetails(msg).then((details) => reply({ kind: 'token-details-done', id, details }), (e: unknown) => replyError(id, e));
        return;
      case 'tensor-file-summary':
        reply({ kind: 'tensor-file-summary-done', id, summary: summarizeTensorFile(msg.path, msg.sampling) });
        return;
      case 'list-tensor-file':
        reply({ kind: 'list-tensor-file-done', id, listing: listTensorFile(msg.path, msg.format) });
        return;
      case 'label-issues':
        reply({ kind: 'label-issues-done', id, issues: runLabelIssues(msg.request) });
        return;
      case 'label-issues-image': {
        const r = runLabelIssuesImage(msg);
        // A folder's low pixels add up: handed over, not copied (the arrays are the job's own).
        const p2 = r.pass2;
        reply({ kind: 'label-issues-image-done', id, ...r }, p2 ? [p2.low, p2.lowReportable, p2.lowGiven, p2.lowPredicted, p2.lowIndex].map((a) => a.buffer as ArrayBuffer) : []);
        return;
      }
      case 'loss-figures':
        reply({ kind: 'loss-figures-done', id, figures: runLossFigures(msg) });
        return;
      case 'crash':
        if (msg.how === 'exit') process.exit(3);
        if (msg.how === 'oom') {
          // JS heap objects (not typed arrays, which live off-heap) so the worker's heap limit trips.
          const hog: number[][] = [];
          for (;;) hog.push(new Array<number>(1 << 20).fill(1.5));
        }
        throw new Error('deliberate failure (test hook)');
      default: {
        // A request this build does not know (a stale dist/worker.js, say): answered, or its caller would
        // wait forever. The `never` keeps TypeScript reporting kinds added to WorkerRequest but not here.
        const unknown: never = msg;
        throw new Error(`unknown worker job kind '${String((unknown as { kind?: unknown }).kind)}'`);
      }
    }
  } catch (e) {
    reply({
      kind: 'error',
      id,
      message: e instanceof Error ? e.message : String(e),
      lensKind: isLensError(e) ? e.kind : null,
    });
  }
});
