// What the .vsix may hold and must hold, shared by the unit packaging test (vsce's own output, no warnings)
// and the end-to-end one (npm run package's production build, installed into real VS Code).
import * as fs from 'node:fs';
import { unzipSync } from 'fflate';

/** Only what runs: anything else found in the .vsix fails both tests. */
export const ALLOWED: readonly RegExp[] = [
  /^extension\.vsixmanifest$/,
  /^\[Content_Types\]\.xml$/,
  /^extension\/package\.json$/,
  /^extension\/(readme|changelog)\.md$/i,
  /^extension\/LICENSE(\.txt)?$/i,
  /^extension\/dist\/(extension|worker|cli|panel|renderer|dataset|runs)\.js$/,
  /^extension\/dist\/[\w.-]+\.wasm$/,
  /^extension\/dist\/view\.css$/,
  /^extension\/media\/[\w./-]+\.(css|svg|png)$/,
  /^extension\/python\/(cross_entropy_lens\.py|pyproject\.toml)$/,
];

/** Files without which the extension, its marketplace page or Install Notebook Helper… would not work. */
export const REQUIRED: readonly string[] = [
  'extension/package.json',
  'extension/dist/extension.js',
  'extension/dist/worker.js',
  'extension/dist/cli.js',
  'extension/dist/panel.js',
  'extension/dist/renderer.js',
  'extension/dist/dataset.js',
  'extension/dist/runs.js',
  'extension/media/icon.png',
  'extension/python/cross_entropy_lens.py',
  'extension/python/pyproject.toml',
];

/** The file names inside a .vsix (a zip), folders left out. */
export function vsixNames(file: string): string[] {
  return Object.keys(unzipSync(new Uint8Array(fs.readFileSync(file)))).filter((n) => !n.endsWith('/'));
}
