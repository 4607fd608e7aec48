// A strict JSON reader over UTF-8 bytes, driven by its caller one value at a time, for headers that may
// hold a million entries (.safetensors: up to 100 MB of JSON). JSON.parse builds the whole tree first: one
// object of a million keys took 5.4 s and 570 MB here, and Object.entries 3 s more. Reading in place costs
// one pass over the bytes and allocates only what the caller keeps. Grammar as RFC 8259 (what JSON.parse
// accepts); nesting deeper than MAX_DEPTH is refused rather than held on a stack of any size.

/** A syntax error at a byte offset; callers word it for their format. */
export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

/** Deeper nesting is refused (a 100 MB run of '[' would otherwise need a 100 M-entry stack). */
export const MAX_DEPTH = 512;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;

// ignoreBOM: a name may begin with U+FEFF, which is part of the name, not a byte-order mark.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const ESCAPES: Record<number, string> = { 0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t' };

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

export class JsonBytes {
  pos: number;
  /** skipValue's container kinds (1: object, 2: array), kept between calls. */
  private readonly stack = new Uint8Array(MAX_DEPTH);

  constructor(
    readonly b: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    const at = this.pos < this.end ? `byte ${this.pos}` : 'the end';
    throw new JsonSyntaxError(`${what} at ${at}`);
  }

  /** Skips JSON whitespace (space, tab, LF, CR). */
  ws(): void {
    const b = this.b;
    let i = this.pos;
    while (i < this.end) {
      const c = b[i];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.pos = i;
  }

  /** The next byte, or -1 at the end. */
  peek(): number {
    return this.pos < this.end ? this.b[this.pos] : -1;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** Consumes `c` after whitespace, or fails naming `what` was expected. */
  expect(c: number, what: string): void {
    this.ws();
    if (this.peek() !== c) this.fail(`expected ${what}`);
    this.pos++;
  }

  /** After whitespace: consumes `c` if it is next. */
  eat(c: number): boolean {
    this.ws();
    if (this.peek() !== c) return false;
    this.pos++;
    return true;
  }

  /** The bytes [from, to) as text for a message (at most `max` characters, never throwing). */
  raw(from: number, to: number, max = 20): string {
    const cut = Math.min(to, from + max * 4);
    return new TextDecoder('utf-8').decode(this.b.subarray(from, cut)).slice(0, max);
  }

  /**
   * Where the last string read by scanString lies (between its quotes) and whether it is plain ASCII
   * without escapes (its bytes are then its UTF-16 code units). textAt() makes its text later.
   */
  s0 = 0;
  s1 = 0;
  plain = true;

  /**
   * Reads a string (after whitespace) and checks it, without making a JavaScript string of it: lastString()
   * or lastStringIs() then look at it. Keys compared this way cost no allocation.
   */
  scanString(): void {
    this.ws();
    if (this.peek() !== QUOTE) this.fail('expected a string');
    const b = this.b;
    const end = this.end;
    const start = this.pos + 1;
    let plain = true;
    let i = start;
    for (;;) {
      if (i >= end) {
        this.pos = i;
        this.fail('unterminated string');
      }
      const c = b[i];
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        plain = false;
        const e = i + 1 < end ? b[i + 1] : -1;
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            if (!(i + k < end && hexValue(b[i + k]) >= 0)) {
              this.pos = i;
              this.fail('bad \\u escape in a string');
            }
          }
          i += 6;
        } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) i += 2;
        else {
          this.pos = i;
          this.fail('bad escape in a string');
        }
        continue;
      }
      if (c < 0x20) {
        this.pos = i;
        this.fail('control character in a string');
      }
      if (c >= 0x80) plain = false;
      i++;
    }
    this.s0 = start;
    this.s1 = i;
    this.plain = plain;
    this.pos = i + 1;
    // Non-ASCII text is checked to be UTF-8 here, whether or not anyone asks for the string.
    if (!plain) this.lastString();
  }

  /** The text of the string scanString read last. */
  lastString(): string {
    return this.textAt(this.s0, this.s1, this.plain);
  }

  /** The text of a string scanString read and checked earlier, from its s0, s1 and plain. */
  textAt(s0: number, s1: number, plain: boolean): string {
    if (plain) {
      // Short ASCII names (the common case, a million times over) skip the decoder's per-call cost.
      return s1 - s0 <= 64 ? String.fromCharCode.apply(null, this.b.subarray(s0, s1) as unknown as number[]) : this.decode(s0, s1);
    }
    return this.unescape(s0, s1);
  }

  /** Whether the string scanString read last is `word`. */
  lastStringIs(word: string): boolean {
    return this.textIs(this.s0, this.s1, this.plain, word);
  }

  /** Whether a string scanString read earlier is `word`, without making its text when plain. */
  textIs(s0: number, s1: number, plain: boolean, word: string): boolean {
    if (!plain) return this.textAt(s0, s1, false) === word;
    const n = s1 - s0;
    if (n !== word.length) return false;
    for (let k = 0; k < n; k++) if (this.b[s0 + k] !== word.charCodeAt(k)) return false;
    return true;
  }

  /** A string value. */
  string(): string {
    this.scanString();
    return this.lastString();
  }

  private decode(from: number, to: number): string {
    try {
      return utf8.decode(this.b.subarray(from, to));
    } catch {
      this.pos = from;
      return this.fail('invalid UTF-8 in a string');
    }
  }

  /** The text of a checked string span holding escapes or non-ASCII bytes. */
  private unescape(from: number, to: number): string {
    const b = this.b;
    const parts: string[] = [];
    let run = from;
    let i = from;
    while (i < to) {
      if (b[i] !== BACKSLASH) {
        i++;
        continue;
      }
      if (i > run) parts.push(this.decode(run, i));
      const e = b[i + 1];
      if (e === 0x75) {
        let code = 0;
        for (let k = 2; k < 6; k++) code = code * 16 + hexValue(b[i + k]);
        // Lone surrogates are kept, as JSON.parse keeps them; pairs join when the parts are joined.
        parts.push(String.fromCharCode(code));
        i += 6;
      } else {
        parts.push(ESCAPES[e]);
        i += 2;
      }
      run = i;
    }
    if (to > run) parts.push(this.decode(run, to));
    return parts.join('');
  }

  /** A number value; its JavaScript value as JSON.parse gives it. */
  number(): number {
    this.ws();
    const b = this.b;
    const end = this.end;
    const start = this.pos;
    let i = start;
    if (i < end && b[i] === MINUS) i++;
    const intStart = i;
    if (i < end && b[i] === 0x30) i++;
    else if (i < end && isDigit(b[i])) while (i < end && isDigit(b[i])) i++;
    else {
      this.pos = i;
      this.fail('expected a value');
    }
    const intEnd = i;
    let plain = true;
    if (i < end && b[i] === 0x2e) {
      plain = false;
      i++;
      if (!(i < end && isDigit(b[i]))) {
        this.pos = i;
        this.fail('expected a digit after the decimal point');
      }
      while (i < end && isDigit(b[i])) i++;
    }
    if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
      plain = false;
      i++;
      if (i < end && (b[i] === 0x2b || b[i] === MINUS)) i++;
      if (!(i < end && isDigit(b[i]))) {
        this.pos = i;
        this.fail('expected a digit in the exponent');
      }
      while (i < end && isDigit(b[i])) i++;
    }
    this.pos = i;
    // Offsets and dimensions: plain integers of up to 15 digits are exact as accumulated.
    if (plain && intEnd - intStart <= 15) {
      let v = 0;
      for (let k = intStart; k < intEnd; k++) v = v * 10 + (b[k] - 0x30);
      return intStart > start ? -v : v;
    }
    return Number(i - start <= 64 ? String.fromCharCode.apply(null, b.subarray(start, i) as unknown as number[]) : this.decode(start, i));
  }

  /** Skips one value of any kind, checking its syntax, without recursion. */
  skipValue(): void {
    const stack = this.stack;
    let depth = 0;
    for (;;) {
      // A value.
      this.ws();
      const c = this.peek();
      let opened = false;
      if (c === LBRACE || c === LBRACKET) {
        this.pos++;
        const close = c === LBRACE ? RBRACE : RBRACKET;
        if (!this.eat(close)) {
          if (depth === MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
          stack[depth++] = c === LBRACE ? 1 : 2;
          if (c === LBRACE) {
            this.scanString();
            this.expect(COLON, "':'");
          }
          opened = true;
        }
      } else if (c === QUOTE) this.scanString();
      else if (c === MINUS || isDigit(c)) this.number();
      else this.literal();
      if (opened) continue;
      // After a value: close containers until one goes on with a comma.
      for (;;) {
        if (depth === 0) return;
        const inObject = stack[depth - 1] === 1;
        if (this.eat(COMMA)) {
          if (inObject) {
            this.scanString();
            this.expect(COLON, "':'");
          }
          break;
        }
        this.expect(inObject ? RBRACE : RBRACKET, inObject ? "',' or '}'" : "',' or ']'");
        depth--;
      }
    }
  }

  /** true, false or null. */
  private literal(): void {
    for (const word of ['true', 'false', 'null']) {
      if (this.pos + word.length <= this.end && this.b[this.pos] === word.charCodeAt(0)) {
        let ok = true;
        for (let k = 1; k < word.length; k++) if (this.b[this.pos + k] !== word.charCodeAt(k)) ok = false;
        if (ok) {
          this.pos += word.length;
          return;
        }
      }
    }
    this.fail('expected a value');
  }
}

export const JSON_BYTES = { QUOTE, COMMA, COLON, LBRACE, RBRACE, LBRACKET, RBRACKET, MINUS } as const;
