// The worker pool of a folder evaluation from the command line (`eval`, `runs`): one worker per core, no
// more than there are images, with the SIMD kernel where this Node has it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { simdSupported } from '../kernel/wasm/wasmKernel';
import { WorkerPool } from '../worker/engine/pool';

export function evalWorkers(distDir: string, images: number): { pool: WorkerPool; wasmPath: string | null } {
  const wasmFile = path.join(distDir, 'ce.wasm');
  const wasmPath = simdSupported() && fs.existsSync(wasmFile) ? wasmFile : null;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return { pool: new WorkerPool(path.join(distDir, 'worker.js'), Math.max(1, Math.min(cores, images))), wasmPath };
}
