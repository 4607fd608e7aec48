// Field checks of the JSON files that `merge` and `eval --thresholds` read (parts, thresholds files): each
// violation is one line, `FILE: <field path> <what is wrong>`, and nothing is sized by a claimed count
// before it is checked. Pure.
import { LensError, quoteSnippet } from '../errors';
import { unpack, type PackedKind, type Unpacked } from './packedArrays';

/** A short description of a JSON value for a message (never the value in full). */
export function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `the string ${quoteSnippet(v, 20)}`;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return 'an object';
}

export type Obj = Readonly<Record<string, unknown>>;

/** Field checks of one part; `fail` names the file and the path of the field. */
export class Part {
  constructor(
    private readonly file: string,
    private readonly prefix: string,
  ) {}

  fail(path: string, what: string): never {
    throw new LensError('format', `${this.file}: ${this.prefix}${path} ${what}`);
  }

  expected(path: string, v: unknown, what: string): never {
    return this.fail(path, `is ${describe(v)}, expected ${what}`);
  }

  object(path: string, v: unknown): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.expected(path, v, 'an object');
    return v as Obj;
  }

  array(path: string, v: unknown, length?: number, of = 'entries'): readonly unknown[] {
    if (!Array.isArray(v)) this.expected(path, v, length === undefined ? 'an array' : `an array of ${length} ${of}`);
    if (length !== undefined && v.length !== length) this.fail(path, `has ${v.length} entries, expected ${length} ${of}`);
    return v;
  }

  int(path: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      this.expected(path, v, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`);
    }
    return v;
  }

  count(path: string, v: unknown): number {
    return this.int(path, v, 0);
  }

  counts(path: string, v: unknown, length: number, of: string): number[] {
    const a = this.array(path, v, length, of);
    return a.map((x, i) => this.count(`${path}[${i}]`, x));
  }

  num(path: string, v: unknown): number {
    if (typeof v !== 'number') this.expected(path, v, 'a number');
    return v;
  }

  numOrNull(path: string, v: unknown): number | null {
    return v === null ? null : this.num(path, v);
  }

  str(path: string, v: unknown): string {
    if (typeof v !== 'string') this.expected(path, v, 'a string');
    return v;
  }

  /** `n` values of `kind` packed as base64 (src/eval/packedArrays.ts), the text's length checked first. */
  packed<K extends PackedKind>(path: string, v: unknown, n: number, kind: K): Unpacked<K> {
    if (typeof v !== 'string') this.expected(path, v, 'base64 text');
    const r = unpack(v, n, kind);
    if (typeof r === 'string') this.fail(path, r);
    return r;
  }
}
