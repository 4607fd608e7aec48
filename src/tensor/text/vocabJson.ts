// A JSON reader for vocabulary files. JSON.parse builds {token: id} tables of 262,144 keys as hash-table
// objects (about a second on a slow core, plus Object.keys); this reader instead streams the members of
// the tables it is told about into two arrays, skips the values it is told to skip (BPE merges) without
// building them, and builds everything else as null-prototype objects, so a "__proto__" key is an ordinary
// own property. JSON per RFC 8259 (raw control characters inside strings are let through), nesting
// bounded, errors with line and column.

export interface ScanOptions {
  /** Object paths ('' for the root, 'model.vocab') whose number-valued members go to onMember, in file order. */
  readonly stream: readonly string[];
  readonly onMember: (path: string, key: string, value: number) => void;
  /** Paths ('model.merges') whose values are checked but not built (they come back as null). */
  readonly skip: readonly string[];
  readonly maxDepth: number;
}


export class JsonScanError extends Error {}

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Scanner {
  private pos = 0;
  private nextBackslash = -1;

  constructor(
    private readonly s: string,
    private readonly opts: ScanOptions,
  ) {}

  run(): unknown {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.ws();
    const v = this.value(0, '', false);
    this.ws();
    if (this.pos < this.s.length) this.fail('unexpected text after the JSON value');
    return v;
  }

  fail(what: string, at = this.pos): never {
    let line = 1;
    let col = 1;
    for (let i = 0; i < at && i < this.s.length; i++) {
      if (this.s.charCodeAt(i) === 0x0a) {
        line++;
        col = 1;
      } else col++;
    }
    throw new JsonScanError(`${what} at line ${line} column ${col}`);
  }

  private ws(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  /** `path` is the dotted path while it may still matter (the first levels), else null. */
  private value(depth: number, path: string | null, skip: boolean): unknown {
    const c = this.s.charCodeAt(this.pos);
    if (c === 0x22) return this.string();
    if (c === 0x7b || c === 0x5b) {
      if (depth >= this.opts.maxDepth) this.fail(`nesting deeper than ${this.opts.maxDepth} levels`);
      if (path !== null && this.opts.skip.includes(path)) skip = true;
      return c === 0x7b ? this.object(depth + 1, path, skip) : this.array(depth + 1, skip);
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.s.startsWith('true', this.pos)) return (this.pos += 4), true;
    if (this.s.startsWith('false', this.pos)) return (this.pos += 5), false;
    if (this.s.startsWith('null', this.pos)) return (this.pos += 4), null;
    if (this.pos >= this.s.length) this.fail('unexpected end of text');
    this.fail(`unexpected character ${JSON.stringify(this.s[this.pos])}`);
  }

  private object(depth: number, path: string | null, skip: boolean): unknown {
    this.pos++; // {
    const out: Record<string, unknown> | null = skip ? null : (Object.create(null) as Record<string, unknown>);
    const stream = !skip && path !== null && this.opts.stream.includes(path) ? path : null;
    this.ws();
    if (this.s.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.s.charCodeAt(this.pos) !== 0x22) this.fail('expected a "key"');
      const key = this.string();
      this.ws();
      if (this.s.charCodeAt(this.pos) !== 0x3a) this.fail("expected ':'");
      this.pos++;
      this.ws();
      const childPath = path !== null && depth <= 2 ? (path === '' ? key : `${path}.${key}`) : null;
      const c = this.s.charCodeAt(this.pos);
      if (stream !== null && (c === 0x2d || (c >= 0x30 && c <= 0x39))) {
        this.opts.onMember(stream, key, this.number());
      } else {
        const v = this.value(depth, childPath, skip);
        if (out) out[key] = v;
      }
      this.ws();
      const d = this.s.charCodeAt(this.pos);
      if (d === 0x2c) {
        this.pos++;
        this.ws();
      } else if (d === 0x7d) {
        this.pos++;
        return out;
      } else this.fail("expected ',' or '}'");
    }
  }

  private array(depth: number, skip: boolean): unknown {
    this.pos++; // [
    const out: unknown[] | null = skip ? null : [];
    this.ws();
    if (this.s.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      const v = this.value(depth, null, skip);
      if (out) out.push(v);
      this.ws();
      const d = this.s.charCodeAt(this.pos);
      if (d === 0x2c) {
        this.pos++;
        this.ws();
      } else if (d === 0x5d) {
        this.pos++;
        return out;
      } else this.fail("expected ',' or ']'");
    }
  }

  private number(): number {
    const s = this.s;
    const start = this.pos;
    let p = start;
    const neg = s.charCodeAt(p) === 0x2d;
    if (neg) p++;
    const d0 = s.charCodeAt(p);
    let int = 0;
    if (d0 === 0x30) p++;
    else if (d0 >= 0x31 && d0 <= 0x39) {
      for (let c = d0; c >= 0x30 && c <= 0x39; c = s.charCodeAt(++p)) int = int * 10 + (c - 0x30);
    } else this.fail('invalid number', start);
    let plain = p - start <= 15; // digits alone, exact in a double
    if (s.charCodeAt(p) === 0x2e) {
      plain = false;
      p++;
      if (!isDigit(s.charCodeAt(p))) this.fail('invalid number', start);
      while (isDigit(s.charCodeAt(p))) p++;
    }
    const e = s.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      plain = false;
      p++;
      const sign = s.charCodeAt(p);
      if (sign === 0x2b || sign === 0x2d) p++;
      if (!isDigit(s.charCodeAt(p))) this.fail('invalid number', start);
      while (isDigit(s.charCodeAt(p))) p++;
    }
    this.pos = p;
    if (plain) return neg ? -int : int;
    return Number(s.slice(start, p));
  }

  /** Position of the next backslash at or after `from` (cached: indexOf per string would be quadratic). */
  private backslashFrom(from: number): number {
    if (this.nextBackslash < from) {
      const i = this.s.indexOf('\\', from);
      this.nextBackslash = i < 0 ? Infinity : i;
    }
    return this.nextBackslash;
  }

  private string(): string {
    const s = this.s;
    const start = ++this.pos;
    const q = s.indexOf('"', start);
    if (q < 0) this.fail('unterminated string', start - 1);
    if (this.backslashFrom(start) > q) {
      // Fast path: no escapes. (Raw control characters inside strings are accepted.)
      this.pos = q + 1;
      return s.slice(start, q);
    }
    let out = '';
    let p = start;
    for (;;) {
      const bs = this.backslashFrom(p);
      const end = s.indexOf('"', p);
      if (end < 0) this.fail('unterminated string', start - 1);
      if (bs > end) {
        this.pos = end + 1;
        return out + s.slice(p, end);
      }
      out += s.slice(p, bs);
      const e = s[bs + 1];
      if (e === 'u') {
        const hex = s.slice(bs + 2, bs + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) this.fail('invalid \\u escape', bs);
        out += String.fromCharCode(parseInt(hex, 16));
        p = bs + 6;
      } else if (e !== undefined && Object.prototype.hasOwnProperty.call(ESCAPES, e)) {
        out += ESCAPES[e];
        p = bs + 2;
      } else this.fail('invalid escape', bs);
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Parses JSON text, streaming and skipping as told; the objects at streamed paths keep only their members
 * that are not numbers. Throws JsonScanError (one line, with a position); errors thrown by onMember pass.
 */
export function scanJson(text: string, opts: ScanOptions): unknown {
  return new Scanner(text, opts).run();
}
