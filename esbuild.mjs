// One build script for every bundle (see DESIGN.md "Layout").
import * as esbuild from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { buildWasm } from './scripts/build-wasm.mjs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

const builds = [
  { entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] },
  { entryPoints: ['src/worker/worker.ts'], outfile: 'dist/worker.js', platform: 'node', format: 'cjs', target: 'node20' },
  { entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20', banner: { js: '#!/usr/bin/env node' }, define: { PACKAGE_VERSION: JSON.stringify(pkg.version) } },
  { entryPoints: ['media/panel.ts'], outfile: 'dist/panel.js', platform: 'browser', format: 'iife', target: 'es2022' },
  { entryPoints: ['media/dataset.ts'], outfile: 'dist/dataset.js', platform: 'browser', format: 'iife', target: 'es2022' },
  { entryPoints: ['media/runs.ts'], outfile: 'dist/runs.js', platform: 'browser', format: 'iife', target: 'es2022' },
  { entryPoints: ['media/renderer.ts'], outfile: 'dist/renderer.js', platform: 'browser', format: 'esm', target: 'es2022', loader: { '.css': 'text' } },
  // The panel's stylesheet as one file: its components' @imports would each be a request through the
  // webview's resource loader (a remote round trip under code-server or Remote-SSH) before the first paint.
  { entryPoints: ['media/view.css'], outfile: 'dist/view.css', sourcemap: false },
];

// Start clean so no stale bundle or source map from another mode ends up in a package.
rmSync('dist', { recursive: true, force: true });

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context({ ...common, ...b })));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(builds.map((b) => esbuild.build({ ...common, ...b })));
}
// The SIMD kernel (dist/ce.wasm) after the bundles: dist/ was emptied above.
await buildWasm('dist');
