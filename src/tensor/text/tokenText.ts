// Token ids -> text for the token view: one segment per token, so the view can shade each by its loss.
//
// Display rules by vocabulary kind:
// - byte-level BPE (GPT-2, RoBERTa, Llama 3): each character of a piece stands for one byte (Ġ = space,
//   Ċ = newline, ĉ = tab, "âĢĶ" = E2 80 94 = "—"); a piece with a character outside that table is its
//   own UTF-8 (what `tokenizers`' ByteLevel decoder does). A BPE end-of-word suffix ("</w>") reads as a space.
// - SentencePiece (Llama 2, T5, Gemma): ▁ = space; byte-fallback pieces <0x0A> are that byte.
// - WordPiece (BERT): "##ing" joins the previous token; other tokens are preceded by a space.
// - plain: the pieces as they are, with a space between them for word-level vocabularies.
// Special tokens (<|endoftext|>, [CLS], <s>) stay visible as written.
//
// Bytes are decoded as one UTF-8 stream over the sequence, as the tokenizer's decode() would: a character
// whose bytes span several tokens belongs to the token that completes it; the earlier tokens get '' and
// kind 'partial'. Invalid bytes read as U+FFFD where a streaming TextDecoder would emit it (each token's text
// is what `decode(tokenBytes, {stream: true})` returns). Joining the segments' texts gives the decoded
// sequence exactly.
// No leading space is stripped (tokenizers' Strip/add_prefix_space): the view shows a window of tokens.
import { CHAR_TO_BYTE, tokenIndex, type Vocabulary } from './vocab';

export type TokenSegmentKind = 'text' | 'special' | 'partial' | 'unknown';

export interface TokenSegment {
  readonly id: number;
  /** What this token adds to the text; all segments' texts joined are the decoded sequence. */
  readonly text: string;
  /**
   * text: ordinary; special: a special token, shown as written; partial: its bytes begin a character that a
   * later token completes (text ''); unknown: no vocabulary or no string for the id (text "‹id›").
   */
  readonly kind: TokenSegmentKind;
  /** The tokenizer's own string ("Ġthe", "##ing"), or null. */
  readonly piece: string | null;
}

const encoder = new TextEncoder();
const BYTE_OF = CHAR_TO_BYTE; // a local binding: read per character
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const SPM_SPACE = /\u2581/g;

/** How an id without a string is shown. */
export function unknownTokenText(id: number): string {
  return `\u2039${id}\u203a`; // ‹id›
}

/** The bytes a (non-special) piece stands for; WordPiece pieces are text, not bytes (use tokenText). */
export function pieceBytes(vocab: Vocabulary, piece: string): Uint8Array {
  const out = new Uint8Array(piece.length * 3 + 1);
  return out.slice(0, writePieceBytes(vocab, piece, out));
}

/** Writes pieceBytes() into `out` (at least 3 bytes per UTF-16 unit of the piece, plus 1); returns the count. */
function writePieceBytes(vocab: Vocabulary, piece: string, out: Uint8Array): number {
  if (vocab.kind === 'byte-level-bpe') {
    const suffix = vocab.endOfWordSuffix;
    const tail = suffix !== '' && piece.length > suffix.length && piece.endsWith(suffix);
    const n = tail ? piece.length - suffix.length : piece.length;
    for (let i = 0; i < n; i++) {
      const c = piece.charCodeAt(i);
      const b = c < BYTE_OF.length ? BYTE_OF[c] : -1;
      if (b < 0) return encoder.encodeInto(piece, out).written; // not byte-level text: its own UTF-8
      out[i] = b;
    }
    if (tail) out[n] = 0x20;
    return n + (tail ? 1 : 0);
  }
  if (vocab.byteFallback && piece.length === 6) {
    const m = BYTE_PIECE.exec(piece);
    if (m) {
      out[0] = parseInt(m[1], 16);
      return 1;
    }
  }
  return encoder.encodeInto(vocab.kind === 'sentencepiece' ? piece.replace(SPM_SPACE, ' ') : piece, out).written;
}

function hexByte(b: number): string {
  return '\\x' + b.toString(16).toUpperCase().padStart(2, '0');
}

/**
 * UTF-8 decoding over a stream of bytes tagged with the token they came from: token by token, exactly what a
 * streaming TextDecoder (`decode(bytes, {stream: true})`) returns for that token's bytes. An unfinished
 * character cut off by a special token, an unknown id or the end becomes U+FFFD at the token that held its
 * last byte.
 */
class Utf8Stream {
  private need = 0;
  private lower = 0x80;
  private upper = 0xbf;
  private cp = 0;
  private last = -1;
  private readonly pending: number[] = [];

  constructor(
    private readonly texts: string[],
    /** Show invalid bytes as \xNN (a lone token in a hover) instead of U+FFFD. */
    private readonly escape: boolean,
  ) {}

  private invalid(at: number, bytes: readonly number[]): void {
    this.texts[at] += this.escape ? bytes.map(hexByte).join('') : '\uFFFD';
  }

  push(token: number, b: number): void {
    if (this.need > 0) {
      if (b >= this.lower && b <= this.upper) {
        this.lower = 0x80;
        this.upper = 0xbf;
        this.cp = (this.cp << 6) | (b & 0x3f);
        this.pending.push(b);
        this.last = token;
        if (--this.need === 0) {
          this.texts[token] += String.fromCodePoint(this.cp);
          this.pending.length = 0;
        }
        return;
      }
      this.last = token; // the unfinished character is one U+FFFD, where b broke it; b starts afresh
      this.flush();
    }
    if (b < 0x80) {
      this.texts[token] += String.fromCharCode(b);
      return;
    }
    if (b >= 0xc2 && b <= 0xdf) {
      this.need = 1;
      this.cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      if (b === 0xe0) this.lower = 0xa0;
      if (b === 0xed) this.upper = 0x9f;
      this.need = 2;
      this.cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      if (b === 0xf0) this.lower = 0x90;
      if (b === 0xf4) this.upper = 0x8f;
      this.need = 3;
      this.cp = b & 0x07;
    } else {
      this.invalid(token, [b]);
      return;
    }
    this.last = token;
    this.pending.push(b);
  }

  /** push() for each byte; a token of ASCII bytes outside a character goes in one step. */
  pushAll(token: number, bytes: Uint8Array, n: number): void {
    if (this.need === 0) {
      let ascii = true;
      for (let j = 0; j < n && ascii; j++) ascii = bytes[j] < 0x80;
      if (ascii) {
        this.texts[token] += String.fromCharCode.apply(null, bytes.subarray(0, n) as unknown as number[]);
        return;
      }
    }
    for (let j = 0; j < n; j++) this.push(token, bytes[j]);
  }

  /** Ends an unfinished character (at a special token, an unknown id, or the end). */
  flush(): void {
    if (this.need === 0) return;
    this.invalid(this.last, this.pending);
    this.need = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
    this.pending.length = 0;
  }
}

function continuation(vocab: Vocabulary, piece: string): boolean {
  const p = vocab.continuingPrefix;
  return p !== '' && piece.length > p.length && piece.startsWith(p);
}

/**
 * Renders a sequence of token ids (e.g. one row of an LM batch's targets) as one segment per token. With no
 * vocabulary every id shows as ‹id›. Ids such as ignore_index (-100) that have no string show the same way.
 */
export function renderTokens(vocab: Vocabulary | null, ids: ArrayLike<number | bigint>): TokenSegment[] {
  const n = ids.length;
  const texts = new Array<string>(n).fill('');
  const kinds = new Array<TokenSegmentKind>(n);
  const pieces = new Array<string | null>(n).fill(null);
  const hadBytes = new Uint8Array(n);
  const stream = new Utf8Stream(texts, false);
  const spaced = vocab !== null && vocab.separator === ' ';
  let scratch = new Uint8Array(4096);
  for (let i = 0; i < n; i++) {
    const id = Number(ids[i]);
    const k = vocab ? tokenIndex(vocab, id) : -1;
    const sep = spaced && i > 0 ? ' ' : '';
    if (!vocab || k < 0) {
      stream.flush();
      texts[i] = sep + unknownTokenText(id);
      kinds[i] = 'unknown';
      continue;
    }
    const piece = vocab.pieces[k];
    pieces[i] = piece;
    if (vocab.special[k]) {
      stream.flush();
      texts[i] = sep + piece;
      kinds[i] = 'special';
      continue;
    }
    kinds[i] = 'text';
    if (vocab.kind === 'wordpiece') {
      texts[i] = continuation(vocab, piece) ? piece.slice(vocab.continuingPrefix.length) : sep + piece;
      continue;
    }
    if (sep) stream.push(i, 0x20);
    if (scratch.length < piece.length * 3 + 1) scratch = new Uint8Array(piece.length * 3 + 1);
    const count = writePieceBytes(vocab, piece, scratch);
    hadBytes[i] = count > 0 ? 1 : 0;
    stream.pushAll(i, scratch, count);
  }
  stream.flush();
  const out = new Array<TokenSegment>(n);
  for (let i = 0; i < n; i++) {
    const kind = kinds[i] === 'text' && hadBytes[i] && texts[i] === '' ? 'partial' : kinds[i];
    out[i] = { id: Number(ids[i]), text: texts[i], kind, piece: pieces[i] };
  }
  return out;
}

/**
 * One token on its own, as text (for a hover or a top-k list): " the" for "Ġthe", "ing" for "##ing",
 * special tokens as written, ‹id› without a string. Bytes that do not form a character on their own (half of
 * an emoji) show as \xF0\x9F.
 */
export function tokenText(vocab: Vocabulary | null, id: number): string {
  const k = vocab ? tokenIndex(vocab, id) : -1;
  if (!vocab || k < 0) return unknownTokenText(id);
  const piece = vocab.pieces[k];
  if (vocab.special[k]) return piece;
  if (vocab.kind === 'wordpiece') return continuation(vocab, piece) ? piece.slice(vocab.continuingPrefix.length) : piece;
  const texts = [''];
  const stream = new Utf8Stream(texts, true);
  const bytes = pieceBytes(vocab, piece);
  for (let j = 0; j < bytes.length; j++) stream.push(0, bytes[j]);
  stream.flush();
  return texts[0];
}

const VISIBLE: Record<string, string> = {
  ' ': '\u2423', // ␣
  '\n': '\u21b5', // ↵
  '\t': '\u21e5', // ⇥
  '\r': '\u240d', // ␍
  '\u00a0': '\u237d', // ⍽ (no-break space)
  '\u007f': '\u2421', // ␡
};

/**
 * Makes whitespace and invisible characters visible, for hover text: space ␣, newline ↵, tab ⇥, CR ␍,
 * other C0 controls as their control pictures (␀…␟), other invisible or format characters (zero-width
 * space, BOM, NBSP variants, C1 controls) as \u{200B}.
 */
export function visibleWhitespace(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Z}]/gu, (ch) => {
    const v = Object.prototype.hasOwnProperty.call(VISIBLE, ch) ? VISIBLE[ch] : undefined;
    if (v) return v;
    const c = ch.codePointAt(0) as number;
    if (c < 0x20) return String.fromCharCode(0x2400 + c);
    return `\\u{${c.toString(16).toUpperCase().padStart(4, '0')}}`;
  });
}

/** tokenText() with whitespace made visible: what a hover shows for a token ("␣the", "↵"). */
export function tokenLabel(vocab: Vocabulary | null, id: number): string {
  return visibleWhitespace(tokenText(vocab, id));
}
