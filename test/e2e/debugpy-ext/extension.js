// Test-only extension (never packaged): the `debugpy` debug type, backed by Debian's python3-debugpy adapter
// speaking DAP on stdio, so the e2e suites can run real Python debug sessions in code-server, where the
// Python extensions cannot be installed. See test/e2e/debug/debugHarness.ts.
//
// It also writes what the adapter says that a test waits on (stopped, continued, process, exited,
// terminated events, and failed responses) as JSON lines to dap.jsonl in its log folder: the suites count
// stops there, so a pause is never mistaken for the previous one however fast the program runs between.
/* global require, exports */
'use strict';
// A CommonJS extension: VS Code 1.99 loads no ES modules.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const vscode = require('vscode');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fs = require('node:fs');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const path = require('node:path');

const PYTHON = '/usr/bin/python3';
const LOGGED_EVENTS = new Set(['stopped', 'continued', 'process', 'exited', 'terminated']);

/** What the adapter needs and the launch config may leave out; F5 with no launch.json debugs the open file. */
const configurations = {
  resolveDebugConfiguration(_folder, config) {
    if (!config.type && !config.request && !config.name) {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.document.languageId !== 'python') return config;
      config = { type: 'debugpy', request: 'launch', name: 'Debug current file', program: editor.document.uri.fsPath, justMyCode: false };
    }
    if (config.request === 'launch') {
      if (!config.python) config.python = [PYTHON];
      if (!config.console) config.console = 'internalConsole';
    }
    return config;
  },
};

function activate(context) {
  const logDir = context.logUri.fsPath;
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, 'dap.jsonl');
  const write = (entry) => fs.appendFileSync(logFile, JSON.stringify({ t: Date.now(), ...entry }) + '\n');
  write({ kind: 'activated' });
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider('debugpy', configurations),
    vscode.debug.registerDebugAdapterDescriptorFactory('debugpy', {
      createDebugAdapterDescriptor: () => new vscode.DebugAdapterExecutable(PYTHON, ['-m', 'debugpy.adapter']),
    }),
    vscode.debug.registerDebugAdapterTrackerFactory('debugpy', {
      createDebugAdapterTracker: (session) => ({
        onWillStartSession: () => write({ kind: 'session', session: session.id, name: session.name }),
        onDidSendMessage: (m) => {
          if (m.type === 'event' && LOGGED_EVENTS.has(m.event)) write({ kind: 'event', session: session.id, event: m.event, body: m.body });
          else if (m.type === 'response' && !m.success) write({ kind: 'failed', session: session.id, command: m.command, message: m.message, body: m.body });
        },
        onError: (e) => write({ kind: 'error', session: session.id, message: String(e && e.message ? e.message : e) }),
        onExit: (code, signal) => write({ kind: 'adapter-exit', session: session.id, code, signal }),
      }),
    }),
  );
}

function deactivate() {}

exports.activate = activate;
exports.deactivate = deactivate;
