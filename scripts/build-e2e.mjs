// Bundles the host-side test runner and suite into out/e2e-host/ (runner.js, tests.js), for the
// code-server runner extension and for @vscode/test-electron.
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';

const tests = readdirSync('test/e2e/host').filter((f) => f.endsWith('.test.ts')).sort().map((f) => `test/e2e/host/${f}`);
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: 'inline', logLevel: 'warning', external: ['vscode'] };
await esbuild.build({ ...common, entryPoints: ['test/e2e/host-runner/runner.ts'], outfile: 'out/e2e-host/runner.js' });
// One bundle of every host test file, in a stable order.
await esbuild.build({
  ...common,
  stdin: { contents: tests.map((t) => `require('./${t}');`).join('\n'), resolveDir: '.', sourcefile: 'host-tests.js' },
  outfile: 'out/e2e-host/tests.js',
});
