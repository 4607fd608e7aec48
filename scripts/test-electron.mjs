// The host-side suite under @vscode/test-electron, for contributors whose machines can download VS Code
// (this one cannot; npm test runs the same suite inside code-server instead).
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
try {
  await runTests({
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: path.join(ROOT, 'out/e2e-host/runner.js'),
    launchArgs: [path.join(ROOT, 'examples'), '--disable-extensions', '--disable-workspace-trust'],
    extensionTestsEnv: { CEL_ROOT: ROOT },
  });
} catch (e) {
  console.error(`test:electron failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
