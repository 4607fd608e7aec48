// The paused frame the lens reads from: a Python debug session (debug types debugpy and python), a thread
// and a frame, and the requests of snippet.ts sent to it as DAP evaluate requests through VS Code.
import * as vscode from 'vscode';
import { LensError } from '../errors';
import { askDebuggee, type DebuggeeReplies, type DebuggeeRequest } from './snippet';

export const PYTHON_DEBUG_TYPES: readonly string[] = ['debugpy', 'python'];

export function isPythonSession(s: vscode.DebugSession | undefined): boolean {
  return s !== undefined && PYTHON_DEBUG_TYPES.includes(s.type);
}

interface DapFrame {
  readonly id: number;
  readonly name: string;
  readonly line: number;
  readonly source?: { readonly path?: string; readonly name?: string };
}

export class FrameClient {
  private constructor(
    readonly session: vscode.DebugSession,
    readonly threadId: number,
    readonly frameId: number,
    /** The frame's function and place: "step (train.py:42)". */
    readonly where: string,
    /** Function name and source path: a later stop "in the same function" has both equal. */
    readonly functionKey: string,
  ) {}

  /**
   * The frame focused in the Call Stack view (its thread's top frame when a thread is focused), or a
   * one-line reason: no Python session, or one that is running.
   */
  static async focused(): Promise<FrameClient> {
    const item = vscode.debug.activeStackItem;
    const session = item?.session ?? vscode.debug.activeDebugSession;
    if (!session) throw new LensError('option', 'no Python debug session: start one (debug type debugpy) and pause it at a breakpoint');
    if (!isPythonSession(session)) {
      throw new LensError('option', `the debug session "${session.name}" is not a Python session (debug type ${session.type}); the lens reads values from debugpy sessions`);
    }
    if (!item || item.session !== session) throw new LensError('option', `the debug session "${session.name}" is running: pause it first (a breakpoint, or Pause)`);
    const frames = await FrameClient.stack(session, item.threadId);
    const frame = item instanceof vscode.DebugStackFrame ? frames.find((f) => f.id === item.frameId) : frames[0];
    if (!frame) throw new LensError('option', `the debug session "${session.name}" is running: pause it first (a breakpoint, or Pause)`);
    return FrameClient.at(session, item.threadId, frame);
  }

  static at(session: vscode.DebugSession, threadId: number, frame: DapFrame): FrameClient {
    const file = frame.source?.path ?? frame.source?.name ?? '?';
    const base = file.split(/[/\\]/).pop() ?? file;
    return new FrameClient(session, threadId, frame.id, `${frame.name} (${base}:${frame.line})`, `${frame.name}\u0000${file}`);
  }

  /** The thread's stack, top first (a paused thread; a running one has none and throws). */
  static async stack(session: vscode.DebugSession, threadId: number, levels = 64): Promise<DapFrame[]> {
    try {
      const r = (await session.customRequest('stackTrace', { threadId, startFrame: 0, levels })) as { stackFrames?: DapFrame[] };
      return r.stackFrames ?? [];
    } catch (e) {
      throw new LensError('option', `the debug session "${session.name}" gave no stack (${e instanceof Error ? e.message : String(e)}): pause it first`);
    }
  }

  /** Runs one request in the frame; every failure is one line (askDebuggee). */
  ask<K extends DebuggeeRequest['op']>(request: DebuggeeRequest & { op: K }): Promise<DebuggeeReplies[K]> {
    // 'clipboard': debugpy returns the whole repr there (65,536 characters at most in the other contexts).
    return askDebuggee<K>(async (expression) => {
      const r = (await this.session.customRequest('evaluate', { expression, frameId: this.frameId, context: 'clipboard' })) as { result?: string };
      return r.result ?? '';
    }, request);
  }
}
