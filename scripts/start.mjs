// npm start: real VS Code (code-server) on 127.0.0.1 with the extension and the sample workspace.
// Build and provisioning run first (package.json "start"); Ctrl-C stops everything started here.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = process.env.CEL_E2E_CACHE ?? path.join(ROOT, '.cache/e2e');
// CEL_START_STATE: another state folder (the examples e2e suite runs this script in a temporary one).
const STATE = process.env.CEL_START_STATE ?? path.join(ROOT, '.cache/start');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const extDir = path.join(STATE, 'extensions', `${pkg.publisher}.${pkg.name}-${pkg.version}`);
const userDir = path.join(STATE, 'user-data', 'User');

// The extension as a .vsix would hold it, refreshed on every start.
fs.rmSync(extDir, { recursive: true, force: true });
fs.mkdirSync(extDir, { recursive: true });
for (const entry of ['package.json', 'dist', 'media', 'python', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
  const src = path.join(ROOT, entry);
  if (fs.existsSync(src)) fs.cpSync(src, path.join(extDir, entry), { recursive: true, filter: (s) => !s.endsWith('.ts') });
}

// A small companion extension, for npm start only: it opens the extension's walkthrough (the samples, each
// with the command that shows it) once per npm start (a reload of the page in the same start leaves it closed).
// The user settings keep "workbench.startupEditor": "none", so VS Code for the Web's own setup walkthrough
// does not take its place.
const WALKTHROUGH = `${pkg.publisher}.${pkg.name}#samples`;
const startDir = path.join(STATE, 'extensions', `${pkg.publisher}.npm-start-0.0.1`);
fs.rmSync(startDir, { recursive: true, force: true });
fs.mkdirSync(startDir, { recursive: true });
fs.writeFileSync(path.join(startDir, 'package.json'), JSON.stringify({
  name: 'npm-start',
  displayName: 'Cross-Entropy Lens: npm start',
  description: 'Opens the Cross-Entropy Lens walkthrough when npm start opens examples/ (written by scripts/start.mjs).',
  publisher: pkg.publisher,
  version: '0.0.1',
  engines: { vscode: '^1.90.0' },
  main: './extension.js',
  activationEvents: ['onStartupFinished'],
  extensionDependencies: [`${pkg.publisher}.${pkg.name}`],
}, null, 2));
fs.writeFileSync(path.join(startDir, 'extension.js'), `// Written by scripts/start.mjs.
const vscode = require('vscode');
exports.activate = async (context) => {
  const start = process.env.CEL_START_ID ?? '';
  if (context.globalState.get('openedFor') === start) return;
  await context.globalState.update('openedFor', start);
  await vscode.commands.executeCommand('workbench.action.openWalkthrough', ${JSON.stringify(WALKTHROUGH)}, false);
};
`);

// VS Code's Python Debugger cannot be installed in code-server here: the debug sample's launch configuration
// (examples/.vscode/launch.json, type debugpy) runs through the stand-in the e2e suites use, which starts
// Debian's debugpy adapter (test/e2e/debugpy-ext; never packaged).
const debugpyDir = path.join(STATE, 'extensions', 'cross-entropy-lens-tests.debugpy-0.0.1');
fs.rmSync(debugpyDir, { recursive: true, force: true });
fs.cpSync(path.join(ROOT, 'test/e2e/debugpy-ext'), debugpyDir, { recursive: true });

fs.mkdirSync(userDir, { recursive: true });
const settingsFile = path.join(userDir, 'settings.json');
if (!fs.existsSync(settingsFile)) {
  fs.writeFileSync(settingsFile, JSON.stringify({
    'workbench.startupEditor': 'none',
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'git.openRepositoryInParentFolders': 'never',
  }, null, 2));
}

async function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
let port = Number(process.env.PORT ?? 8080);
while (!(await portFree(port))) port++;

const server = spawn(process.execPath, [
  path.join(CACHE, 'node_modules/code-server/out/node/entry.js'),
  '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--config', path.join(STATE, 'config.yaml'),
  '--extensions-dir', path.join(STATE, 'extensions'), '--user-data-dir', path.join(STATE, 'user-data'),
  '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
  path.join(ROOT, 'examples'),
], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, CEL_START_ID: String(Date.now()) } });

let announced = false;
const onOutput = (chunk) => {
  const text = chunk.toString();
  if (process.env.CEL_VERBOSE) process.stderr.write(text);
  if (!announced && /HTTP server listening/.test(text)) {
    announced = true;
    console.log(`\nCross-Entropy Lens is running in VS Code at http://127.0.0.1:${port}/  (Ctrl-C stops it)\n`);
  }
};
server.stdout.on('data', onOutput);
server.stderr.on('data', onOutput);

function stop() {
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  setTimeout(() => {
    try {
      process.kill(-server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    process.exit(0);
  }, 3000).unref();
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.on('exit', (code) => {
  if (!announced) console.error(`code-server exited (${code}) before it was ready; run with CEL_VERBOSE=1 to see its log`);
  process.exit(code ?? 0);
});
