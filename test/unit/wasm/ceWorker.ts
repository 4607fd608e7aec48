// Worker thread for the concurrency test: instantiates the kernel on the shared memory it is given, says
// 'ready', then runs the calls it is sent, answering with each return value.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateCeKernel } from '../../../src/kernel/wasm/wasmKernel';

interface Init {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
}

const { module, memory } = workerData as Init;
const kernel = instantiateCeKernel(module, memory);

parentPort?.postMessage('ready');
parentPort?.on('message', (args: number[]) => {
  const [x, t, w, C, S, s0, s1, ignoreIndex, eps, outLoss, outPred, acc, confusion] = args;
  parentPort?.postMessage(kernel.ceIndexF32(x, t, w, C, S, s0, s1, ignoreIndex, eps, outLoss, outPred, acc, confusion));
});
