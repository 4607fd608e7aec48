// A minimal Debug Adapter Protocol client over a real debugpy adapter (`python3 -m debugpy.adapter` on
// stdio), for tests of what the lens sends a paused debuggee without VS Code in between.
import { spawn, type ChildProcess } from 'node:child_process';

interface DapMessage {
  readonly seq: number;
  readonly type: 'request' | 'response' | 'event';
  readonly command?: string;
  readonly event?: string;
  readonly request_seq?: number;
  readonly success?: boolean;
  readonly message?: string;
  readonly body?: Record<string, unknown>;
}

export interface StoppedEvent {
  readonly reason: string;
  readonly threadId: number;
  readonly text?: string;
  readonly description?: string;
}

export interface Frame {
  readonly id: number;
  readonly name: string;
  readonly line: number;
  readonly source?: { readonly path?: string };
}

export class DapClient {
  private buf = Buffer.alloc(0);
  private seq = 1;
  private readonly pending = new Map<number, (m: DapMessage) => void>();
  private readonly queued: DapMessage[] = [];
  private readonly waiting: Array<{ event: string; resolve: (m: DapMessage) => void }> = [];
  readonly output: string[] = [];

  private constructor(private readonly proc: ChildProcess) {
    proc.stdout!.on('data', (d: Buffer) => this.onData(d));
  }

  /** Starts the adapter and launches `program` (justMyCode off unless asked, exceptions stop when uncaught). */
  static async launch(program: string, cwd: string, args: readonly string[] = [], justMyCode = false): Promise<DapClient> {
    const c = new DapClient(spawn('/usr/bin/python3', ['-m', 'debugpy.adapter'], { stdio: ['pipe', 'pipe', 'pipe'] }));
    await c.request('initialize', { adapterID: 'debugpy', clientID: 'cel-test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
    const launched = c.request('launch', { program, cwd, args, justMyCode, console: 'internalConsole', python: ['/usr/bin/python3'] });
    await c.nextEvent('initialized');
    await c.request('setExceptionBreakpoints', { filters: ['uncaught'] });
    await c.request('configurationDone', {});
    await launched;
    return c;
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /Content-Length: (\d+)/i.exec(this.buf.subarray(0, end).toString('ascii'));
      if (!m) throw new Error('DAP: a header without Content-Length');
      const n = Number(m[1]);
      if (this.buf.length < end + 4 + n) return;
      const msg = JSON.parse(this.buf.subarray(end + 4, end + 4 + n).toString('utf8')) as DapMessage;
      this.buf = this.buf.subarray(end + 4 + n);
      this.dispatch(msg);
    }
  }

  private dispatch(msg: DapMessage): void {
    if (msg.type === 'response') {
      this.pending.get(msg.request_seq!)?.(msg);
      this.pending.delete(msg.request_seq!);
    } else if (msg.type === 'event') {
      if (msg.event === 'output') this.output.push(String(msg.body?.output ?? ''));
      const i = this.waiting.findIndex((w) => w.event === msg.event);
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(msg);
      else this.queued.push(msg);
    } else if (msg.type === 'request') {
      // Reverse requests (runInTerminal does not happen with internalConsole): acknowledge.
      this.write({ seq: this.seq++, type: 'response', request_seq: msg.seq, command: msg.command, success: true });
    }
  }

  private write(o: object): void {
    const s = JSON.stringify(o);
    this.proc.stdin!.write(`Content-Length: ${Buffer.byteLength(s)}\r\n\r\n${s}`);
  }

  request<T = Record<string, unknown>>(command: string, args: object): Promise<T> {
    const seq = this.seq++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, (m) => (m.success ? resolve((m.body ?? {}) as T) : reject(new Error(`${command}: ${m.message ?? 'failed'}`))));
      this.write({ seq, type: 'request', command, arguments: args });
    });
  }

  /** The next event of that name (one that came already and was not taken, else the next to come). */
  nextEvent(event: string, timeoutMs = 60_000): Promise<DapMessage> {
    const i = this.queued.findIndex((m) => m.event === event);
    if (i >= 0) return Promise.resolve(this.queued.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms; output: ${this.output.join('')}`)), timeoutMs);
      this.waiting.push({ event, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  async stopped(): Promise<StoppedEvent> {
    return (await this.nextEvent('stopped')).body as unknown as StoppedEvent;
  }

  async frames(threadId: number): Promise<Frame[]> {
    return (await this.request<{ stackFrames: Frame[] }>('stackTrace', { threadId })).stackFrames;
  }

  async evaluate(expression: string, frameId: number, context = 'clipboard'): Promise<string> {
    return (await this.request<{ result: string }>('evaluate', { expression, frameId, context })).result;
  }

  async continue(threadId: number): Promise<void> {
    await this.request('continue', { threadId });
  }

  async close(): Promise<void> {
    await Promise.race([this.request('disconnect', { terminateDebuggee: true }).catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
    this.proc.kill();
  }
}
