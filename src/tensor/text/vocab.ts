// Token vocabularies for the language-model token view: id -> the tokenizer's string for it.
//
// Formats (detected by name, then by content):
// - tokenizer.json (Hugging Face `tokenizers`): `model.vocab` is {token: id} for BPE, WordPiece and
//   WordLevel, or [[piece, score], ...] for Unigram (the index is the id); `added_tokens` [{id, content,
//   special}] override the model's entry for their id (as `tokenizers` does). The decoder, pre-tokenizer and
//   normalizer tell how pieces read as text (byte-level BPE, SentencePiece, WordPiece), else the pieces do.
// - vocab.json: {token: id} (GPT-2's encoder.json layout).
// - vocab.txt: one token per line, the line index is the id (BERT); a SentencePiece `.vocab` export
//   ("piece<TAB>score" lines) reads the same way, the score dropped.
// Duplicates: when two tokens claim one id the later in the file wins (as transformers'
// `{v: k for k, v in vocab.items()}`); an added token wins over the model's entry. Empty ids stay unknown.
// JSON is read by ./vocabJson (streams the {token: id} tables into arrays: JSON.parse is too slow on them).
//
// The result is plain data (arrays, no methods, no objects keyed by token or id) so it can be posted to a
// worker or a webview; memory is O(entries). Everything here is pure: no `vscode`, nothing from Node.
// Files come from anywhere: sizes, ids, string lengths and nesting are bounded and every problem is one
// LensError line naming the file, echoed text cut with quoteSnippet().
import { LensError, quoteSnippet } from '../../errors';
import { JsonScanError, scanJson } from './vocabJson';

/** How pieces read as text. */
export type VocabularyKind = 'byte-level-bpe' | 'sentencepiece' | 'wordpiece' | 'plain';
export const VOCABULARY_KINDS: readonly VocabularyKind[] = ['byte-level-bpe', 'sentencepiece', 'wordpiece', 'plain'];
export type VocabularyFormat = 'tokenizer.json' | 'vocab.json' | 'vocab.txt' | 'payload' | 'strings';

export interface Vocabulary {
  /** The file (or 'payload') it came from, for messages. */
  readonly source: string;
  readonly format: VocabularyFormat;
  readonly kind: VocabularyKind;
  /** The tokenizer model: 'BPE', 'WordPiece', 'Unigram', 'WordLevel', or 'unknown' (vocab.json/.txt). */
  readonly model: string;
  /** The ids that have a string, ascending and distinct. Dense (ids[i] === i) when ids.length === size. */
  readonly ids: Int32Array;
  /** pieces[i] is the tokenizer's own string for ids[i] ("Ġthe", "##ing", "▁the", "<0x0A>", "<|endoftext|>"). */
  readonly pieces: readonly string[];
  /** 1 where ids[i] is a special token (shown verbatim, never merged with neighbouring bytes). */
  readonly special: Uint8Array;
  /** Largest id + 1 (0 when empty): what a model's class count should be at least. */
  readonly size: number;
  /** Pieces like <0x0A> stand for one byte (SentencePiece byte fallback). */
  readonly byteFallback: boolean;
  /** WordPiece continuation prefix ("##"); '' otherwise. */
  readonly continuingPrefix: string;
  /** BPE end-of-word suffix ("</w>" in CLIP): read as a space after the word; '' otherwise. */
  readonly endOfWordSuffix: string;
  /** Put between tokens when rendering a sequence: ' ' for word-level vocabularies and WordPiece. */
  readonly separator: '' | ' ';
  /** One line for the view: "tokenizer.json: BPE, byte-level, 50,257 tokens (1 special)". */
  readonly note: string;
}

/** Files larger than this are refused (Gemma 3's tokenizer.json, among the largest, is about 33 MB). */
export const MAX_VOCABULARY_FILE_BYTES = 64 * 2 ** 20;
/** Largest token id accepted (real vocabularies stop near 1M: XLM-V has 901,629). */
export const MAX_TOKEN_ID = 2 ** 24 - 1;
/** Most entries read from one file or payload. */
export const MAX_VOCABULARY_ENTRIES = 2 ** 22;
/**
 * Longer pieces are cut to this many characters (no marker: one would break byte-level decoding; the note
 * counts them): no real token is this long, and a hostile one must not flood the view.
 */
export const MAX_PIECE_LENGTH = 1024;
/** Nesting allowed in a tokenizer.json (real ones nest about 6 levels). */
const MAX_JSON_DEPTH = 64;

const SPM_SPACE = '\u2581'; // ▁
const FIX = 'set crossEntropyLens.vocabulary to a tokenizer.json, vocab.json or vocab.txt';

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68 bytes (controls,
// space, DEL, NBSP..., soft hyphen) map in order to U+0100... so every byte is a visible character.
/** BYTE_TO_CHAR[b] is the byte-level character (code point) standing for byte b. */
export const BYTE_TO_CHAR: readonly number[] = (() => {
  const out = new Array<number>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = printable ? b : 256 + n++;
  }
  return out;
})();
/** CHAR_TO_BYTE[code point] is the byte, or -1; indexed up to 0x143 (256 + 67). */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const out = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => (out[c] = b));
  return out;
})();

function fail(source: string, what: string, fix = FIX): LensError {
  return new LensError('format', `${source}: ${what} — ${fix}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** An own property only: `doc.constructor` or a `__proto__` lookup must never reach Object.prototype. */
function own(o: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}

function baseName(fileName: string): string {
  const cut = Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\'));
  return fileName.slice(cut + 1).toLowerCase();
}

function cutPiece(s: string): string {
  return s.length > MAX_PIECE_LENGTH ? s.slice(0, MAX_PIECE_LENGTH) : s;
}

/** Collects (id, piece, special) in file order; build() orders by id and keeps the last entry per id. */
class Entries {
  private ids = new Int32Array(1024);
  private special = new Uint8Array(1024);
  readonly pieces: string[] = [];
  private n = 0;
  cut = 0;

  constructor(private readonly source: string) {}

  add(id: unknown, piece: string, special: boolean, where: string): void {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_TOKEN_ID) {
      const shown = typeof id === 'number' ? String(id) : typeof id === 'string' ? quoteSnippet(id) : id === null ? 'null' : typeof id;
      const why = typeof id === 'number' && Number.isInteger(id) && id > MAX_TOKEN_ID ? `ids above ${MAX_TOKEN_ID} are not supported` : 'expected an integer id ≥ 0';
      throw fail(this.source, `${where} ${quoteSnippet(piece)} has id ${shown}: ${why}`, 'check that the file is a tokenizer vocabulary, or ' + FIX);
    }
    const n = this.n;
    if (n >= MAX_VOCABULARY_ENTRIES) throw fail(this.source, `more than ${MAX_VOCABULARY_ENTRIES} tokens`);
    if (n === this.ids.length) {
      const ids = new Int32Array(n * 2);
      ids.set(this.ids);
      this.ids = ids;
      const sp = new Uint8Array(n * 2);
      sp.set(this.special);
      this.special = sp;
    }
    if (piece.length > MAX_PIECE_LENGTH) {
      this.cut++;
      piece = cutPiece(piece);
    }
    this.ids[n] = id;
    this.special[n] = special ? 1 : 0;
    this.pieces.push(piece);
    this.n = n + 1;
  }

  build(): { ids: Int32Array; pieces: string[]; special: Uint8Array } {
    const n = this.n;
    const ids = this.ids;
    let sorted = true;
    let max = -1;
    for (let i = 0; i < n; i++) {
      const id = ids[i];
      if (id <= max) sorted = false;
      else max = id;
    }
    if (sorted) return { ids: ids.slice(0, n), pieces: this.pieces, special: this.special.slice(0, n) };
    // The last entry of each id: by a table over the id range when it is not much larger than the entry
    // count (the usual case: added tokens listed after the model's), else by a stable sort.
    let last: Int32Array;
    let m = 0;
    if (max + 1 <= 4 * n + 1024) {
      const slot = new Int32Array(max + 1).fill(-1);
      for (let i = 0; i < n; i++) slot[ids[i]] = i;
      last = new Int32Array(n);
      for (let id = 0; id <= max; id++) if (slot[id] >= 0) last[m++] = slot[id];
    } else {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a] - ids[b] || a - b);
      last = new Int32Array(n);
      for (let k = 0; k < n; k++) if (k + 1 === n || ids[order[k + 1]] !== ids[order[k]]) last[m++] = order[k];
    }
    const outIds = new Int32Array(m);
    const outSpecial = new Uint8Array(m);
    const outPieces = new Array<string>(m);
    for (let k = 0; k < m; k++) {
      const i = last[k];
      outIds[k] = ids[i];
      outSpecial[k] = this.special[i];
      outPieces[k] = this.pieces[i];
    }
    return { ids: outIds, pieces: outPieces, special: outSpecial };
  }
}

// Names special tokens are commonly given, for formats that do not flag them (vocab.json, vocab.txt):
// <|endoftext|>, [CLS], <s>, </s>, <unk>, <pad>, <mask>.
const SPECIAL_NAME = /^(?:<\|[^|\s]{1,64}\|>|\[[A-Z][A-Z0-9_]{0,31}\]|<\/?(?:s|unk|pad|mask|cls|sep|bos|eos)>)$/;

interface Shape {
  kind: VocabularyKind;
  separator: '' | ' ';
}

/** Reads how pieces look when nothing says: Ġ-prefixed (byte-level), ▁-prefixed (SentencePiece), ##. */
export function guessVocabularyKind(pieces: readonly string[], special?: Uint8Array): Shape {
  let bl = 0;
  let sp = 0;
  let wp = 0;
  let spaced = 0;
  let longer = 0;
  for (let i = 0; i < pieces.length; i++) {
    if (special && special[i]) continue;
    const p = pieces[i];
    const c = p.charCodeAt(0);
    if (c === 0x120 || c === 0x10a) bl++; // Ġ, Ċ
    else if (c === 0x2581) sp++;
    else if (c === 0x23 && p.length > 2 && p.charCodeAt(1) === 0x23) wp++;
    if (p.length > 1) longer++;
    if (/\s/.test(p)) spaced++;
  }
  const best = Math.max(bl, sp, wp);
  if (best > 0) {
    if (best === bl) return { kind: 'byte-level-bpe', separator: '' };
    if (best === sp) return { kind: 'sentencepiece', separator: '' };
    return { kind: 'wordpiece', separator: ' ' };
  }
  // Words without whitespace read with spaces between them; characters (or pieces that carry their own
  // spaces) read as they are.
  return { kind: 'plain', separator: spaced === 0 && longer > 0 ? ' ' : '' };
}

function makeVocabulary(
  source: string,
  format: VocabularyFormat,
  entries: Entries,
  model: string,
  detected: Partial<Shape> & { byteFallback?: boolean; continuingPrefix?: string; endOfWordSuffix?: string },
  flagSpecialByName: boolean,
): Vocabulary {
  const built = entries.build();
  if (flagSpecialByName) for (let i = 0; i < built.pieces.length; i++) if (SPECIAL_NAME.test(built.pieces[i])) built.special[i] = 1;
  const shape = detected.kind ? { kind: detected.kind, separator: detected.separator ?? '' } : guessVocabularyKind(built.pieces, built.special);
  const kind = shape.kind;
  const size = built.ids.length ? built.ids[built.ids.length - 1] + 1 : 0;
  let specials = 0;
  for (let i = 0; i < built.special.length; i++) specials += built.special[i];
  const byteFallback = detected.byteFallback ?? kind === 'sentencepiece';
  const continuingPrefix = kind === 'wordpiece' ? detected.continuingPrefix || '##' : '';
  const parts = [model === 'unknown' ? format : model, kindLabel(kind)];
  const note = `${source}: ${parts.join(', ')}, ${built.ids.length.toLocaleString('en-US')} tokens` +
    (specials ? ` (${specials} special)` : '') +
    (built.ids.length && size !== built.ids.length ? `, ids up to ${size - 1}` : '') +
    (entries.cut ? `, ${entries.cut} over ${MAX_PIECE_LENGTH} characters cut` : '');
  return {
    source,
    format,
    kind,
    model,
    ids: built.ids,
    pieces: built.pieces,
    special: built.special,
    size,
    byteFallback,
    continuingPrefix,
    endOfWordSuffix: detected.endOfWordSuffix ?? '',
    separator: kind === 'wordpiece' ? ' ' : shape.separator,
    note,
  };
}

function kindLabel(kind: VocabularyKind): string {
  switch (kind) {
    case 'byte-level-bpe':
      return 'byte-level';
    case 'sentencepiece':
      return 'SentencePiece';
    case 'wordpiece':
      return 'WordPiece';
    default:
      return 'plain text';
  }
}

/**
 * Parses a tokenizer.json, vocab.json or vocab.txt (bytes as read from disk, or text). The format comes
 * from the name (.txt/.vocab: lines; .json: JSON), else from the first character. Throws a one-line
 * LensError naming `fileName` for anything malformed or too large.
 */
export function parseVocabulary(fileName: string, content: Uint8Array | string): Vocabulary {
  if (content.length > MAX_VOCABULARY_FILE_BYTES) {
    throw new LensError('io', `${fileName}: ${(content.length / 2 ** 20).toFixed(1)} MB is over the ${MAX_VOCABULARY_FILE_BYTES / 2 ** 20} MB limit for vocabularies — point crossEntropyLens.vocabulary at the tokenizer's vocab.json or vocab.txt instead`);
  }
  const name = baseName(fileName);
  let lines: boolean;
  if (name.endsWith('.txt') || name.endsWith('.vocab')) lines = true;
  else if (name.endsWith('.json')) lines = false;
  else lines = firstChar(content) !== 0x7b; // '{'
  if (name.endsWith('.model')) {
    throw fail(fileName, 'SentencePiece .model files are not read', "use the model's tokenizer.json (tokenizer.save('tokenizer.json') in Python) or " + FIX);
  }
  let text: string;
  if (typeof content === 'string') text = content;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: !lines }).decode(content);
    } catch {
      throw fail(fileName, 'is not UTF-8 text', 'save it as UTF-8 JSON, or ' + FIX);
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return lines ? parseLines(fileName, text) : parseJsonVocabulary(fileName, text);
}

function firstChar(content: Uint8Array | string): number {
  const n = Math.min(content.length, 4096);
  for (let i = 0; i < n; i++) {
    const c = typeof content === 'string' ? content.charCodeAt(i) : content[i];
    if (c === 0xfeff || c === 0xef || c === 0xbb || c === 0xbf) continue; // BOM as text or as bytes
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c;
  }
  return -1;
}

function parseLines(source: string, text: string): Vocabulary {
  let count = 0;
  for (let i = text.indexOf('\n'); i >= 0 && count <= MAX_VOCABULARY_ENTRIES; i = text.indexOf('\n', i + 1)) count++;
  if (count > MAX_VOCABULARY_ENTRIES) throw fail(source, `more than ${MAX_VOCABULARY_ENTRIES} lines`);
  if (text.startsWith('#version')) throw fail(source, 'is a BPE merges.txt (merge rules, not a vocabulary)', 'use vocab.json or tokenizer.json from the same folder, or ' + FIX);
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // the final newline ends a line
  // A SentencePiece .vocab export: "piece<TAB>score" on every line.
  const scored = lines.length > 0 && lines.every((l) => /^[^\t]*\t-?[\d.eE+-]+\r?$/.test(l));
  const entries = new Entries(source);
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i];
    if (l.endsWith('\r')) l = l.slice(0, -1);
    if (scored) l = l.slice(0, l.indexOf('\t'));
    entries.add(i, l, false, 'line');
  }
  return makeVocabulary(source, 'vocab.txt', entries, 'unknown', {}, true);
}

function parseJsonVocabulary(source: string, text: string): Vocabulary {
  // {token: id} tables stream straight into entries: the root's (vocab.json) and model.vocab's.
  const rootEntries = new Entries(source);
  const modelEntries = new Entries(source);
  let doc: unknown;
  try {
    doc = scanJson(text, {
      stream: ['', 'model.vocab'],
      skip: ['model.merges'],
      maxDepth: MAX_JSON_DEPTH,
      onMember: (path, key, id) => (path === '' ? rootEntries : modelEntries).add(id, key, false, path === '' ? 'token' : 'model.vocab token'),
    });
  } catch (e) {
    if (!(e instanceof JsonScanError)) throw e;
    throw fail(source, `is not valid JSON (${e.message})`, 'check that the file is complete, or ' + FIX);
  }
  if (!isObject(doc)) throw fail(source, `expected a JSON object (tokenizer.json or vocab.json {token: id}), found ${Array.isArray(doc) ? 'a list' : doc === null ? 'null' : typeof doc}`);
  const model = own(doc, 'model');
  if (isObject(model)) return parseTokenizerJson(source, doc, model, modelEntries);
  if (model !== undefined) throw fail(source, '"model" is not an object', 'save the tokenizer again with tokenizer.save("tokenizer.json"), or ' + FIX);
  if (own(doc, 'added_tokens_decoder') !== undefined || own(doc, 'tokenizer_class') !== undefined) {
    throw fail(source, 'is a tokenizer_config.json, which holds no vocabulary', 'use tokenizer.json or vocab.json from the same folder, or ' + FIX);
  }
  rejectNonNumbers(rootEntries, doc, 'token');
  return makeVocabulary(source, 'vocab.json', rootEntries, 'unknown', {}, true);
}

/** What is left of a streamed {token: id} table are members that are not numbers: the first is an error. */
function rejectNonNumbers(entries: Entries, rest: Record<string, unknown>, where: string): void {
  for (const k of Object.keys(rest)) entries.add(rest[k], k, false, where);
}

/** Flattens Sequence nodes of a decoder / pre-tokenizer / normalizer into their parts (bounded). */
function parts(node: unknown, listKey: string, depth = 0): Record<string, unknown>[] {
  if (!isObject(node) || depth > 8) return [];
  const list = own(node, listKey);
  if (own(node, 'type') === 'Sequence' && Array.isArray(list)) return list.slice(0, 64).flatMap((n) => parts(n, listKey, depth + 1));
  return [node];
}

function typeIs(nodes: Record<string, unknown>[], type: string): boolean {
  return nodes.some((n) => own(n, 'type') === type);
}

function parseTokenizerJson(source: string, doc: Record<string, unknown>, model: Record<string, unknown>, entries: Entries): Vocabulary {
  const vocab = own(model, 'vocab');
  const declared = own(model, 'type');
  let type = typeof declared === 'string' ? declared.slice(0, 40) : Array.isArray(vocab) ? 'Unigram' : 'BPE';
  if (Array.isArray(vocab)) {
    if (vocab.length > MAX_VOCABULARY_ENTRIES) throw fail(source, `more than ${MAX_VOCABULARY_ENTRIES} tokens`);
    for (let i = 0; i < vocab.length; i++) {
      const e = vocab[i];
      const piece = Array.isArray(e) ? e[0] : e;
      if (typeof piece !== 'string') throw fail(source, `model.vocab[${i}] must be [piece, score] with a string piece`, 'save the tokenizer again with tokenizer.save("tokenizer.json"), or ' + FIX);
      entries.add(i, piece, false, 'model.vocab piece');
    }
  } else if (isObject(vocab)) {
    rejectNonNumbers(entries, vocab, 'model.vocab token');
  } else {
    throw fail(source, `model${declared ? ` (${quoteSnippet(type)})` : ''} has no vocab table`, 'save the tokenizer again with tokenizer.save("tokenizer.json"), or ' + FIX);
  }
  const added = own(doc, 'added_tokens');
  if (added !== undefined && added !== null) {
    if (!Array.isArray(added)) throw fail(source, 'added_tokens must be a list');
    if (added.length > MAX_VOCABULARY_ENTRIES) throw fail(source, `more than ${MAX_VOCABULARY_ENTRIES} added tokens`);
    added.forEach((a: unknown, i) => {
      const content = isObject(a) ? own(a, 'content') : undefined;
      if (!isObject(a) || typeof content !== 'string') throw fail(source, `added_tokens[${i}] must be {id, content, special}`);
      entries.add(own(a, 'id'), content, own(a, 'special') === true, `added_tokens[${i}]`);
    });
  }
  const dec = parts(own(doc, 'decoder'), 'decoders');
  const pre = parts(own(doc, 'pre_tokenizer'), 'pretokenizers');
  const norm = parts(own(doc, 'normalizer'), 'normalizers');
  const spmReplace =
    dec.some((n) => own(n, 'type') === 'Replace' && isObject(own(n, 'pattern')) && own(own(n, 'pattern') as Record<string, unknown>, 'String') === SPM_SPACE) ||
    norm.some((n) => own(n, 'type') === 'Replace' && own(n, 'content') === SPM_SPACE);
  const prefixOf = (n: Record<string, unknown> | undefined, key: string): string | undefined => {
    const v = n ? own(n, key) : undefined;
    return typeof v === 'string' && v.length <= 16 ? v : undefined;
  };
  const detected: Partial<Shape> & { byteFallback?: boolean; continuingPrefix?: string; endOfWordSuffix?: string } = {};
  if (typeIs(dec, 'ByteLevel') || typeIs(pre, 'ByteLevel')) detected.kind = 'byte-level-bpe';
  else if (typeIs(dec, 'Metaspace') || typeIs(pre, 'Metaspace') || spmReplace || type === 'Unigram') detected.kind = 'sentencepiece';
  else if (type === 'WordPiece' || typeIs(dec, 'WordPiece')) detected.kind = 'wordpiece';
  else if (dec.length > 0) detected.kind = 'plain'; // some other decoder (CTC, ...): pieces as they are
  // else: no decoder says; the pieces decide (`tokenizers` joins tokens with spaces then).
  if (own(model, 'byte_fallback') === true || typeIs(dec, 'ByteFallback')) detected.byteFallback = true;
  const wpDecoder = dec.find((n) => own(n, 'type') === 'WordPiece');
  const cp = prefixOf(wpDecoder, 'prefix') ?? prefixOf(model, 'continuing_subword_prefix');
  if (cp) detected.continuingPrefix = cp;
  const bpeDecoder = dec.find((n) => own(n, 'type') === 'BPEDecoder');
  const suffix = prefixOf(bpeDecoder, 'suffix') ?? prefixOf(model, 'end_of_word_suffix');
  if (suffix) detected.endOfWordSuffix = suffix;
  if (!detected.kind) {
    const guess = guessVocabularyKind(entries.pieces);
    detected.kind = guess.kind;
    detected.separator = guess.kind === 'plain' ? ' ' : guess.separator;
  }
  if (type.length === 0) type = 'unknown';
  return makeVocabulary(source, 'tokenizer.json', entries, type, detected, false);
}

// ---- lookups ----

/** Index of `id` in vocab.ids, or -1 when the vocabulary has no string for it. */
export function tokenIndex(vocab: Vocabulary, id: number): number {
  if (!Number.isInteger(id) || id < 0 || id >= vocab.size) return -1;
  const ids = vocab.ids;
  if (ids.length === vocab.size) return id; // dense: ids[i] === i
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid];
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** The tokenizer's own string for `id` ("Ġthe"), or null. */
export function tokenPiece(vocab: Vocabulary, id: number): string | null {
  const i = tokenIndex(vocab, id);
  return i < 0 ? null : vocab.pieces[i];
}

export function isSpecialToken(vocab: Vocabulary, id: number): boolean {
  const i = tokenIndex(vocab, id);
  return i >= 0 && vocab.special[i] === 1;
}

/** A vocabulary holding only `ids` (those it knows): what a webview needs for the tokens it shows. */
export function subsetVocabulary(vocab: Vocabulary, ids: Iterable<number>): Vocabulary {
  const wanted: number[] = [];
  for (const id of ids) if (tokenIndex(vocab, id) >= 0) wanted.push(id);
  wanted.sort((a, b) => a - b);
  const keep: number[] = [];
  for (let k = 0; k < wanted.length; k++) if (k === 0 || wanted[k] !== wanted[k - 1]) keep.push(tokenIndex(vocab, wanted[k]));
  return {
    ...vocab,
    ids: Int32Array.from(keep, (i) => vocab.ids[i]),
    pieces: keep.map((i) => vocab.pieces[i]),
    special: Uint8Array.from(keep, (i) => vocab.special[i]),
    // size stays: the full vocabulary's, for checks against the class count
  };
}

// ---- the notebook payload's `options.tokenizer` ----

/**
 * Decodes `options.tokenizer` of a notebook payload, as python/cross_entropy_lens.py writes it:
 * `{ "strings": { "<id>": "<piece>", ... }, "kind": "byte-level-bpe" | "sentencepiece" | "wordpiece" |
 * "plain", "special"?: [id, ...], "separator"?: "" | " " }`. Pieces are the tokenizer's own strings
 * (convert_ids_to_tokens), or already-decoded text with kind "plain". Only the ids the view needs are sent.
 */
export function decodeTokenizerOption(value: unknown, where = 'payload.options.tokenizer'): Vocabulary {
  const bad = (what: string): LensError =>
    new LensError('format', `${where}${what.startsWith('.') ? '' : ' '}${what} — pass tokenizer=<a Hugging Face tokenizer or a list of strings> to cross_entropy_lens.display()`);
  if (!isObject(value)) throw bad('must be an object { strings, kind }');
  const kind = own(value, 'kind');
  if (typeof kind !== 'string' || !(VOCABULARY_KINDS as readonly string[]).includes(kind)) throw bad(`.kind must be one of ${VOCABULARY_KINDS.join(', ')}`);
  const strings = own(value, 'strings');
  if (!isObject(strings)) throw bad('.strings must be an object {"id": "string"}');
  const keys = Object.keys(strings);
  if (keys.length > MAX_VOCABULARY_ENTRIES) throw bad(`.strings has more than ${MAX_VOCABULARY_ENTRIES} entries`);
  const specialList = own(value, 'special');
  if (specialList !== undefined && specialList !== null && (!Array.isArray(specialList) || specialList.length > MAX_VOCABULARY_ENTRIES)) throw bad('.special must be a list of ids');
  const specialIds = new Set<unknown>(Array.isArray(specialList) ? specialList : []);
  const separator = own(value, 'separator');
  if (separator !== undefined && separator !== null && separator !== '' && separator !== ' ') throw bad('.separator must be "" or " "');
  const entries = new Entries(where);
  for (const k of keys) {
    if (!/^(?:0|[1-9]\d{0,7})$/.test(k) || Number(k) > MAX_TOKEN_ID) throw bad(`.strings key ${quoteSnippet(k)} is not a token id (0 to ${MAX_TOKEN_ID})`);
    const s = strings[k];
    if (s === null) continue; // an id the tokenizer had no string for
    if (typeof s !== 'string') throw bad(`.strings[${quoteSnippet(k)}] must be a string`);
    const id = Number(k);
    entries.add(id, s, specialIds.has(id), 'token');
  }
  const k = kind as VocabularyKind;
  return makeVocabulary('notebook output', 'payload', entries, 'unknown', { kind: k, separator: separator === ' ' ? ' ' : '' }, false);
}

/** A vocabulary from a list of strings (index = id; null for none), e.g. class-like token lists. */
export function vocabularyFromStrings(strings: readonly (string | null | undefined)[], source = 'token list', kind?: VocabularyKind): Vocabulary {
  const entries = new Entries(source);
  if (strings.length > MAX_VOCABULARY_ENTRIES) throw fail(source, `more than ${MAX_VOCABULARY_ENTRIES} tokens`);
  strings.forEach((s, i) => {
    if (typeof s === 'string') entries.add(i, s, false, 'token');
  });
  return makeVocabulary(source, 'strings', entries, 'unknown', kind ? { kind } : {}, !kind);
}

// ---- finding a vocabulary beside the input ----

function candidateRank(name: string): number {
  const n = name.toLowerCase();
  if (n === 'tokenizer.json') return 0;
  if (n === 'vocab.json') return 1;
  if (n === 'vocab.txt') return 2;
  if (n.endsWith('.json') && n.includes('tokenizer') && !n.includes('config') && !n.includes('special_tokens')) return 3;
  if (/(?:^|[-_.])vocab\.json$/.test(n) || n === 'encoder.json') return 4;
  if (/(?:^|[-_.])vocab\.txt$/.test(n) || n.endsWith('.vocab')) return 5;
  return -1;
}

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/**
 * Names in `dirListing` (the input's folder) that may hold its vocabulary, best first: tokenizer.json,
 * vocab.json, vocab.txt, other *tokenizer*.json (not tokenizer_config.json), *-vocab.json / encoder.json,
 * *-vocab.txt / *.vocab. Within a rank, names sharing a longer prefix with the input's name come first.
 */
export function findVocabularyCandidates(dirListing: readonly string[], inputName: string): string[] {
  const input = baseName(inputName);
  const stem = input.includes('.') ? input.slice(0, input.lastIndexOf('.')) : input;
  return dirListing
    .map((name) => ({ name, rank: name.length <= 255 && baseName(name) !== input ? candidateRank(baseName(name)) : -1, affinity: commonPrefix(baseName(name), stem) }))
    .filter((c) => c.rank >= 0)
    .sort((a, b) => a.rank - b.rank || b.affinity - a.affinity || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((c) => c.name);
}
