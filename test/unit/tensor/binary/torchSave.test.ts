// torch.save files: every value compared with what PyTorch itself loaded (test/fixtures/tensor/torch,
// written by make_torch_fixtures.py with PyTorch 1.13), member paths, role picking, the restricted
// unpickler's refusals (with proof that a malicious file's payload did not run), hostile pickles and
// archives, and the CLI end to end against F.cross_entropy.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { zipSync } from 'fflate';
import { LensError } from '../../../../src/errors';
import { decodeTensorFile, splitMemberSpec } from '../../../../src/tensor/load';
import { PyDict, PyList, unpickle } from '../../../../src/tensor/binary/pickle';
import { readTorchSave, torchSaveTensors } from '../../../../src/tensor/binary/torchSave';
import { type Expected, FIXTURES, assertValues, fixture, fixtureJson, lensError } from '../helpers';

interface Want {
  shape: number[];
  dtype: string;
  torchDType: string;
  values: Expected[];
  contiguous?: boolean;
}
interface Manifest {
  files: Record<string, Record<string, Want>>;
  cli: { args: string[]; value: number; lossShape: number[]; float32: boolean }[];
  malicious: Record<string, { marker: string; global: string }>;
  errors: Record<string, string[]>;
}
const manifest = fixtureJson<Manifest>('torch', 'manifest.json');
const torchFile = (name: string): Uint8Array => fixture('torch', name);

// ---------------------------------------------------------------------------------------------------------
// Hand-written pickles inside a torch zip, for the hostile cases.

const ascii = (s: string): number[] => [...new TextEncoder().encode(s)];
const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
const P = {
  proto: [0x80, 2],
  str: (s: string): number[] => [0x58, ...u32(ascii(s).length), ...ascii(s)],
  int: (n: number): number[] => [0x4a, ...u32(n >>> 0)],
  global: (m: string, n: string): number[] => [0x63, ...ascii(`${m}\n${n}\n`)],
  mark: [0x28],
  tuple: [0x74],
  reduce: [0x52],
  stop: [0x2e],
};

/** _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) over storage '0'. */
function tensorOps(o: { storage?: string; numel: number; offset: number; size: number[]; stride: number[]; key?: string }): number[] {
  return [
    ...P.global('torch._utils', '_rebuild_tensor_v2'), ...P.mark,
    ...P.mark, ...P.str('storage'), ...P.global('torch', o.storage ?? 'FloatStorage'), ...P.str(o.key ?? '0'), ...P.str('cpu'), ...P.int(o.numel), ...P.tuple,
    0x51,
    ...P.int(o.offset),
    ...P.mark, ...o.size.flatMap(P.int), ...P.tuple,
    ...P.mark, ...o.stride.flatMap(P.int), ...P.tuple,
    0x89, ...P.global('collections', 'OrderedDict'), 0x29, ...P.reduce,
    ...P.tuple, ...P.reduce,
  ];
}

function torchZip(pkl: number[] | Uint8Array, storages: Record<string, Uint8Array> = {}, extra: Record<string, string> = {}): Uint8Array {
  const files: Record<string, [Uint8Array, { level: 0 }]> = { 'archive/data.pkl': [Uint8Array.from(pkl), { level: 0 }] };
  for (const [k, v] of Object.entries(storages)) files[`archive/data/${k}`] = [v, { level: 0 }];
  files['archive/version'] = [Uint8Array.from(ascii('3\n')), { level: 0 }];
  for (const [k, v] of Object.entries(extra)) files[`archive/${k}`] = [Uint8Array.from(ascii(v)), { level: 0 }];
  return zipSync(files, { mtime: new Date(1980, 0, 1) });
}

const f32 = (...v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);

/** Every error a hostile input causes must be a one-line LensError, never a RangeError or a crash. */
function onlyLensErrors(run: () => unknown): LensError | undefined {
  try {
    run();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof LensError, `not a LensError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    assert.ok(!/[\r\n]/.test(e.message));
    return e;
  }
}

describe('torch.save: values as PyTorch loaded them', () => {
  for (const [file, members] of Object.entries(manifest.files)) {
    if (file.startsWith('safetensors/') || Object.keys(members).length === 0) continue;
    it(`${file}: lists and decodes ${Object.keys(members).join(', ') || '(bare tensor)'}`, () => {
      const t = readTorchSave(torchFile(file), file);
      assert.deepEqual(t.tensors.map((x) => x.name), Object.keys(members), 'listing in pickle order');
      for (const [member, want] of Object.entries(members)) {
        const info = t.tensors.find((x) => x.name === member)!;
        assert.deepEqual(info.shape, want.shape, `${member}: listed shape`);
        assert.equal(info.torchDType, want.torchDType, `${member}: listed dtype`);
        const got = t.get(member);
        assert.deepEqual(got.shape, want.shape, `${member}: shape`);
        assert.equal(got.dtype, want.dtype, `${member}: dtype`);
        assertValues(got, want.values, `${file}:${member}`);
      }
    });
  }

  it('covers non-contiguous views, a channels-last tensor and storage offsets (the fixture is what it claims)', () => {
    const v = manifest.files['views.pt'];
    for (const k of ['t', 'step', 'corner', 'cl', 'i64_t', 'bf16_t', 'expand']) assert.equal(v[k].contiguous, false, k);
    // A channels-last [2, 3, 4, 5] in C order: element [0, 1, 0, 0] comes from storage index 1, not 20.
    const cl = readTorchSave(torchFile('views.pt')).get('cl');
    assertValues(cl, v.cl.values, 'cl');
  });

  it('reads bfloat16 as float32 exactly and reports the saved dtype', () => {
    const info = torchSaveTensors(torchFile('dtypes.pt')).find((t) => t.name === 'bf16')!;
    assert.equal(info.dtype, 'float32');
    assert.equal(info.torchDType, 'bfloat16');
    const t = readTorchSave(torchFile('dtypes.pt')).get('bf16');
    assert.ok(t.data instanceof Float32Array);
    assertValues(t, manifest.files['dtypes.pt'].bf16.values, 'bf16');
  });

  it('reads only the storage a tensor uses: a corrupt other storage does not matter', () => {
    const bytes = torchFile('pair.pt').slice();
    const t = readTorchSave(bytes);
    // Corrupt the target's storage (int64 [0, 4, 2, 1]: find its bytes) and read the logits.
    const needle = new Uint8Array(BigInt64Array.from([0n, 4n, 2n, 1n]).buffer);
    const at = Buffer.from(bytes).indexOf(Buffer.from(needle));
    assert.ok(at > 0);
    bytes[at + 1] ^= 0xff;
    const again = readTorchSave(bytes, 'p.pt');
    assertValues(again.get('logits'), manifest.files['pair.pt'].logits.values, 'logits');
    assert.match(lensError(() => again.get('target'), 'format').message, /^p\.pt: entry pair\/data\/\d+: bad CRC-32 \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\) — the file is corrupt; re-save it$/);
    assert.equal(t.tensors.length, 2);
  });

  it('names an int64 value that does not fit the kernel, as for .npy', () => {
    const e = lensError(() => decodeTensorFile('o.pt', torchFile('i64_overflow.pt'), 'target'), 'dtype');
    assert.equal(e.message, "o.pt: int64 value 3000000000 at index [1, 1] does not fit the kernel's 32-bit integer type");
  });
});

describe('torch.save: members and roles through decodeTensorFile', () => {
  const want = manifest.files;

  it('splits file.pt:key, file.pth:a.b, file.bin:k and file.safetensors:name, keeping drive letters', () => {
    assert.deepEqual(splitMemberSpec('runs/x.pth:out.logits'), { path: 'runs/x.pth', member: 'out.logits' });
    assert.deepEqual(splitMemberSpec('C:\\d\\m.pt:batch.1'), { path: 'C:\\d\\m.pt', member: 'batch.1' });
    assert.deepEqual(splitMemberSpec('pytorch_model.bin:w'), { path: 'pytorch_model.bin', member: 'w' });
    assert.deepEqual(splitMemberSpec('m.safetensors:model.layers.0.weight'), { path: 'm.safetensors', member: 'model.layers.0.weight' });
    assert.deepEqual(splitMemberSpec('C:\\d\\m.pt'), { path: 'C:\\d\\m.pt' });
    assert.deepEqual(splitMemberSpec('x.npy:m'), { path: 'x.npy:m' });
  });

  it('a bare tensor serves every role; a dict picks logits/target by name', () => {
    assertValues(decodeTensorFile('bare.pt', torchFile('bare.pt'), 'input'), want['bare.pt'][''].values, 'bare');
    assertValues(decodeTensorFile('bare.pt', torchFile('bare.pt'), 'target'), want['bare.pt'][''].values, 'bare');
    assertValues(decodeTensorFile('pair.pt', torchFile('pair.pt'), 'input'), want['pair.pt'].logits.values, 'logits');
    assertValues(decodeTensorFile('pair.pt', torchFile('pair.pt'), 'target'), want['pair.pt'].target.values, 'target');
    const e = lensError(() => decodeTensorFile('pair.pt', torchFile('pair.pt'), 'weight'), 'format');
    assert.equal(e.message, 'pair.pt: no member named like a weight (weight, weights); members: logits [4, 5] float32, target [4] int64 — name one as pair.pt:logits');
  });

  it('follows nested paths, list and tuple indices, integer keys and dotted state_dict keys', () => {
    const nested = torchFile('nested.pth');
    for (const m of ['out.logits', 'out.aux.0', 'batch.1', 'pair.1', 'odd.1']) {
      assertValues(decodeTensorFile('n.pth', nested, 'input', m), want['nested.pth'][m].values, m);
    }
    const sd = torchFile('state_dict.pth');
    for (const m of ['0.weight', '0.bias', '2.weight', '2.bias']) assertValues(decodeTensorFile('s.pth', sd, 'weight', m), want['state_dict.pth'][m].values, m);
    assertValues(decodeTensorFile('pytorch_model.bin', torchFile('pytorch_model.bin'), 'input', 'w'), want['pytorch_model.bin'].w.values, 'w');
    assertValues(decodeTensorFile('p.pt', torchFile('parameter.pt'), 'input', 'p'), want['parameter.pt'].p.values, 'p');
  });

  it('says what a member is when it is not a tensor, or is missing', () => {
    const nested = torchFile('nested.pth');
    const m = (member: string, kind: 'option' | 'format'): string => lensError(() => decodeTensorFile('n.pth', nested, 'input', member), kind).message;
    assert.equal(m('out', 'option'), 'n.pth: member out is a dict, not a tensor; tensors in it: out.logits [3, 4] float64, out.aux.0 [2] float32 — name one as n.pth:out.logits');
    assert.equal(m('epoch', 'format'), 'n.pth: member epoch is int 3, not a tensor, and no tensor is inside it');
    assert.equal(m('name', 'format'), 'n.pth: member name is a str ("run-1"), not a tensor, and no tensor is inside it');
    assert.match(m('batch.7', 'option'), /^n\.pth: no member named batch\.7; tensors: out\.logits \[3, 4\] float64, .* — name one as n\.pth:out\.logits$/);
    assert.match(m('nope', 'option'), /^n\.pth: no member named nope;/);
    const bare = lensError(() => decodeTensorFile('b.pt', torchFile('bare.pt'), 'input', 'x'), 'option');
    assert.equal(bare.message, 'b.pt: holds a single tensor, not a dict, list or tuple — drop the member name (:x)');
    // No role name at the top level: nested tensors are listed with the path to name.
    const noRole = lensError(() => decodeTensorFile('n.pth', nested, 'input'), 'format');
    assert.match(noRole.message, /^n\.pth: no member named like an input \(logits, .*\); members: .*out\.logits \[3, 4\] float64.* — name one as n\.pth:/);
  });

  it('recognizes a torch.save zip and the legacy format by their bytes, whatever the extension', () => {
    assertValues(decodeTensorFile('pair.data', torchFile('pair.pt'), 'target'), want['pair.pt'].target.values, 'sniffed');
    assert.match(lensError(() => decodeTensorFile('old.data', torchFile('legacy.pt'), 'input'), 'format').message, /^old\.data: is a torch\.save file in the legacy format/);
  });

  it('refuses the pre-1.6 format with a re-save hint', () => {
    const e = lensError(() => decodeTensorFile('legacy.pt', torchFile('legacy.pt'), 'input'), 'format');
    assert.equal(
      e.message,
      'legacy.pt: is a torch.save file in the legacy format (PyTorch < 1.6, or _use_new_zipfile_serialization=False), which is not read here — re-save with torch.save in PyTorch >= 1.6 (the zip format)',
    );
  });
});

describe('torch.save: the restricted unpickler runs nothing', () => {
  for (const [file, m] of Object.entries(manifest.malicious)) {
    it(`${file}: refuses ${m.global} and its payload does not run`, () => {
      assert.equal(fs.existsSync(m.marker), false, `stale marker ${m.marker}: remove it and rerun`);
      const want = `${file}: refuses to load the global ${m.global} (only tensors and their containers are read; nothing in the file is run) — save only tensors in dicts, lists or tuples`;
      assert.equal(lensError(() => readTorchSave(torchFile(file), file), 'format').message, want);
      for (const role of ['input', 'target', 'weight'] as const) {
        assert.equal(lensError(() => decodeTensorFile(file, torchFile(file), role), 'format').message, want);
      }
      assert.equal(fs.existsSync(m.marker), false, 'the payload ran');
    });
  }

  it('refuses os.system in a file written now, with a fresh marker (no stale fixture state)', () => {
    const marker = path.join(os.tmpdir(), `cel-pwned-${crypto.randomBytes(8).toString('hex')}`);
    const pkl = [...P.proto, ...P.global('os', 'system'), ...P.str(`touch ${marker}`), 0x85, ...P.reduce, ...P.stop];
    const e = lensError(() => decodeTensorFile('evil.pt', torchZip(pkl), 'input'), 'format');
    assert.match(e.message, /^evil\.pt: refuses to load the global os\.system \(only tensors and their containers are read; nothing in the file is run\)/);
    // The same through STACK_GLOBAL (protocol 4), and subprocess / builtins.exec.
    const stacked = [0x80, 4, 0x8c, 2, ...ascii('os'), 0x94, 0x8c, 6, ...ascii('system'), 0x94, 0x93, ...P.str(`touch ${marker}`), 0x85, ...P.reduce, ...P.stop];
    assert.match(lensError(() => readTorchSave(torchZip(stacked), 's.pt')).message, /^s\.pt: refuses to load the global os\.system /);
    for (const [m, n] of [['subprocess', 'Popen'], ['builtins', 'exec'], ['torch', 'load'], ['torch.storage', '_load_from_bytes'], ['__builtin__', 'getattr']]) {
      const pk = [...P.proto, ...P.global(m, n), ...P.str('x'), 0x85, ...P.reduce, ...P.stop];
      assert.match(lensError(() => readTorchSave(torchZip(pk), 'g.pt')).message, new RegExp(`^g\\.pt: refuses to load the global ${`${m}.${n}`.replace(/\./g, '\\.')} `));
    }
    assert.equal(fs.existsSync(marker), false);
  });

  it('refuses a numpy array inside a torch.save file by its global', () => {
    assert.deepEqual(manifest.errors['numpy_inside.pt'], ['numpy.core.multiarray', '_reconstruct']);
    assert.match(lensError(() => readTorchSave(torchFile('numpy_inside.pt'), 'n.pt')).message, /^n\.pt: refuses to load the global numpy\.core\.multiarray\._reconstruct /);
  });

  it('refuses object-building opcodes and BUILD on anything but an OrderedDict', () => {
    const inst = [...P.proto, ...P.mark, 0x69, ...ascii('os\nsystem\n'), ...P.stop];
    assert.match(lensError(() => readTorchSave(torchZip(inst), 'i.pt')).message, /^i\.pt: uses the pickle opcode INST \(byte 3\), which is not read here/);
    const newobj = [...P.proto, ...P.global('collections', 'OrderedDict'), 0x29, 0x81, ...P.stop];
    assert.match(lensError(() => readTorchSave(torchZip(newobj), 'n.pt')).message, /uses the pickle opcode NEWOBJ/);
    const build = [...P.proto, 0x5d, 0x7d, 0x62, ...P.stop];
    assert.match(lensError(() => readTorchSave(torchZip(build), 'b.pt')).message, /^b\.pt: refuses to set the state of a list \(pickle BUILD;/);
    const callStorage = [...P.proto, ...P.global('torch', 'FloatStorage'), 0x29, ...P.reduce, ...P.stop];
    assert.match(lensError(() => readTorchSave(torchZip(callStorage), 'c.pt')).message, /^c\.pt: refuses to call torch\.FloatStorage/);
    const complex = [...P.proto, ...P.global('torch', 'ComplexFloatStorage'), ...P.stop];
    assert.match(lensError(() => readTorchSave(torchZip(complex), 'z.pt'), 'dtype').message, /^z\.pt: holds a tensor with storage torch\.ComplexFloatStorage/);
  });
});

describe('torch.save: hostile archives and pickles', () => {
  it('every prefix of a real file fails with a one-line LensError', () => {
    const bytes = torchFile('nested.pth');
    for (let n = 0; n < bytes.length; n++) {
      const e = onlyLensErrors(() => {
        const t = readTorchSave(bytes.subarray(0, n), 't.pt');
        for (const x of t.tensors) t.get(x.name);
      });
      assert.ok(e !== undefined, `prefix ${n} decoded`);
      assert.match(e.message, /^t\.pt: /);
    }
  });

  it('random byte damage never escapes as anything but a LensError', () => {
    const src = torchFile('views.pt');
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 1500; k++) {
      const b = src.slice();
      for (let j = 0; j < 1 + Math.floor(rnd() * 4); j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      onlyLensErrors(() => {
        const t = readTorchSave(b, 'r.pt');
        for (const x of t.tensors) t.get(x.name);
      });
    }
  });

  it('a damaged data.pkl fails its CRC before the pickle is run', () => {
    const bytes = torchFile('pair.pt').slice();
    const at = Buffer.from(bytes).indexOf(Buffer.from('logits'));
    bytes[at] ^= 0x20;
    assert.match(lensError(() => readTorchSave(bytes, 'p.pt'), 'format').message, /^p\.pt: entry pair\/data\.pkl: bad CRC-32/);
  });

  it('a huge memo index is an error, not an allocation', () => {
    const get = [...P.proto, 0x6a, ...u32(0xffffffff), ...P.stop];
    assert.match(lensError(() => readTorchSave(torchZip(get), 'm.pt')).message, /^m\.pt: corrupt pickle \(data\.pkl\): memo entry 4294967295 was never stored — re-save the file$/);
    // LONG_BINPUT at 2^32 - 1 is legal and costs one map entry.
    const put = [...P.proto, 0x5d, 0x72, ...u32(0xffffffff), 0x6a, ...u32(0xffffffff), 0x86, ...P.stop];
    assert.match(lensError(() => decodeTensorFile('m.pt', torchZip(put), 'input')).message, /^m\.pt: holds no tensors|the file holds a tuple/);
    const many = [...P.proto, 0x5d, ...Array.from({ length: 50 }, (_, i) => [0x72, ...u32(i)]).flat(), ...P.stop];
    assert.match(lensError(() => unpickle(Uint8Array.from(many), { findGlobal: () => undefined, limits: { maxMemo: 10 } })).message, /more than 10 memo entries/);
  });

  it('deep nesting is capped: MARKs, nested lists, cycles and exponential sharing', () => {
    const marks = [...P.proto, ...new Array(5000).fill(0x28), ...P.stop];
    assert.match(lensError(() => readTorchSave(torchZip(marks), 'd.pt')).message, /^d\.pt: corrupt pickle \(data\.pkl\): MARKs nest deeper than 1000/);
    // 200000 lists, each appended into the one below it: a chain 200000 deep around one tensor.
    const depth = 200_000;
    const chain = [...P.proto, ...new Array(depth).fill(0x5d), ...tensorOps({ numel: 2, offset: 0, size: [2], stride: [1] }), ...new Array(depth).fill(0x61), ...P.stop];
    const t = readTorchSave(torchZip(chain, { 0: f32(1, 2) }), 'c.pt');
    assert.equal(t.truncated, true);
    assert.equal(t.tensors.length, 0);
    assert.equal(lensError(() => t.get('0.0.0'), 'format').message, 'c.pt: member 0.0.0 is a list, not a tensor, and no tensor is inside it');
    // A list that holds itself.
    const cyc = [...P.proto, 0x5d, 0x71, 0, 0x68, 0, 0x61, ...P.stop];
    const v = unpickle(Uint8Array.from(cyc), { findGlobal: () => undefined }) as PyList;
    assert.equal(v.items[0], v);
    assert.match(lensError(() => decodeTensorFile('y.pt', torchZip(cyc), 'input')).message, /^y\.pt: no member named like an input|^y\.pt: holds no tensors/);
    // L1 = (T, T); L(k+1) = (Lk, Lk), 60 levels: 2^60 paths to T, but each container is expanded once.
    const dag = [...P.proto, ...tensorOps({ numel: 2, offset: 0, size: [2], stride: [1] }), 0x71, 0];
    for (let k = 0; k < 60; k++) dag.push(0x68, k, 0x68, k, 0x86, 0x71, k + 1);
    dag.push(...P.stop);
    const shared = readTorchSave(torchZip(dag, { 0: f32(1, 2) }), 's.pt');
    const zeros = new Array(59).fill('0').join('.');
    assert.deepEqual(shared.tensors.map((x) => x.name), [`${zeros}.0`, `${zeros}.1`]);
    assert.deepEqual([...shared.get(`${zeros}.1`).data], [1, 2]);
  });

  it('checks views against their storages and storages against the archive', () => {
    const past = [...P.proto, ...tensorOps({ numel: 4, offset: 2, size: [2, 2], stride: [2, 1] }), ...P.stop];
    assert.match(lensError(() => readTorchSave(torchZip(past, { 0: f32(1, 2, 3, 4) }), 'v.pt')).message, /^v\.pt: not a valid torch\.save file: a tensor view \(offset 2, size \[2, 2\], stride \[2, 1\]\) runs past its storage of 4 elements$/);
    const ok = [...P.proto, ...tensorOps({ numel: 4, offset: 1, size: [3], stride: [1] }), ...P.stop];
    assert.deepEqual([...readTorchSave(torchZip(ok, { 0: f32(1, 2, 3, 4) })).get('').data], [2, 3, 4]);
    assert.match(lensError(() => readTorchSave(torchZip(ok, { 0: f32(1, 2, 3) }), 's.pt').get('')).message, /^s\.pt: not a valid torch\.save file: storage data\/0 holds 12 of 16 bytes — truncated\?$/);
    assert.match(lensError(() => readTorchSave(torchZip(ok), 'm.pt').get('')).message, /^m\.pt: not a valid torch\.save file: storage data\/0 is missing from the archive/);
    const huge = [...P.proto, ...tensorOps({ numel: 1, offset: 0, size: [65536, 65536], stride: [0, 0] }), ...P.stop];
    const h = readTorchSave(torchZip(huge, { 0: f32(1) }), 'h.pt');
    assert.deepEqual(h.tensors[0].shape, [65536, 65536]);
    assert.match(lensError(() => h.get('')).message, /^h\.pt: a tensor of size \[65536, 65536\] has 4294967296 elements, more than can be read/);
    const bcast = [...P.proto, ...tensorOps({ numel: 1, offset: 0, size: [8192, 8193], stride: [0, 0] }), ...P.stop];
    assert.match(lensError(() => readTorchSave(torchZip(bcast, { 0: f32(1) }), 'b.pt').get('')).message, /^b\.pt: a tensor of size \[8192, 8193\] \(stride \[0, 0\]\) repeats its 1-element storage into 67117056 elements, more than a broadcast view is expanded to here — save t\.contiguous\(\) or a slice$/);
    const small = [...P.proto, ...tensorOps({ numel: 1, offset: 0, size: [3, 2], stride: [0, 0] }), ...P.stop];
    assert.deepEqual([...readTorchSave(torchZip(small, { 0: f32(7) })).get('').data], [7, 7, 7, 7, 7, 7]);
  });

  it('honours a byteorder record (PyTorch >= 2.1 writes one): big-endian storages are swapped', () => {
    const be = new Uint8Array(16);
    [1.5, -2, 3.25, 8].forEach((v, i) => new DataView(be.buffer).setFloat32(4 * i, v, false));
    const pkl = [...P.proto, ...tensorOps({ numel: 4, offset: 0, size: [2, 2], stride: [1, 2] }), ...P.stop];
    assert.deepEqual([...readTorchSave(torchZip(pkl, { 0: be }, { byteorder: 'big' })).get('').data], [1.5, 3.25, -2, 8]);
    const le = new Uint8Array(Float32Array.from([1.5, -2, 3.25, 8]).buffer);
    assert.deepEqual([...readTorchSave(torchZip(pkl, { 0: le }, { byteorder: 'little' })).get('').data], [1.5, 3.25, -2, 8]);
    assert.match(lensError(() => readTorchSave(torchZip(pkl, { 0: le }, { byteorder: 'middle' }), 'o.pt')).message, /^o\.pt: not a valid torch\.save file: byteorder "middle"$/);
  });

  it('a zip without data.pkl, an empty file and a plain pickle each say what they are', () => {
    const npzLike = zipSync({ 'a.npy': new Uint8Array(4) });
    assert.match(lensError(() => decodeTensorFile('x.pt', npzLike, 'input')).message, /^x\.pt: not a valid torch\.save file: the zip holds no data\.pkl — expected a file written by torch\.save/);
    assert.equal(lensError(() => decodeTensorFile('x.pt', new Uint8Array(0), 'input')).message, 'x.pt: not a valid torch.save file: the file is empty');
    assert.match(lensError(() => decodeTensorFile('x.pth', Uint8Array.from([0x80, 4, 0x4e, 0x2e]), 'input')).message, /^x\.pth: is a plain pickle, not a torch\.save zip archive/);
  });

  it('keeps dict semantics: the last value for a repeated key wins, 1 and True are one key', () => {
    const d = [...P.proto, 0x7d, ...P.mark, ...P.str('a'), ...P.int(1), ...P.str('a'), ...P.int(2), 0x4b, 1, ...P.int(3), 0x88, ...P.int(4), 0x75, ...P.stop];
    const v = unpickle(Uint8Array.from(d), { findGlobal: () => undefined }) as PyDict;
    assert.deepEqual(v.keys, ['a', 1]);
    assert.deepEqual(v.values, [2, 4]);    // A key of 30 levels of shared tuples (within the depth cap) would take 2^30 steps to hash naively.
    const key = [...P.proto, 0x7d, 0x4e, 0x71, 0, 0x30];
    for (let k = 0; k < 30; k++) key.push(0x68, k, 0x68, k, 0x86, 0x71, k + 1, 0x30);
    key.push(0x68, 30, 0x4e, 0x73, ...P.stop);
    assert.match(lensError(() => unpickle(Uint8Array.from(key), { findGlobal: () => undefined })).message, /a dict key is too large/);
  });
});

describe('torch.save and safetensors through the CLI (dist/cli.js) against F.cross_entropy', function () {
  const CLI = path.resolve(__dirname, '../../../../dist/cli.js');
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error('dist/cli.js missing: run npm run build first');
  });

  for (const c of manifest.cli) {
    it(`${c.args.join(' ')} = ${c.value}`, () => {
      const r = spawnSync(process.execPath, [CLI, ...c.args, '--json'], { cwd: FIXTURES, encoding: 'utf8', timeout: 30000 });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { value: number; lossShape: number[] };
      // float32 logits take the float32 kernel (as PyTorch's float32 math would); float64 ones the exact path.
      const tol = c.float32 ? 1e-6 : 1e-9;
      assert.ok(Math.abs(out.value - c.value) <= tol * Math.max(1, Math.abs(c.value)), `${out.value} vs torch ${c.value}`);
      assert.deepEqual(out.lossShape, c.lossShape);
    });
  }

  it('refuses a malicious file with exit 2 and one line, and runs nothing', () => {
    for (const [file, m] of Object.entries(manifest.malicious)) {
      const r = spawnSync(process.execPath, [CLI, `torch/${file}`, 'torch/pair.pt', '--json'], { cwd: FIXTURES, encoding: 'utf8', timeout: 30000 });
      assert.equal(r.status, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `error: torch/${file}: refuses to load the global ${m.global} (only tensors and their containers are read; nothing in the file is run) — save only tensors in dicts, lists or tuples\n`);
      assert.equal(fs.existsSync(m.marker), false);
    }
  });
});
