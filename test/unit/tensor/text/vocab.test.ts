// Vocabularies for the token view: Hugging Face tokenizer.json layouts (BPE byte-level, WordPiece, Unigram,
// SentencePiece-style BPE), vocab.json and vocab.txt, written out by hand here with the text they must read
// as; hostile files; and the UTF-8 stream decoding checked against the platform's TextDecoder.
import * as assert from 'node:assert/strict';
import { LensError } from '../../../../src/errors';
import {
  BYTE_TO_CHAR,
  CHAR_TO_BYTE,
  MAX_PIECE_LENGTH,
  MAX_TOKEN_ID,
  decodeTokenizerOption,
  findVocabularyCandidates,
  isSpecialToken,
  parseVocabulary,
  subsetVocabulary,
  tokenIndex,
  tokenPiece,
  vocabularyFromStrings,
  type Vocabulary,
} from '../../../../src/tensor/text/vocab';
import { renderTokens, tokenLabel, tokenText, visibleWhitespace } from '../../../../src/tensor/text/tokenText';

function lensError(fn: () => unknown, re: RegExp, file?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LensError, `not a LensError: ${String(e)}`);
    assert.doesNotMatch(e.message, /[\r\n]/, 'one line');
    assert.ok(e.message.length < 400, `short: ${e.message.length} characters`);
    if (file) assert.ok(e.message.startsWith(`${file}: `), `names the file: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

/** Ids of the given pieces, looked up by scanning (independent of tokenIndex). */
function idsOf(v: Vocabulary, pieces: readonly string[]): number[] {
  return pieces.map((p) => {
    const i = v.pieces.indexOf(p);
    assert.ok(i >= 0, `piece ${p} missing`);
    return v.ids[i];
  });
}

function texts(v: Vocabulary | null, ids: number[]): string[] {
  return renderTokens(v, ids).map((s) => s.text);
}

// GPT-2's tokenizer.json layout, abridged: byte-level pre-tokenizer and decoder, BPE model with merges.
const GPT2 = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE',
    dropout: null,
    unk_token: null,
    continuing_subword_prefix: '',
    end_of_word_suffix: '',
    fuse_unk: false,
    byte_fallback: false,
    vocab: {
      '!': 0,
      Hello: 15496,
      'Ġworld': 995,
      'Ċ': 198,
      'ĉ': 197,
      'Ġthe': 262,
      'âĢĶ': 960, // E2 80 94: an em dash
      'ðŁ': 8582, // F0 9F: the first half of an emoji
      'ĺ': 246, // 98
      'Ģ': 222, // 80: with the two above, F0 9F 98 80 = 😀
      'ĠĠ': 220,
      'Ã©': 2634, // C3 A9: é
      '<|endoftext|>': 50256,
    },
    merges: ['Ġ t', 'Ġt he', 'Ġ w'],
  },
};

// BERT's layout: WordPiece model, BertPreTokenizer, WordPiece decoder.
const BERT = {
  version: '1.0',
  added_tokens: [
    { id: 0, content: '[PAD]', special: true },
    { id: 100, content: '[UNK]', special: true },
    { id: 101, content: '[CLS]', special: true },
    { id: 102, content: '[SEP]', special: true },
  ],
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }], special_tokens: { '[CLS]': { id: '[CLS]', ids: [101], tokens: ['[CLS]'] } } },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: { '[PAD]': 0, '[UNK]': 100, '[CLS]': 101, '[SEP]': 102, the: 1996, play: 2377, '##ing': 2075, '##s': 2015, '.': 1012, '#': 1001 } },
};

// T5's layout: Unigram model (a list of [piece, score], the index is the id), Metaspace; with byte fallback.
const UNIGRAM = {
  version: '1.0',
  added_tokens: [
    { id: 0, content: '<pad>', special: true },
    { id: 1, content: '</s>', special: true },
    { id: 2, content: '<unk>', special: true },
  ],
  normalizer: { type: 'Precompiled', precompiled_charsmap: 'ALQCAACEAAAAAACAAQAAgMz8AgC4BQAAhyIAgMzkAgC4PQAAeyIAgMzsAgC4BQAAiyIAgMw8AADNvAAAmwkAgJ4JAIChCQCAgwAAAIEAAACdCQCAyQkAgOoBAIA=' },
  pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }] },
  decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  model: {
    type: 'Unigram',
    unk_id: 2,
    byte_fallback: true,
    vocab: [['<pad>', 0.0], ['</s>', 0.0], ['<unk>', 0.0], ['▁the', -3.1], ['▁cat', -9.2], ['s', -4.5], ['<0x0A>', 0.0], ['<0xE2>', 0.0], ['<0x80>', 0.0], ['<0x94>', 0.0], ['▁', -2.0], ['.', -3.3]],
  },
};

// Llama 2's layout: BPE with byte_fallback, SentencePiece spaces done by the normalizer and a decoder sequence.
const LLAMA2 = {
  version: '1.0',
  added_tokens: [
    { id: 0, content: '<unk>', special: true },
    { id: 1, content: '<s>', special: true },
    { id: 2, content: '</s>', special: true },
  ],
  normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
  pre_tokenizer: null,
  decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
  model: { type: 'BPE', byte_fallback: true, fuse_unk: true, vocab: { '<unk>': 0, '<s>': 1, '</s>': 2, '<0x0A>': 13, '▁Hello': 15043, '▁world': 3186, '!': 29991 }, merges: ['▁ H'] },
};

describe('vocabulary: byte-level BPE (GPT-2 tokenizer.json)', function () {
  const v = parseVocabulary('models/gpt2/tokenizer.json', JSON.stringify(GPT2));

  it('reads the vocab table, the special token and the scheme', function () {
    assert.equal(v.kind, 'byte-level-bpe');
    assert.equal(v.model, 'BPE');
    assert.equal(v.format, 'tokenizer.json');
    assert.equal(v.size, 50257);
    assert.equal(v.ids.length, 13);
    assert.equal(tokenPiece(v, 995), 'Ġworld');
    assert.equal(tokenPiece(v, 50256), '<|endoftext|>');
    assert.equal(tokenPiece(v, 1), null);
    assert.equal(tokenPiece(v, -100), null);
    assert.equal(tokenPiece(v, 2.5), null);
    assert.equal(isSpecialToken(v, 50256), true);
    assert.equal(isSpecialToken(v, 995), false);
    assert.match(v.note, /BPE, byte-level, 13 tokens \(1 special\)/);
  });

  it('decodes byte-level pieces: Hello Ġworld ! Ċ reads "Hello world!\\n"', function () {
    const seq = [15496, 995, 0, 198];
    assert.deepEqual(texts(v, seq), ['Hello', ' world', '!', '\n']);
    assert.equal(texts(v, seq).join(''), 'Hello world!\n');
    assert.deepEqual(texts(v, [197, 262, 960, 220, 2634]), ['\t', ' the', '\u2014', '  ', '\u00e9']);
  });

  it('gives a character split over tokens to the token that completes it; specials stay as written', function () {
    const segs = renderTokens(v, [15496, 8582, 246, 222, 50256, 995]);
    assert.deepEqual(segs.map((s) => s.text), ['Hello', '', '', '\u{1F600}', '<|endoftext|>', ' world']);
    assert.deepEqual(segs.map((s) => s.kind), ['text', 'partial', 'partial', 'text', 'special', 'text']);
    assert.deepEqual(segs.map((s) => s.piece), ['Hello', 'ðŁ', 'ĺ', 'Ģ', '<|endoftext|>', 'Ġworld']);
    // An unfinished character cut off by a special token, or by the end, is one U+FFFD.
    assert.deepEqual(texts(v, [8582, 50256, 8582]), ['\uFFFD', '<|endoftext|>', '\uFFFD']);
  });

  it('shows ids without a string (ignore_index, out of range) as ‹id›, and all ids without a vocabulary', function () {
    const segs = renderTokens(v, [15496, -100, 99999]);
    assert.deepEqual(segs.map((s) => s.text), ['Hello', '‹-100›', '‹99999›']);
    assert.deepEqual(segs.map((s) => s.kind), ['text', 'unknown', 'unknown']);
    assert.deepEqual(texts(null, [5, 7]), ['‹5›', '‹7›']);
    assert.deepEqual(renderTokens(null, BigInt64Array.of(3n)).map((s) => s.text), ['‹3›']);
  });

  it('renders single tokens for hovers, with visible whitespace and escaped half characters', function () {
    assert.equal(tokenText(v, 995), ' world');
    assert.equal(tokenLabel(v, 995), '␣world');
    assert.equal(tokenLabel(v, 198), '↵');
    assert.equal(tokenLabel(v, 197), '⇥');
    assert.equal(tokenText(v, 8582), '\\xF0\\x9F');
    assert.equal(tokenText(v, 50256), '<|endoftext|>');
    assert.equal(tokenText(v, 7), '‹7›');
    assert.equal(tokenText(null, 7), '‹7›');
  });

  it('uses GPT-2 bytes_to_unicode (values from the table written out by hand)', function () {
    const expected: [number, string][] = [[0x20, 'Ġ'], [0x0a, 'Ċ'], [0x09, 'ĉ'], [0x00, 'Ā'], [0x7f, 'ġ'], [0x80, 'Ģ'], [0x94, 'Ķ'], [0xa0, 'ł'], [0xad, 'Ń'], [0x21, '!'], [0x7e, '~'], [0xa1, '¡'], [0xe2, 'â'], [0xff, 'ÿ']];
    for (const [b, ch] of expected) {
      assert.equal(String.fromCharCode(BYTE_TO_CHAR[b]), ch, `byte ${b}`);
      assert.equal(CHAR_TO_BYTE[ch.charCodeAt(0)], b);
    }
    assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  });
});

describe('vocabulary: other tokenizer.json layouts', function () {
  it('WordPiece (BERT): ## joins the previous token, others get a space', function () {
    const v = parseVocabulary('tokenizer.json', JSON.stringify(BERT));
    assert.equal(v.kind, 'wordpiece');
    assert.equal(v.model, 'WordPiece');
    assert.equal(v.continuingPrefix, '##');
    const seq = [101, 1996, 2377, 2075, 2377, 2015, 1012, 102];
    assert.deepEqual(texts(v, seq), ['[CLS]', ' the', ' play', 'ing', ' play', 's', ' .', ' [SEP]']);
    assert.equal(texts(v, seq).join(''), '[CLS] the playing plays . [SEP]');
    assert.deepEqual(renderTokens(v, seq).map((s) => s.kind), ['special', 'text', 'text', 'text', 'text', 'text', 'text', 'special']);
    assert.equal(tokenText(v, 2075), 'ing');
    assert.equal(tokenText(v, 1001), '#');
    assert.equal(isSpecialToken(v, 0), true);
  });

  it('Unigram (T5 layout) with byte fallback: ▁ is a space, <0x0A> a newline, bytes join into characters', function () {
    const v = parseVocabulary('t5/tokenizer.json', JSON.stringify(UNIGRAM));
    assert.equal(v.kind, 'sentencepiece');
    assert.equal(v.model, 'Unigram');
    assert.equal(v.size, 12);
    assert.equal(v.ids.length, 12);
    const seq = idsOf(v, ['▁the', '▁cat', 's', '<0x0A>', '.', '</s>']);
    assert.deepEqual(seq, [3, 4, 5, 6, 11, 1]);
    assert.deepEqual(texts(v, seq), [' the', ' cat', 's', '\n', '.', '</s>']);
    const dash = renderTokens(v, [3, 7, 8, 9, 10]);
    assert.deepEqual(dash.map((s) => s.text), [' the', '', '', '\u2014', ' ']);
    assert.deepEqual(dash.map((s) => s.kind), ['text', 'partial', 'partial', 'text', 'text']);
    assert.equal(tokenLabel(v, 6), '↵');
    assert.equal(tokenText(v, 7), '\\xE2');
  });

  it('Llama 2 layout (BPE, byte_fallback, Replace/ByteFallback decoder) reads as SentencePiece', function () {
    const v = parseVocabulary('tokenizer.json', new TextEncoder().encode(JSON.stringify(LLAMA2)));
    assert.equal(v.kind, 'sentencepiece');
    assert.equal(v.byteFallback, true);
    assert.equal(texts(v, [1, 15043, 3186, 29991, 13]).join(''), '<s> Hello world!\n');
  });

  it('Llama 3 layout: Sequence pre-tokenizer with ByteLevel, special tokens far above the model vocabulary', function () {
    const doc = {
      added_tokens: [{ id: 128000, content: '<|begin_of_text|>', special: true }, { id: 128009, content: '<|eot_id|>', special: true }],
      pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '\\p{N}{1,3}' }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', ignore_merges: true, vocab: { Hi: 13347, 'Ġthere': 1070, 'ĊĊ': 271 }, merges: [['Ġ', 't']] },
    };
    const v = parseVocabulary('tokenizer.json', JSON.stringify(doc));
    assert.equal(v.kind, 'byte-level-bpe');
    assert.equal(v.size, 128010);
    assert.equal(v.ids.length, 5); // sparse: no array of 128010 slots
    assert.equal(tokenIndex(v, 128009), 4);
    assert.equal(tokenIndex(v, 128008), -1);
    assert.equal(texts(v, [128000, 13347, 1070, 271, 128009]).join(''), '<|begin_of_text|>Hi there\n\n<|eot_id|>');
  });

  it('CLIP layout: a </w> end-of-word suffix reads as a space', function () {
    const doc = { pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'ByteLevel' }] }, decoder: { type: 'BPEDecoder', suffix: '</w>' }, model: { type: 'BPE', end_of_word_suffix: '</w>', vocab: { 'a</w>': 0, 'ph': 1, 'oto</w>': 2 } } };
    const v = parseVocabulary('tokenizer.json', JSON.stringify(doc));
    assert.equal(texts(v, [0, 1, 2]).join(''), 'a photo ');
  });

  it('an added token overrides the model entry for its id; a BPE without decoder falls back on its pieces', function () {
    const doc = { added_tokens: [{ id: 1, content: '<mask>', special: true }], model: { type: 'BPE', vocab: { a: 0, b: 1, '▁c': 2 } } };
    const v = parseVocabulary('tokenizer.json', JSON.stringify(doc));
    assert.equal(tokenPiece(v, 1), '<mask>');
    assert.equal(isSpecialToken(v, 1), true);
    assert.equal(v.kind, 'sentencepiece');
  });
});

describe('vocabulary: vocab.json and vocab.txt', function () {
  it('vocab.json {token: id} (GPT-2 encoder.json) is byte-level; <|endoftext|> is flagged special by name', function () {
    const v = parseVocabulary('vocab.json', JSON.stringify({ '<|endoftext|>': 3, Hello: 0, 'Ġworld': 1, 'Ċ': 2 }));
    assert.equal(v.format, 'vocab.json');
    assert.equal(v.kind, 'byte-level-bpe');
    assert.equal(texts(v, [0, 1, 2, 3]).join(''), 'Hello world\n<|endoftext|>');
    assert.equal(isSpecialToken(v, 3), true);
  });

  it('vocab.txt (BERT): the line index is the id, CRLF and a final newline handled, ## read as WordPiece', function () {
    const v = parseVocabulary('bert/vocab.txt', Buffer.from('[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n##s\r\n\r\nworld\r\n'));
    assert.equal(v.format, 'vocab.txt');
    assert.equal(v.kind, 'wordpiece');
    assert.equal(v.size, 8);
    assert.equal(tokenPiece(v, 6), ''); // an empty line is an empty token at its index
    assert.equal(tokenPiece(v, 7), 'world');
    assert.equal(texts(v, [2, 4, 5, 7, 3]).join(''), '[CLS] hellos world [SEP]');
    assert.equal(isSpecialToken(v, 2), true);
  });

  it('plain vocab.txt: words get spaces between them, characters do not', function () {
    const words = parseVocabulary('vocab.txt', 'the\ncat\nsat\n<eos>\n');
    assert.equal(words.kind, 'plain');
    assert.equal(texts(words, [0, 1, 2]).join(''), 'the cat sat');
    const chars = parseVocabulary('chars.txt', 'a\nb\n \n');
    assert.equal(texts(chars, [0, 2, 1]).join(''), 'a b');
  });

  it('a SentencePiece .vocab export ("piece<TAB>score") and a name-less file sniffed by content', function () {
    const v = parseVocabulary('spm.vocab', '<unk>\t0\n▁the\t-3.25\n▁cat\t-1e+01\n');
    assert.equal(v.kind, 'sentencepiece');
    assert.equal(texts(v, [1, 2]).join(''), ' the cat');
    assert.equal(parseVocabulary('vocabulary', '{"a": 0}').format, 'vocab.json');
    assert.equal(parseVocabulary('vocabulary', 'a\nb\n').format, 'vocab.txt');
  });

  it('duplicate ids: the later entry in the file wins (integer-like keys too)', function () {
    const v = parseVocabulary('vocab.json', '{"a": 1, "b": 1, "c": 0}');
    assert.equal(tokenPiece(v, 1), 'b');
    assert.equal(tokenPiece(v, 0), 'c');
    assert.equal(v.ids.length, 2);
    // JSON.parse would list "7" before "x"; file order is kept here.
    assert.equal(tokenPiece(parseVocabulary('vocab.json', '{"x": 5, "7": 5}'), 5), '7');
    assert.equal(tokenPiece(parseVocabulary('vocab.json', '{"7": 5, "x": 5}'), 5), 'x');
  });
});

describe('vocabulary: hostile files', function () {
  it('refuses a 70 MiB file before reading it', function () {
    const t0 = Date.now();
    lensError(() => parseVocabulary('big/tokenizer.json', new Uint8Array(70 * 2 ** 20)), /70\.0 MB is over the 64 MB limit/, 'big/tokenizer.json');
    assert.ok(Date.now() - t0 < 200);
  });

  it('refuses invalid JSON, non-UTF-8 JSON, wrong shapes and tokenizer_config.json with one line naming the file', function () {
    lensError(() => parseVocabulary('tokenizer.json', '{"model": {"vocab": {"a": 0}'), /is not valid JSON/, 'tokenizer.json');
    lensError(() => parseVocabulary('tokenizer.json', Uint8Array.of(0x7b, 0x22, 0xff, 0x22, 0x3a, 0x30, 0x7d)), /not UTF-8/, 'tokenizer.json');
    lensError(() => parseVocabulary('vocab.json', '[1, 2]'), /expected a JSON object.*found a list/, 'vocab.json');
    lensError(() => parseVocabulary('tokenizer.json', '{"model": {"type": "BPE"}}'), /has no vocab table/, 'tokenizer.json');
    lensError(() => parseVocabulary('tokenizer.json', '{"model": {"type": "Unigram", "vocab": [["a", 0], [5, 0]]}}'), /model\.vocab\[1\]/, 'tokenizer.json');
    lensError(() => parseVocabulary('tokenizer.json', '{"model": {"vocab": {}}, "added_tokens": [{"id": 1}]}'), /added_tokens\[0\]/, 'tokenizer.json');
    lensError(() => parseVocabulary('tokenizer_config.json', '{"added_tokens_decoder": {}, "model_max_length": 512}'), /tokenizer_config\.json, which holds no vocabulary/);
    lensError(() => parseVocabulary('tokenizer.model', Uint8Array.of(10, 5)), /SentencePiece \.model/, 'tokenizer.model');
    lensError(() => parseVocabulary('gpt2/merges.txt', '#version: 0.2\nĠ t\nĠ a\n'), /merges\.txt \(merge rules, not a vocabulary\)/, 'gpt2/merges.txt');
  });

  it('refuses ids that are huge, negative, fractional or not numbers', function () {
    lensError(() => parseVocabulary('vocab.json', '{"a": 1000000000000}'), new RegExp(`1000000000000: ids above ${MAX_TOKEN_ID} are not supported`), 'vocab.json');
    lensError(() => parseVocabulary('vocab.json', '{"a": -1}'), /"a" has id -1: expected an integer id/, 'vocab.json');
    lensError(() => parseVocabulary('vocab.json', '{"a": 1.5}'), /has id 1\.5/, 'vocab.json');
    lensError(() => parseVocabulary('vocab.json', '{"a": "5"}'), /has id "5"/, 'vocab.json');
    lensError(() => parseVocabulary('tokenizer.json', '{"model": {"vocab": {"a": 1e300}}}'), /ids above/, 'tokenizer.json');
  });

  it('cuts a 60 KB token, and a 60 KB token in an error message', function () {
    const long = 'Ġ'.repeat(60_000);
    const v = parseVocabulary('vocab.json', JSON.stringify({ [long]: 0, a: 1 }));
    assert.equal(tokenPiece(v, 0)!.length, MAX_PIECE_LENGTH);
    assert.equal(texts(v, [0, 1]).join(''), ' '.repeat(MAX_PIECE_LENGTH) + 'a');
    assert.match(v.note, /1 over 1024 characters cut/);
    lensError(() => parseVocabulary('vocab.json', JSON.stringify({ [long]: -5 })), /has id -5/, 'vocab.json');
  });

  it('keeps __proto__, constructor and toString as ordinary tokens, without touching Object.prototype', function () {
    const v = parseVocabulary('vocab.json', '{"__proto__": 0, "constructor": 1, "toString": 2, "hasOwnProperty": 3}');
    assert.deepEqual([0, 1, 2, 3].map((i) => tokenPiece(v, i)), ['__proto__', 'constructor', 'toString', 'hasOwnProperty']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const t = parseVocabulary('tokenizer.json', '{"model": {"vocab": {"__proto__": 0, "x": 1}}, "added_tokens": [{"id": 2, "content": "__proto__", "special": true}]}');
    assert.equal(tokenPiece(t, 0), '__proto__');
    assert.equal(tokenPiece(t, 2), '__proto__');
    // A "model" only on the prototype chain is not a model: this reads as vocab.json and fails on the value.
    lensError(() => parseVocabulary('tokenizer.json', '{"__proto__": {"model": {"vocab": {"a": 0}}}}'), /"__proto__" has id object/, 'tokenizer.json');
  });

  it('refuses 100,000 levels of nesting without overflowing the stack', function () {
    lensError(() => parseVocabulary('tokenizer.json', '['.repeat(100_000) + ']'.repeat(100_000)), /not valid JSON \(nesting deeper than 64 levels at line 1 column 65\)/, 'tokenizer.json');
  });

  it('stores a far id sparsely: ids 0 and 16,777,215 take two slots', function () {
    const v = parseVocabulary('vocab.json', `{"a": 0, "z": ${MAX_TOKEN_ID}}`);
    assert.equal(v.size, MAX_TOKEN_ID + 1);
    assert.equal(v.ids.length, 2);
    assert.equal(tokenPiece(v, MAX_TOKEN_ID), 'z');
    assert.equal(tokenPiece(v, 1), null);
  });
});

describe('vocabulary: scale', function () {
  it('parses a 262,144-entry tokenizer.json well under a second and renders 100,000 tokens quickly', function () {
    const vocab: Record<string, number> = {};
    const name = (i: number): string => (i % 3 === 0 ? 'Ġ' : '') + 'tok' + i.toString(36);
    for (let i = 0; i < 262_144; i++) vocab[name(i)] = i;
    const text = JSON.stringify({ model: { type: 'BPE', vocab, merges: [] }, decoder: { type: 'ByteLevel' }, added_tokens: [{ id: 0, content: '<|x|>', special: true }] });
    // Warm the JIT on a small file first: the figure is the reader's throughput, not compile time.
    parseVocabulary('tokenizer.json', JSON.stringify({ model: { type: 'BPE', vocab: Object.fromEntries(Object.entries(vocab).slice(0, 4096)) } }));
    const t0 = performance.now();
    const v = parseVocabulary('tokenizer.json', text);
    const parseMs = performance.now() - t0;
    assert.equal(v.ids.length, 262_144);
    assert.equal(v.ids.length, v.size); // dense
    assert.equal(tokenPiece(v, 262_142), 'tok5m9q');
    assert.equal(tokenPiece(v, 262_143), 'Ġtok5m9r');
    assert.ok(parseMs < 1000, `parse took ${parseMs.toFixed(0)} ms`);
    if (process.env.VOCAB_TIMING) console.log(`parse ${parseMs.toFixed(0)} ms`);
    const ids = Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 262_144);
    renderTokens(v, ids.slice(0, 4096)); // warm-up, as above
    const t1 = performance.now();
    const segs = renderTokens(v, ids);
    const renderMs = performance.now() - t1;
    assert.equal(segs.length, 100_000);
    assert.equal(segs[3].text, ' tok' + (23_757).toString(36)); // 3 * 7919 = 23757, a multiple of 3: Ġ
    assert.equal(segs[1].text, 'tok' + (7919).toString(36));
    assert.ok(renderMs < 1000, `render took ${renderMs.toFixed(0)} ms`);
    if (process.env.VOCAB_TIMING) console.log(`render ${renderMs.toFixed(0)} ms`);
  });
});

describe('token rendering: UTF-8 across token boundaries', function () {
  // Byte-fallback pieces <0xHH> make any byte sequence a token sequence; the oracle is the platform's
  // streaming TextDecoder fed token by token.
  const bytesVocab = vocabularyFromStrings(Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`), 'bytes', 'sentencepiece');

  it('gives each token what a streaming TextDecoder returns for it, on valid and broken sequences', function () {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const pool = [0x41, 0x20, 0x0a, 0xc3, 0xa9, 0xe2, 0x80, 0x94, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0xe0, 0xf4, 0x90, 0xff, 0xc0, 0xbf];
    for (let trial = 0; trial < 300; trial++) {
      const enc = new TextEncoder().encode('é—😀a\u0800\u{10FFFF}');
      const bytes = rand(3) === 0 ? Array.from(enc) : Array.from({ length: 1 + rand(12) }, () => pool[rand(pool.length)]);
      if (rand(2) === 0) bytes.splice(rand(bytes.length), 1); // cut a character
      const dec = new TextDecoder();
      const expected = bytes.map((b, i) => dec.decode(Uint8Array.of(b), { stream: true }) + (i === bytes.length - 1 ? dec.decode() : ''));
      assert.deepEqual(texts(bytesVocab, bytes), expected, `bytes ${bytes.map((b) => b.toString(16)).join(' ')}`);
      assert.equal(texts(bytesVocab, bytes).join(''), new TextDecoder().decode(Uint8Array.from(bytes)));
    }
  });

  it('tokens holding several bytes each', function () {
    const v = vocabularyFromStrings(['ðŁĺ', 'Ģa', 'Ġb', '中文'], 'list', 'byte-level-bpe');
    assert.deepEqual(texts(v, [0, 1, 2]), ['', '\u{1F600}a', ' b']);
    // A piece with characters outside the byte table is its own UTF-8 (tokenizers' ByteLevel decoder).
    assert.deepEqual(texts(v, [2, 3]), [' b', '中文']);
  });
});

describe('visible whitespace', function () {
  it('marks spaces, newlines, tabs, controls and invisible characters', function () {
    assert.equal(visibleWhitespace(' a\tb\r\n'), '␣a⇥b␍↵');
    assert.equal(visibleWhitespace('\u0000\u001b\u007f'), '␀␛␡');
    assert.equal(visibleWhitespace('a\u200bb\ufeff\u00a0\u3000'), 'a\\u{200B}b\\u{FEFF}⍽\\u{3000}');
    assert.equal(visibleWhitespace('é—😀<b>'), 'é—😀<b>');
  });
});

describe('notebook payload tokenizer option', function () {
  it('decodes {strings, kind, special} into a vocabulary', function () {
    const v = decodeTokenizerOption({ strings: { '15496': 'Hello', '995': 'Ġworld', '50256': '<|endoftext|>' }, kind: 'byte-level-bpe', special: [50256] });
    assert.equal(v.format, 'payload');
    assert.equal(texts(v, [15496, 995, 50256]).join(''), 'Hello world<|endoftext|>');
    assert.equal(isSpecialToken(v, 50256), true);
    const words = decodeTokenizerOption({ strings: { '0': 'the', '1': 'cat' }, kind: 'plain', separator: ' ' });
    assert.equal(texts(words, [0, 1]).join(''), 'the cat');
  });

  it('refuses hostile options with one line naming the place', function () {
    const where = /^payload\.options\.tokenizer/;
    lensError(() => decodeTokenizerOption('x'), where);
    lensError(() => decodeTokenizerOption({ strings: {}, kind: 'bpe' }), /\.kind must be one of/);
    lensError(() => decodeTokenizerOption({ strings: [], kind: 'plain' }), /\.strings must be an object/);
    lensError(() => decodeTokenizerOption(JSON.parse('{"strings": {"__proto__": "x"}, "kind": "plain"}')), /key "__proto__" is not a token id/);
    lensError(() => decodeTokenizerOption({ strings: { '01': 'x' }, kind: 'plain' }), /key "01" is not a token id/);
    lensError(() => decodeTokenizerOption({ strings: { '1000000000000': 'x' }, kind: 'plain' }), /is not a token id/);
    lensError(() => decodeTokenizerOption({ strings: { '1': 5 }, kind: 'plain' }), /must be a string/);
    lensError(() => decodeTokenizerOption({ strings: { ['x'.repeat(60_000)]: 'x' }, kind: 'plain' }), /is not a token id/);
  });
});

describe('vocabulary helpers', function () {
  it('subsetVocabulary keeps only the ids asked for and the full size', function () {
    const v = parseVocabulary('tokenizer.json', JSON.stringify(GPT2));
    const s = subsetVocabulary(v, [995, 15496, 995, 7, 50256]);
    assert.deepEqual(Array.from(s.ids), [995, 15496, 50256]);
    assert.equal(s.size, 50257);
    assert.deepEqual(texts(s, [15496, 995, 50256]), ['Hello', ' world', '<|endoftext|>']);
    assert.equal(structuredClone(s).pieces[0], 'Ġworld'); // plain data: posts to a worker or webview
  });

  it('findVocabularyCandidates ranks tokenizer.json, vocab.json, vocab.txt, then other names', function () {
    const listing = ['logits.npy', 'labels.npy', 'vocab.txt', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'my_tokenizer.json', 'Vocab.json', 'tokenizer.json', 'gpt2-vocab.json', 'bert-vocab.txt', 'config.json', 'spm.vocab'];
    assert.deepEqual(findVocabularyCandidates(listing, 'logits.npy'), ['tokenizer.json', 'Vocab.json', 'vocab.txt', 'my_tokenizer.json', 'gpt2-vocab.json', 'bert-vocab.txt', 'spm.vocab']);
    assert.deepEqual(findVocabularyCandidates(['gpt2-vocab.json', 'bert-vocab.json'], 'bert_logits.npy'), ['bert-vocab.json', 'gpt2-vocab.json']);
    assert.deepEqual(findVocabularyCandidates(['model.safetensors', 'config.json'], 'x.npy'), []);
  });
});
