// Compiles the WebAssembly SIMD kernels (AssemblyScript): src/wasm/focal.ts into <outDir>/focal.wasm
// (shared memory), and src/wasm/ce.ts into two modules:
//   <outDir>/ce.wasm           imports a shared env.memory (worker threads share one memory)
//   <outDir>/ce.unshared.wasm  the same code importing an ordinary memory (pages without cross-origin
//                              isolation, such as webviews, cannot create shared memory)
// Usage: node scripts/build-wasm.mjs [outDir]   (default dist), or import { buildWasm } and await it;
//        node scripts/build-wasm.mjs --anchor FILE   the bench's arithmetic anchor (src/wasm/anchor.ts).
import asc from 'assemblyscript/asc';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const COMMON = [
  '-O3',
  '--noAssert',
  '--runtime', 'stub',
  '--importMemory',
  '--noExportMemory',
  '--initialMemory', '1',
  '--enable', 'simd',
  // The kernel never traps on its own; an abort import would only be one more thing to supply.
  '--use', 'abort=',
];

/** Builds both modules into outDir (relative paths resolve against the repository root). */
export async function buildWasm(outDir = 'dist') {
  const out = path.resolve(root, outDir);
  mkdirSync(out, { recursive: true });
  const shared = ['--sharedMemory', '--maximumMemory', '65536', '--enable', 'threads'];
  const variants = [
    // A shared import must declare a maximum; 4 GiB accepts any memory the engine creates.
    { src: 'src/wasm/ce.ts', file: 'ce.wasm', extra: shared },
    { src: 'src/wasm/ce.ts', file: 'ce.unshared.wasm', extra: [] },
    // torchvision's sigmoid focal loss: a module of its own over the same shared memory (workers only).
    { src: 'src/wasm/focal.ts', file: 'focal.wasm', extra: shared },
  ];
  for (const v of variants) {
    let log = '';
    const { error } = await asc.main([path.join(root, v.src), ...COMMON, ...v.extra, '-o', path.join(out, v.file)], {
      stdout: { write: (s) => { log += s; return true; } },
      stderr: { write: (s) => { log += s; return true; } },
    });
    if (error) throw new Error(`asc failed for ${v.file}: ${error.message}\n${log}`);
  }
}

/**
 * The bench's arithmetic anchor (src/wasm/anchor.ts) into outFile, over an ordinary imported memory. Not
 * part of buildWasm: the extension never loads it, so it stays out of dist/ and the .vsix.
 */
export async function buildAnchor(outFile) {
  let log = '';
  const { error } = await asc.main([path.join(root, 'src/wasm/anchor.ts'), ...COMMON, '-o', outFile], {
    stdout: { write: (s) => { log += s; return true; } },
    stderr: { write: (s) => { log += s; return true; } },
  });
  if (error) throw new Error(`asc failed for ${outFile}: ${error.message}\n${log}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--anchor') await buildAnchor(path.resolve(process.argv[3]));
  else await buildWasm(process.argv[2] ?? 'dist');
}
