// python/cross_entropy_lens.py's tokenizer= option, run with /usr/bin/python3 and NumPy: the payload
// carries exactly the strings the token view needs (targets, argmax and top-5 predictions; expected sets
// computed here with a full argsort, not the helper's argpartition), stays small for V = 50,257, and
// decodes on the TypeScript side into the text the targets spell.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { decodeTokenizerOption } from '../../../src/tensor/text/vocab';
import { renderTokens } from '../../../src/tensor/text/tokenText';

const ROOT = path.resolve(__dirname, '../../..');

interface Case {
  strings: Record<string, string>;
  kind: string;
  special: number[];
  separator?: string;
}
interface Out {
  cases: Record<string, { option: Case; expected: number[]; optionBytes: number; vocabBytes?: number; targets?: number[] }>;
  errors: Record<string, string>;
}

function runPython(body: string): Out {
  const py = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'python'))})
import numpy as np
import cross_entropy_lens as cel
from cross_entropy_lens import to_payload
V = 50257
rng = np.random.default_rng(7)

def top5_expected(x, axis, t, ignore_index=-100):
    # Oracle: a full argsort along the class axis (the helper uses argpartition + argmax).
    order = np.argsort(-np.moveaxis(x, axis, -1), axis=-1, kind="stable")[..., :5]
    ids = set(int(i) for i in order.ravel())
    ids |= set(int(i) for i in np.asarray(t).ravel() if i != ignore_index and i >= 0)
    return sorted(ids)

cases = {}
errors = {}
${body}
print(json.dumps({"cases": cases, "errors": errors}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Out;
}

describe('python/cross_entropy_lens.py tokenizer= (run with /usr/bin/python3 and NumPy)', function () {
  this.timeout(60_000);
  let out: Out;

  before(function () {
    if (spawnSync('/usr/bin/python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status !== 0) this.skip();
    out = runPython(`
# A fake Hugging Face slow GPT-2 tokenizer: convert_ids_to_tokens, __len__, all_special_ids, byte_encoder.
class FakeGPT2:
    byte_encoder = {32: "\\u0120"}
    all_special_ids = [V - 1]
    def __len__(self):
        return V
    def piece(self, i):
        return "<|endoftext|>" if i == V - 1 else {15496: "Hello", 995: "\\u0120world", 0: "!", 198: "\\u010a"}.get(i, "\\u0120w%d" % i)
    def convert_ids_to_tokens(self, ids):
        if isinstance(ids, int):
            return self.piece(ids)
        return [self.piece(i) for i in ids]

tok = FakeGPT2()
x = rng.normal(size=(1, 16, V)).astype(np.float32)
t = rng.integers(0, V, size=(1, 16))
t[0, :5] = [15496, 995, 0, 198, V - 1]
t[0, 7] = -100
p = to_payload(x, t, class_dim=-1, tokenizer=tok)
opt = p["options"]["tokenizer"]
cases["gpt2"] = {"option": opt, "expected": top5_expected(x, 2, t), "optionBytes": len(json.dumps(opt)),
                 "vocabBytes": len(json.dumps({str(i): tok.piece(i) for i in range(V)})), "targets": t[0, :5].tolist()}

# A list of strings, logits [B, C, T] with the default class_dim=1, ignore_index 255, int16 targets.
words = ["w%d" % i for i in range(V)]
x2 = rng.normal(size=(2, V, 6)).astype(np.float32)
t2 = rng.integers(0, V, size=(2, 6)).astype(np.int32)
t2[1, 2] = 255
p2 = to_payload(x2, t2, ignore_index=255, tokenizer=words)
e2 = top5_expected(x2, 1, t2, 255)
cases["list"] = {"option": p2["options"]["tokenizer"], "expected": e2, "optionBytes": len(json.dumps(p2["options"]["tokenizer"]))}

# Only decode(): strings are decode([id]), kind plain. 1-D input (C) with a 0-d target.
class DecodeOnly:
    def __len__(self):
        return 10
    def decode(self, ids):
        return " tok%d" % ids[0]
x3 = np.arange(10, dtype=np.float64)
p3 = to_payload(x3, np.array(2), tokenizer=DecodeOnly())
cases["decode"] = {"option": p3["options"]["tokenizer"], "expected": [2, 5, 6, 7, 8, 9], "optionBytes": 0}

# Scheme detection from a fast tokenizer's backend (decoder state as JSON bytes), sp_model, wordpiece_tokenizer.
class Decoder:
    def __init__(self, state):
        self.state = state
    def __getstate__(self):
        return self.state
class Backend:
    def __init__(self, state):
        self.decoder = Decoder(state)
        self.pre_tokenizer = None
        self.normalizer = None
        self.model = None
class Fast:
    def __init__(self, state, pieces):
        self.backend_tokenizer = Backend(state)
        self.pieces = pieces
    def __len__(self):
        return len(self.pieces)
    def convert_ids_to_tokens(self, ids):
        return [self.pieces[i] for i in ids]
x4 = np.array([[0.0, 5.0, 1.0, 2.0, 3.0, 4.0, -1.0]])
pieces = ["<s>", "\\u2581the", "<0x0A>", "s", "\\u2581cat", ".", "x"]
meta = Fast('{"type":"Metaspace","replacement":"\\u2581","prepend_scheme":"always","split":true}'.encode("utf-8"), pieces)
cases["metaspace"] = {"option": to_payload(x4, np.array([2]), tokenizer=meta)["options"]["tokenizer"], "expected": [1, 2, 3, 4, 5], "optionBytes": 0}
bl = Fast(b'{"type":"Sequence","decoders":[{"type":"ByteLevel"}]}', pieces)
cases["bytelevel"] = {"option": to_payload(x4, np.array([2]), tokenizer=bl)["options"]["tokenizer"], "expected": [1, 2, 3, 4, 5], "optionBytes": 0}
class SlowSp:
    sp_model = object()
    def convert_ids_to_tokens(self, ids):
        return ["p%d" % i for i in ids]
cases["sp"] = {"option": to_payload(x4, np.array([0]), tokenizer=SlowSp())["options"]["tokenizer"], "expected": [0, 1, 2, 3, 4, 5], "optionBytes": 0}
class SlowWp:
    wordpiece_tokenizer = object()
    all_special_ids = [0, 6]
    def convert_ids_to_tokens(self, ids):
        return ["[CLS]" if i == 0 else "##p%d" % i for i in ids]
cases["wp"] = {"option": to_payload(x4, np.array([0]), tokenizer=SlowWp())["options"]["tokenizer"], "expected": [0, 1, 2, 3, 4, 5], "optionBytes": 0}

# Probability targets: their argmax stands for the target. Above the top-5 limit only the argmax is sent.
probs = np.zeros((3, 7)); probs[0, 6] = 1; probs[1, 6] = 0.6; probs[1, 0] = 0.4; probs[2, 3] = 1
x5 = np.tile(np.arange(7.0), (3, 1))
cases["probs"] = {"option": to_payload(x5, probs, tokenizer=pieces)["options"]["tokenizer"], "expected": [2, 3, 4, 5, 6], "optionBytes": 0}
cel._TOP_K_MAX_ELEMENTS = 10
cases["argmaxOnly"] = {"option": to_payload(x5, probs, tokenizer=pieces)["options"]["tokenizer"], "expected": [3, 6], "optionBytes": 0}
cel._TOP_K_MAX_ELEMENTS = 1 << 26

for name, bad in [("int", 5), ("dict", {"a": 1})]:
    try:
        to_payload(x4, np.array([0]), tokenizer=bad)
        errors[name] = ""
    except TypeError as e:
        errors[name] = str(e)
`);
  });

  it('sends exactly the target, argmax and top-5 ids of a [1, 16, 50257] batch, a few KB instead of the vocabulary', function () {
    const c = out.cases.gpt2;
    const keys = Object.keys(c.option.strings).map(Number).sort((a, b) => a - b);
    assert.deepEqual(keys, c.expected);
    assert.ok(keys.length <= 16 * 6, `${keys.length} strings`);
    assert.equal(c.option.kind, 'byte-level-bpe');
    assert.deepEqual(c.option.special, [50256]);
    assert.equal(c.option.strings['995'], 'Ġworld');
    assert.equal(c.option.strings['50256'], '<|endoftext|>');
    assert.ok(!('-100' in c.option.strings));
    assert.ok(c.optionBytes < 4096, `option is ${c.optionBytes} bytes`);
    assert.ok(c.vocabBytes! > 100 * c.optionBytes, `whole vocabulary ${c.vocabBytes} bytes`);
  });

  it('decodes on the TypeScript side into the text the targets spell', function () {
    const v = decodeTokenizerOption(out.cases.gpt2.option);
    const segs = renderTokens(v, out.cases.gpt2.targets!);
    assert.deepEqual(segs.map((s) => s.text), ['Hello', ' world', '!', '\n', '<|endoftext|>']);
    assert.equal(segs[4].kind, 'special');
  });

  it('reads a list of strings with the class axis at 1 and a custom ignore_index', function () {
    const c = out.cases.list;
    assert.deepEqual(Object.keys(c.option.strings).map(Number).sort((a, b) => a - b), c.expected);
    assert.ok(!('255' in c.option.strings) || c.expected.includes(255));
    for (const [k, s] of Object.entries(c.option.strings)) assert.equal(s, `w${k}`);
    assert.equal(c.option.kind, 'plain');
    assert.equal(c.option.separator, ' ');
    assert.ok(c.optionBytes < 2048);
  });

  it('falls back on decode([id]) with kind plain', function () {
    const c = out.cases.decode;
    assert.deepEqual(c.option.strings, Object.fromEntries(c.expected.map((i) => [String(i), ` tok${i}`])));
    assert.equal(c.option.kind, 'plain');
    assert.equal(c.option.separator, undefined);
  });

  it('tells the scheme from the tokenizer: backend decoder, sp_model, wordpiece_tokenizer', function () {
    assert.equal(out.cases.metaspace.option.kind, 'sentencepiece');
    assert.equal(out.cases.bytelevel.option.kind, 'byte-level-bpe');
    assert.equal(out.cases.sp.option.kind, 'sentencepiece');
    assert.equal(out.cases.wp.option.kind, 'wordpiece');
    assert.deepEqual(out.cases.wp.option.special, [0]);
    for (const name of ['metaspace', 'bytelevel', 'sp', 'wp']) {
      assert.deepEqual(Object.keys(out.cases[name].option.strings).map(Number).sort((a, b) => a - b), out.cases[name].expected, name);
    }
    const v = decodeTokenizerOption(out.cases.metaspace.option);
    assert.equal(renderTokens(v, [1, 4, 3, 2]).map((s) => s.text).join(''), ' the cats\n');
  });

  it('uses the argmax of probability targets, and sends the argmax only above the top-5 size limit', function () {
    assert.deepEqual(Object.keys(out.cases.probs.option.strings).map(Number), out.cases.probs.expected);
    assert.deepEqual(Object.keys(out.cases.argmaxOnly.option.strings).map(Number), out.cases.argmaxOnly.expected);
  });

  it('refuses other tokenizer values with a TypeError', function () {
    assert.match(out.errors.int, /tokenizer must be a Hugging Face tokenizer/);
    assert.match(out.errors.dict, /tokenizer must be a Hugging Face tokenizer/);
  });
});
