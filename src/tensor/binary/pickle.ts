// A restricted pickle reader: a small virtual machine over the opcodes torch.save writes (protocols 2-5),
// interpreting them as data only. It never imports, evaluates or calls anything from the file: a GLOBAL
// opcode is answered from the caller's allow-list (findGlobal), and anything outside it is refused right
// there, naming the global, before any REDUCE could use it. Calls (REDUCE) reach only the functions the
// allow-list returns, which are plain TypeScript that build values. Sizes are capped against hostile
// pickles: memo entries, stack length, MARK nesting, string and integer lengths.

import { LensError, quoteSnippet } from '../../errors';

export type PyValue = null | boolean | number | bigint | string | PyBytes | PyList | PyTuple | PyDict | PySet | PyGlobal | PyHost;

export class PyBytes {
  constructor(readonly bytes: Uint8Array) {}
}

export class PyList {
  constructor(readonly items: PyValue[] = []) {}
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

export class PySet {
  constructor(
    readonly items: PyValue[] = [],
    readonly frozen = false,
  ) {}
}

/** A dict (or collections.OrderedDict): insertion-ordered, keyed by hashable values. */
export class PyDict {
  // Plain keys (str, int, float, bool, None) are Map keys themselves, so a memoized key fetched again is the
  // same JS string and V8 hashes it once; compound keys (bytes, tuples, globals) go by their encoding.
  private readonly index = new Map<string | number | bigint | symbol, number>();
  private readonly compound = new Map<string, number>();
  readonly keys: PyValue[] = [];
  readonly values: PyValue[] = [];
  /** Attributes a BUILD set on an OrderedDict (a state_dict's _metadata); kept, never interpreted. */
  attrs: PyValue = null;
  constructor(readonly ordered = false) {}

  private slot(key: PyValue): { map: Map<string | number | bigint | symbol, number>; k: string | number | bigint | symbol } {
    const plain = plainKey(key);
    if (plain !== undefined) return { map: this.index, k: plain };
    return { map: this.compound as Map<string | number | bigint | symbol, number>, k: compoundKey(key) };
  }

  set(key: PyValue, value: PyValue): void {
    const { map, k } = this.slot(key);
    const at = map.get(k);
    if (at !== undefined) {
      this.values[at] = value;
      return;
    }
    map.set(k, this.keys.length);
    this.keys.push(key);
    this.values.push(value);
  }

  has(key: PyValue): boolean {
    return this.get(key) !== undefined;
  }

  get(key: PyValue): PyValue | undefined {
    let at: number | undefined;
    try {
      const { map, k } = this.slot(key);
      at = map.get(k);
    } catch (e) {
      if (e instanceof LensError && e.message.includes('not hashable')) return undefined;
      throw e;
    }
    return at === undefined ? undefined : this.values[at];
  }

  get size(): number {
    return this.keys.length;
  }
}

/**
 * A global the allow-list admitted. `call` is present for callables (REDUCE), and receives the argument
 * tuple's items; a global without it (a storage type) can only be passed around as a value.
 */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly call?: (args: readonly PyValue[]) => PyValue,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A value the caller's functions built (a tensor reference, a storage): opaque to the VM. */
export class PyHost {
  constructor(
    readonly typeName: string,
    readonly value: unknown,
  ) {}
}

export interface PickleLimits {
  /** Most memo entries. */
  maxMemo: number;
  /** Most values on the stack (all MARK frames together). */
  maxStack: number;
  /** Deepest MARK nesting. */
  maxMarks: number;
  /** Longest str or bytes value, in bytes. */
  maxString: number;
  /** Depth to which dict keys (tuples of tuples) are hashed. */
  maxKeyDepth: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = {
  maxMemo: 1 << 20,
  maxStack: 1 << 20,
  maxMarks: 1000,
  maxString: 64 << 20,
  maxKeyDepth: 32,
};

export interface UnpickleOptions {
  /** The allow-list: the value for `module.name`, or undefined to refuse it. */
  findGlobal(module: string, name: string): PyGlobal | undefined;
  /** BINPERSID: turns a persistent id (torch: a storage reference) into a value; refused when absent. */
  persistentLoad?(pid: PyValue): PyValue;
  limits?: Partial<PickleLimits>;
}

// Opcode names for messages about opcodes this reader refuses.
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

function bad(detail: string): LensError {
  return new LensError('format', `corrupt pickle (data.pkl): ${detail} — re-save the file`);
}

/** Python's name for a value's type, for messages. */
export function pyTypeName(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof PyBytes) return 'bytes';
  if (v instanceof PyList) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return v.ordered ? 'OrderedDict' : 'dict';
  if (v instanceof PySet) return v.frozen ? 'frozenset' : 'set';
  if (v instanceof PyGlobal) return v.qualname;
  return v.typeName;
}

/** A global's dotted name for a message: as is when it looks like one, else quoted and cut. */
export function globalLabel(module: string, name: string): string {
  const q = `${module}.${name}`;
  return /^[A-Za-z_][\w.]{0,99}$/.test(q) ? q : quoteSnippet(q, 60);
}

/**
 * What hashing dict keys may cost in one unpickle, in characters. A memoized key can be set again for a few
 * bytes of pickle (LONG_BINGET, SETITEM), so without a budget a 1.3 KB file setting a 1 MB key 10,000 times
 * asks for 10 GB of hashing. Each set or lookup is charged its key's length; the budget grows with the
 * pickle, so any file's keys cost time linear in its size. Lookups outside an unpickle (member paths) are
 * not charged.
 */
interface KeyBudget {
  left: number;
}
const UNCHARGED: KeyBudget = { left: Number.POSITIVE_INFINITY };
let activeBudget: KeyBudget = UNCHARGED;

/** Characters of key hashing allowed for a pickle of `n` bytes. */
export function keyHashBudget(n: number): number {
  return (64 << 20) + 8 * n;
}

function charge(n: number): void {
  activeBudget.left -= n;
  if (activeBudget.left < 0) {
    throw new LensError('format', 'its dict keys take too long to hash (a large key set again and again: not how torch.save writes a file) — re-save the file with torch.save');
  }
}

const NONE_KEY = Symbol('None');
// One character per byte, distinct for each byte value: a bytes key's encoding.
const LATIN1 = new TextDecoder('latin1');

// Python hashes 1, 1.0 and True alike; so do these keys.
function plainKey(key: PyValue): string | number | bigint | symbol | undefined {
  if (typeof key === 'string') {
    charge(key.length);
    return key;
  }
  if (typeof key === 'number') return Object.is(key, -0) ? 0 : key;
  if (typeof key === 'boolean') return key ? 1 : 0;
  if (typeof key === 'bigint') return key;
  if (key === null) return NONE_KEY;
  return undefined;
}

// Each bytes or tuple object is encoded once; its encoding's length is charged at every use.
const encodings = new WeakMap<object, string>();

function compoundKey(key: PyValue): string {
  const k = encodeKey(key, 0, { left: MAX_KEY_CHARS });
  charge(k.length);
  return k;
}

/** Longest encoding of one compound key (a 4,000-item tuple of small integers takes about 16,000). */
const MAX_KEY_CHARS = 1 << 16;

// `chars` counts the encoding's characters, shared parts included each time they appear, so a key built from
// shared tuples (t1 = (t0, t0), t2 = (t1, t1), ...) is refused instead of costing 2^depth.
function encodeKey(key: PyValue, depth: number, chars: { left: number }): string {
  if (depth > DEFAULT_PICKLE_LIMITS.maxKeyDepth) throw bad('a dict key nests too deeply');
  const spend = (k: string): string => {
    chars.left -= k.length + 1;
    if (chars.left < 0) throw bad('a dict key is too large');
    return k;
  };
  if (key === null) return spend('N');
  if (typeof key === 'string') return spend(`s${key.length}:${key}`);
  if (typeof key === 'boolean') return spend(`n${key ? 1 : 0}`);
  if (typeof key === 'number') return spend(Object.is(key, -0) ? 'n0' : `n${key}`);
  if (typeof key === 'bigint') return spend(`n${key}`);
  if (key instanceof PyGlobal) return spend(`g${key.qualname}`);
  if (key instanceof PyBytes || key instanceof PyTuple) {
    const known = encodings.get(key);
    if (known !== undefined) return spend(known);
    let k: string;
    if (key instanceof PyBytes) {
      if (key.bytes.length >= chars.left) throw bad('a dict key is too large');
      k = spend(`b${LATIN1.decode(key.bytes)}`);
    } else {
      k = `t(${key.items.map((x) => encodeKey(x, depth + 1, chars)).join(',')})`;
    }
    encodings.set(key, k);
    return k;
  }
  throw bad(`a dict key of type ${pyTypeName(key)} is not hashable`);
}

/**
 * Runs a pickle as data. Returns the value STOP leaves; throws a one-line LensError (kind 'format') for a
 * refused global or opcode, a truncated or malformed stream, or a limit exceeded.
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): PyValue {
  const outer = activeBudget;
  activeBudget = { left: keyHashBudget(bytes.length) };
  try {
    return run(bytes, opts);
  } finally {
    activeBudget = outer;
  }
}

function run(bytes: Uint8Array, opts: UnpickleOptions): PyValue {
  const lim: PickleLimits = { ...DEFAULT_PICKLE_LIMITS, ...opts.limits };
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8');
  let p = 0;
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  let depthTotal = 0;
  // Indices are dense in practice (0, 1, 2, ...): an array. A hostile 2^32 - 1 makes it sparse, not large.
  const memo: Array<PyValue | undefined> = [];
  let memoCount = 0;

  const need = (n: number): void => {
    if (n < 0 || p + n > bytes.length) throw bad('the pickle ends early — truncated?');
  };
  const u8 = (): number => {
    need(1);
    return bytes[p++];
  };
  const u16 = (): number => {
    need(2);
    const v = dv.getUint16(p, true);
    p += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = dv.getUint32(p, true);
    p += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const lo = dv.getUint32(p, true);
    const hi = dv.getUint32(p + 4, true);
    p += 8;
    if (hi >= 2 ** 21) throw bad('a length is out of range');
    return lo + hi * 2 ** 32;
  };
  const take = (n: number, what: string): Uint8Array => {
    if (n > lim.maxString) throw bad(`a ${what} of ${n} bytes exceeds the limit of ${lim.maxString}`);
    need(n);
    const out = bytes.subarray(p, p + n);
    p += n;
    return out;
  };
  const str = (n: number): string => {
    const b = take(n, 'string');
    // Short ASCII strings (keys, 'storage', 'cpu') skip the decoder's per-call cost.
    if (n <= 64) {
      let s = '';
      for (let i = 0; i < n; i++) {
        const c = b[i];
        if (c >= 0x80) return utf8.decode(b);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8.decode(b);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0 || end - p > 1000) throw bad('a GLOBAL name is not terminated');
    const s = utf8.decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };

  const maxStack = lim.maxStack;
  const push = (v: PyValue): void => {
    if (depthTotal + stack.length >= maxStack) throw bad(`more than ${maxStack} values on the stack`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    if (stack.length === 0) throw bad('the stack is empty where a value is needed');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw bad('the stack is empty where a value is needed');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const prev = marks.pop();
    if (prev === undefined) throw bad('no MARK to pop to');
    depthTotal -= prev.length;
    stack = prev;
    return items;
  };
  const memoPut = (idx: number, v: PyValue): void => {
    if (memo[idx] === undefined) {
      if (memoCount >= lim.maxMemo) throw bad(`more than ${lim.maxMemo} memo entries`);
      memoCount++;
    }
    memo[idx] = v;
  };
  const memoGet = (idx: number): PyValue => {
    const v = memo[idx];
    if (v === undefined) throw bad(`memo entry ${idx} was never stored`);
    return v;
  };
  const long = (n: number): number | bigint => {
    if (n > 1024) throw bad(`an integer of ${n} bytes exceeds the limit of 1024`);
    const b = take(n, 'integer');
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const resolveGlobal = (module: string, name: string): PyGlobal => {
    const g = opts.findGlobal(module, name);
    if (g === undefined) {
      throw new LensError(
        'format',
        `refuses to load the global ${globalLabel(module, name)} (only tensors and their containers are read; nothing in the file is run) — save only tensors in dicts, lists or tuples`,
      );
    }
    return g;
  };
  const dictOf = (v: PyValue, op: string): PyDict => {
    if (!(v instanceof PyDict)) throw bad(`${op} on a ${pyTypeName(v)}, not a dict`);
    return v;
  };
  const listOf = (v: PyValue, op: string): PyList => {
    if (!(v instanceof PyList)) throw bad(`${op} on a ${pyTypeName(v)}, not a list`);
    return v;
  };
  const setItems = (d: PyDict, items: PyValue[]): void => {
    if (items.length % 2 !== 0) throw bad('SETITEMS with an odd number of values');
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
  };

  for (;;) {
    const at = p;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw bad('pickle protocol above 5');
        break;
      case 0x95: // FRAME: a length hint only
        u64();
        break;
      case 0x2e: { // STOP
        const v = pop();
        if (marks.length > 0) throw bad('STOP inside an open MARK');
        return v;
      }
      case 0x28: // MARK
        if (marks.length >= lim.maxMarks) throw bad(`MARKs nest deeper than ${lim.maxMarks}`);
        marks.push(stack);
        depthTotal += stack.length;
        stack = [];
        break;
      case 0x30: // POP
        // Python's POP drops the top value, or the open MARK when its frame is empty.
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        push(new PyList());
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x8f: // EMPTY_SET
        push(new PySet());
        break;
      case 0x64: { // DICT
        const d = new PyDict();
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x6c: // LIST
        push(new PyList(popMark()));
        break;
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x91: // FROZENSET
        push(new PySet(popMark(), true));
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b, c]));
        break;
      }
      case 0x58: // BINUNICODE
        push(str(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(str(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(str(u64()));
        break;
      case 0x42: // BINBYTES
        push(new PyBytes(take(u32(), 'bytes value')));
        break;
      case 0x43: // SHORT_BINBYTES
        push(new PyBytes(take(u8(), 'bytes value')));
        break;
      case 0x8e: // BINBYTES8
        push(new PyBytes(take(u64(), 'bytes value')));
        break;
      case 0x4a: // BININT
        need(4);
        push(dv.getInt32(p, true));
        p += 4;
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(long(u8()));
        break;
      case 0x8b: { // LONG4
        need(4);
        const n = dv.getInt32(p, true);
        p += 4;
        if (n < 0) throw bad('LONG4 with a negative length');
        push(long(n));
        break;
      }
      case 0x47: // BINFLOAT: big-endian double
        need(8);
        push(dv.getFloat64(p, false));
        p += 8;
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        dictOf(top(), 'SETITEM').set(k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(dictOf(top(), 'SETITEMS'), items);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        listOf(top(), 'APPEND').items.push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const l = listOf(top(), 'APPENDS');
        for (const v of items) l.items.push(v);
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet) || s.frozen) throw bad(`ADDITEMS on a ${pyTypeName(s)}, not a set`);
        for (const v of items) s.items.push(v);
        break;
      }
      case 0x71: // BINPUT
        memoPut(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memoPut(memoCount, top());
        break;
      case 0x68: // BINGET
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(u32()));
        break;
      case 0x63: { // GLOBAL: "module\nname\n"
        const module = line();
        const name = line();
        push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw bad('STACK_GLOBAL on values that are not strings');
        push(resolveGlobal(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal)) throw bad(`REDUCE calls a ${pyTypeName(fn)}`);
        if (!(args instanceof PyTuple)) throw bad(`REDUCE with ${pyTypeName(args)} arguments`);
        if (fn.call === undefined) {
          throw new LensError('format', `refuses to call ${fn.qualname} (only tensors and their containers are read; nothing in the file is run)`);
        }
        push(fn.call(args.items));
        break;
      }
      case 0x62: { // BUILD: only an OrderedDict's attributes (a state_dict's _metadata) are accepted
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict && obj.ordered && (state === null || state instanceof PyDict)) {
          obj.attrs = state;
          break;
        }
        throw new LensError(
          'format',
          `refuses to set the state of a ${pyTypeName(obj)} (pickle BUILD; only tensors and their containers are read; nothing in the file is run)`,
        );
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (opts.persistentLoad === undefined) throw bad('a persistent id where none is expected');
        push(opts.persistentLoad(pid));
        break;
      }
      default: {
        const name = OPCODE_NAMES[op];
        if (name === undefined) throw bad(`unknown opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}`);
        throw new LensError(
          'format',
          `uses the pickle opcode ${name} (byte ${at}), which is not read here (only tensors and their containers are; nothing in the file is run) — save plain tensors with torch.save`,
        );
      }
    }
  }
}
