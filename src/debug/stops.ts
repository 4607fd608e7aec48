// Watches Python debug sessions through a debug adapter tracker: each stop (for panels that follow their
// breakpoint and for the debug hover's cache), whether a Python session is paused (the context key that
// shows the debug commands in the palette), and sessions that end (their temporary files go).
import * as vscode from 'vscode';
import { PYTHON_DEBUG_TYPES } from './frameClient';

export const PAUSED_CONTEXT_KEY = 'crossEntropyLens.pythonPaused';

export interface StopEvent {
  readonly session: vscode.DebugSession;
  readonly threadId: number;
  /** DAP's reason: breakpoint, step, exception, pause… */
  readonly reason: string;
  /** The exception's type for reason 'exception' (debugpy: "RuntimeError"). */
  readonly text?: string;
  readonly description?: string;
  /** Counts the session's stops (1 for its first). */
  readonly seq: number;
}

interface DapEvent {
  readonly type?: string;
  readonly event?: string;
  readonly body?: { readonly reason?: string; readonly threadId?: number; readonly text?: string; readonly description?: string; readonly allThreadsContinued?: boolean };
}

export class DebugStops implements vscode.Disposable {
  private readonly stopped = new vscode.EventEmitter<StopEvent>();
  private readonly ended = new vscode.EventEmitter<vscode.DebugSession>();
  readonly onStop = this.stopped.event;
  readonly onEnd = this.ended.event;
  private readonly paused = new Set<string>();
  private readonly seqs = new Map<string, number>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    const factory: vscode.DebugAdapterTrackerFactory = {
      createDebugAdapterTracker: (session) => ({
        onDidSendMessage: (m: DapEvent) => {
          if (m?.type !== 'event') return;
          if (m.event === 'stopped' && typeof m.body?.threadId === 'number') {
            const seq = (this.seqs.get(session.id) ?? 0) + 1;
            this.seqs.set(session.id, seq);
            this.setPaused(session.id, true);
            this.stopped.fire({ session, threadId: m.body.threadId, reason: m.body.reason ?? '', text: m.body.text, description: m.body.description, seq });
          } else if (m.event === 'continued' || m.event === 'terminated' || m.event === 'exited') {
            this.setPaused(session.id, false);
          }
        },
        onExit: () => this.setPaused(session.id, false),
      }),
    };
    for (const type of PYTHON_DEBUG_TYPES) this.disposables.push(vscode.debug.registerDebugAdapterTrackerFactory(type, factory));
    this.disposables.push(
      vscode.debug.onDidTerminateDebugSession((s) => {
        this.setPaused(s.id, false);
        this.seqs.delete(s.id);
        this.ended.fire(s);
      }),
      this.stopped,
      this.ended,
    );
  }

  /** The session's stop count (0 before its first stop): a cache key that changes at each stop. */
  seqOf(sessionId: string): number {
    return this.seqs.get(sessionId) ?? 0;
  }

  private setPaused(id: string, on: boolean): void {
    const was = this.paused.size > 0;
    if (on) this.paused.add(id);
    else this.paused.delete(id);
    if (was !== this.paused.size > 0) void vscode.commands.executeCommand('setContext', PAUSED_CONTEXT_KEY, this.paused.size > 0);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
