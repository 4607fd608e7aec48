// The Python the lens runs inside a paused debuggee (one DAP `evaluate` per request, src/debug/snippet.ts).
// It is fixed text: the request reaches it as a JSON string (ARG), never as code. Values are found by a
// path of names, attributes, string or integer keys and indices (never by evaluating an expression), and
// tensors are written as .npy from their memory in one pass (no pickling, no Python loop over elements,
// NumPy not needed for torch tensors). G and L are the frame's globals and locals; OUT is the reply: the
// base64 of its JSON, so that the debugger's repr of the string is that string between quotes.
//
// Kept self-contained and compatible with Python 3.8+: the debuggee may be any interpreter with torch.
export const DEBUGGEE_CODE = String.raw`
import base64, collections.abc, itertools, json, os, re, stat, sys, tempfile
DIR_PREFIX = 'cross-entropy-lens-debug-'
MAX_TOP = 2000
MAX_CHILDREN = 64
MAX_VALUES = 500
torch = sys.modules.get('torch')
np = sys.modules.get('numpy')

class LensDebugError(Exception):
    pass

def kind_of(v):
    if torch is not None and isinstance(v, torch.Tensor):
        return 'torch'
    if np is not None and isinstance(v, np.ndarray):
        return 'numpy'
    return None

def dtype_name(v, k):
    return str(v.dtype).replace('torch.', '') if k == 'torch' else str(v.dtype)

def meta(v, k):
    if k == 'torch':
        return {'kind': 'torch', 'shape': [int(d) for d in v.shape], 'dtype': dtype_name(v, k), 'device': str(v.device),
                'requiresGrad': bool(v.requires_grad), 'numel': int(v.numel()), 'type': type(v).__name__}
    return {'kind': 'numpy', 'shape': [int(d) for d in v.shape], 'dtype': dtype_name(v, k), 'device': 'cpu',
            'requiresGrad': False, 'numel': int(v.size), 'type': type(v).__name__}

def is_dataclass_value(v):
    fields = getattr(type(v), '__dataclass_fields__', None)
    return isinstance(fields, dict) and not isinstance(v, type)

def children(v):
    # One level inside containers, as (step, label suffix, child); ModelOutput is a dataclass and a dict:
    # its fields read as attributes (outputs.logits).
    out = []
    if is_dataclass_value(v):
        for name in list(type(v).__dataclass_fields__)[:MAX_CHILDREN]:
            if isinstance(name, str) and name.isidentifier():
                try:
                    out.append((['attr', name], '.' + name, getattr(v, name)))
                except Exception:
                    pass
    elif isinstance(v, collections.abc.Mapping):
        # dicts, and mappings that are not dicts (Hugging Face's BatchEncoding is a UserDict)
        for i, key in enumerate(itertools.islice(v.keys(), MAX_CHILDREN)):
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                continue
            try:
                out.append((['key', key], '[' + json.dumps(key) + ']', v[key]))
            except Exception:
                pass
    elif isinstance(v, (list, tuple)):
        for i, item in enumerate(v[:MAX_CHILDREN]):
            out.append((['index', i], '[' + str(i) + ']', item))
    return out

def op_list(a):
    values = []
    names = [n for n in list(L.keys())[:MAX_TOP] if isinstance(n, str) and not n.startswith('__')]
    for name in names:
        if len(values) >= MAX_VALUES:
            break
        v = L[name]
        k = kind_of(v)
        if k is not None:
            values.append(dict(meta(v, k), label=name, ref={'root': name, 'steps': []}))
            continue
        if isinstance(v, (collections.abc.Mapping, list, tuple)) or is_dataclass_value(v):
            for step, suffix, child in children(v):
                ck = kind_of(child)
                if ck is not None and len(values) < MAX_VALUES:
                    values.append(dict(meta(child, ck), label=name + suffix, ref={'root': name, 'steps': [step]}))
    return {'values': values}

def resolve(ref):
    name = ref.get('root')
    if not isinstance(name, str):
        raise LensDebugError('no variable name')
    if name in L:
        v = L[name]
    elif name in G:
        v = G[name]
    else:
        raise LensDebugError(name + ' is not defined in this frame')
    label = name
    for step in ref.get('steps', []):
        kind, s = step[0], step[1]
        if kind == 'attr':
            if not isinstance(s, str) or not s.isidentifier():
                raise LensDebugError('not an attribute name: ' + repr(s))
            v = getattr(v, s)
            label += '.' + s
        elif kind == 'key':
            if isinstance(s, bool) or not isinstance(s, (str, int)):
                raise LensDebugError('not a key: ' + repr(s))
            v = v[s]
            label += '[' + json.dumps(s) + ']'
        elif kind == 'index':
            if isinstance(s, bool) or not isinstance(s, int):
                raise LensDebugError('not an index: ' + repr(s))
            v = v[s]
            label += '[' + str(s) + ']'
        else:
            raise LensDebugError('unknown step ' + repr(kind))
    return v, label

def tensor_at(ref):
    v, label = resolve(ref)
    k = kind_of(v)
    if k is None:
        raise LensDebugError(label + ' is a ' + type(v).__name__ + ', not a torch.Tensor or numpy.ndarray')
    return v, k, label

def apply_transform(v, k, tr):
    op = tr.get('op')
    if op == 'argmax':
        return v.argmax(int(tr['dim'])) if k == 'torch' else v.argmax(axis=int(tr['dim']))
    if op == 'long':
        return v.long() if k == 'torch' else v.astype('int64')
    if op == 'float':
        return v.float() if k == 'torch' else v.astype('float32')
    if op == 'unsqueeze':
        return v.unsqueeze(int(tr['dim'])) if k == 'torch' else np.expand_dims(v, int(tr['dim']))
    if op == 'movedim':
        return v.movedim(int(tr['source']), int(tr['destination'])) if k == 'torch' else np.moveaxis(v, int(tr['source']), int(tr['destination']))
    raise LensDebugError('unknown transform ' + repr(op))

TORCH_DESCR = {'float16': '<f2', 'float32': '<f4', 'float64': '<f8', 'int8': '|i1', 'uint8': '|u1', 'int16': '<i2',
               'int32': '<i4', 'int64': '<i8', 'bool': '|b1'}

def npy_header(descr, shape):
    dims = ', '.join(str(int(d)) for d in shape)
    if len(shape) == 1:
        dims += ','
    text = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }"
    pad = 64 - (10 + len(text) + 1) % 64
    text = text + ' ' * (pad % 64) + '\n'
    return b'\x93NUMPY\x01\x00' + len(text).to_bytes(2, 'little') + text.encode('latin1')

def private_dir(given):
    if isinstance(given, str) and given:
        try:
            st = os.lstat(given)
            if (stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.getuid()
                    and os.path.basename(given).startswith(DIR_PREFIX)):
                return given
        except OSError:
            pass
    return tempfile.mkdtemp(prefix=DIR_PREFIX)

def check_dir(given):
    st = os.lstat(given)
    if not (stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and os.path.basename(given).startswith(DIR_PREFIX)):
        raise LensDebugError('not a folder of the lens: ' + given)

def write_all(fd, view):
    step = 64 << 20
    for off in range(0, len(view), step):
        chunk = view[off:off + step]
        while len(chunk):
            n = os.write(fd, chunk)
            chunk = chunk[n:]

def op_save(a):
    v, k, label = tensor_at(a['ref'])
    source = meta(v, k)
    for tr in a.get('transform', []):
        v = apply_transform(v.detach() if k == 'torch' else v, k, tr)
    name = a.get('name')
    if not isinstance(name, str) or not re.fullmatch(r'[A-Za-z0-9_-]{1,64}', name):
        raise LensDebugError('bad file name')
    limit = a.get('maxBytes')
    if isinstance(limit, int):
        # Refused before anything is copied to the CPU or written (a session whose files are copied through
        # the debugger, which takes values up to this size).
        item = 4 if (k == 'torch' and v.dtype == torch.bfloat16) else (v.element_size() if k == 'torch' else v.itemsize)
        size = int(source['numel']) * int(item)
        if size > limit:
            raise LensDebugError('%s is %d MB on a machine whose files are not visible here: values up to %d MB are copied through the debugger; save it there with np.save and open the file' % (label, round(size / 2**20), limit >> 20))
    if k == 'torch':
        t = v.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        dt = str(t.dtype).replace('torch.', '')
        if dt not in TORCH_DESCR:
            raise LensDebugError(label + ' has dtype ' + dt + ', which the lens does not read (cast it to float32)')
        if t.layout != torch.strided:
            t = t.to_dense()
        t = t.cpu().contiguous()
        descr, shape = TORCH_DESCR[dt], [int(d) for d in t.shape]
        nbytes = t.numel() * t.element_size()
        if nbytes:
            import ctypes
            view = memoryview((ctypes.c_char * nbytes).from_address(t.data_ptr())).cast('B')
        else:
            view = memoryview(b'')
    else:
        arr = v
        if arr.dtype.kind not in 'biuf':
            raise LensDebugError(label + ' has dtype ' + str(arr.dtype) + ', which the lens does not read')
        if arr.dtype.byteorder == '>':
            arr = arr.astype(arr.dtype.newbyteorder('<'))
        shape = [int(d) for d in arr.shape]  # before ascontiguousarray, which makes a 0-d array 1-D
        arr = np.ascontiguousarray(arr)
        descr = arr.dtype.str
        nbytes = int(arr.nbytes)
        view = memoryview(arr.reshape(-1)).cast('B') if nbytes else memoryview(b'')
    d = private_dir(a.get('dir'))
    made = d != a.get('dir')
    path = os.path.join(d, name + '.npy')
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0), 0o600)
    except BaseException:
        if made:
            os.rmdir(d)
        raise
    try:
        write_all(fd, memoryview(npy_header(descr, shape)))
        write_all(fd, view)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(path)
            if made:
                os.rmdir(d)  # a folder made for this save, which the host never heard of
        except OSError:
            pass
        raise
    os.close(fd)
    return {'path': path, 'dir': d, 'bytes': os.path.getsize(path), 'shape': shape, 'descr': descr, 'label': label, 'source': source}

def op_describe(a):
    out = []
    for ref in a['refs']:
        try:
            v, k, label = tensor_at(ref)
            out.append(dict(meta(v, k), label=label))
        except Exception as e:
            out.append({'error': (type(e).__name__ + ': ' + str(e)).splitlines()[0]})
    return {'values': out}

def num(x):
    x = float(x)
    if x != x:
        return 'NaN'
    if x in (float('inf'), float('-inf')):
        return 'Infinity' if x > 0 else '-Infinity'
    return x

def op_stats(a):
    # One pass per figure over the tensor as it is (no float64 copy, no boolean-mask gather): the finite
    # values' min/max (non-finite ones replaced by +/-inf), the mean accumulated in float64.
    v, k, label = tensor_at(a['ref'])
    m = dict(meta(v, k), label=label)
    if m['numel'] == 0:
        return m
    if k == 'torch':
        with torch.no_grad():
            t = v.detach()
            if t.is_complex() or t.layout != torch.strided or t.dtype == torch.bool:
                return m
            if t.is_floating_point():
                lo, hi = t.min(), t.max()
                if bool(torch.isfinite(lo)) and bool(torch.isfinite(hi)):
                    # min and max propagate NaN and are +/-inf with any inf: all finite. PyTorch's own mean
                    # (float32 reductions are what is fast in every build; conversions are not).
                    m['nan'], m['inf'] = 0, 0
                    m['min'], m['max'], m['mean'] = num(lo), num(hi), num(t.mean())
                    return m
                finite = torch.isfinite(t)
                nan = int(torch.isnan(t).sum())
                m['nan'], m['inf'] = nan, int(t.numel() - int(finite.sum()) - nan)
                n = t.numel() - m['nan'] - m['inf']
                if n == 0:
                    return m
                lo = torch.where(finite, t, torch.full((), float('inf'), dtype=t.dtype, device=t.device)).min()
                hi = torch.where(finite, t, torch.full((), float('-inf'), dtype=t.dtype, device=t.device)).max()
                total = torch.where(finite, t, torch.zeros((), dtype=t.dtype, device=t.device)).sum(dtype=torch.float64)
                m['min'], m['max'], m['mean'] = num(lo), num(hi), num(float(total) / n)
            else:
                m['nan'], m['inf'] = 0, 0
                m['min'], m['max'] = num(t.min()), num(t.max())
                m['mean'] = num(float(t.sum()) / t.numel())
    else:
        arr = v
        if arr.dtype.kind not in 'iuf':
            return m
        if arr.dtype.kind == 'f':
            finite = np.isfinite(arr)
            nan = int(np.isnan(arr).sum())
            m['nan'], m['inf'] = nan, int(arr.size - int(finite.sum()) - nan)
            n = arr.size - m['nan'] - m['inf']
            if n == 0:
                return m
            if n == arr.size:
                m['min'], m['max'], m['mean'] = num(arr.min()), num(arr.max()), num(float(arr.sum(dtype='float64')) / n)
            else:
                m['min'], m['max'] = num(np.where(finite, arr, np.inf).min()), num(np.where(finite, arr, -np.inf).max())
                m['mean'] = num(float(np.where(finite, arr, 0).sum(dtype='float64')) / n)
        else:
            m['nan'], m['inf'] = 0, 0
            m['min'], m['max'], m['mean'] = num(arr.min()), num(arr.max()), num(float(arr.sum(dtype='float64')) / arr.size)
    return m

def op_facts(a):
    # What the exception classifier needs of a target: integral, one-hot along an axis, values out of range.
    v, k, label = tensor_at(a['ref'])
    m = dict(meta(v, k), label=label)
    C = int(a['classes'])
    if m['numel'] == 0:
        return m
    if k == 'torch':
        t = v.detach()
        if t.is_complex():
            return m
        f = t.double()
        m['integral'] = bool(torch.all(f == torch.round(f)))
        m['min'], m['max'] = num(f.min()), num(f.max())
        binary = bool(torch.all((f == 0) | (f == 1)))
        one_hot = []
        if binary:
            for dim in range(t.dim()):
                if t.shape[dim] == C and bool(torch.all(f.sum(dim) == 1)):
                    one_hot.append(dim)
        m['oneHotDims'] = one_hot
        if m['integral']:
            bad = f[(f < 0) | (f >= C)]
            if a.get('ignoreIndex') is not None:
                bad = bad[bad != float(a['ignoreIndex'])]
            m['outOfRange'] = int(bad.numel())
            m['outOfRangeValues'] = [num(x) for x in torch.unique(bad)[:8].tolist()] if bad.numel() else []
    else:
        f = np.asarray(v).astype('float64')
        m['integral'] = bool(np.all(f == np.round(f)))
        m['min'], m['max'] = num(f.min()), num(f.max())
        binary = bool(np.all((f == 0) | (f == 1)))
        m['oneHotDims'] = [d for d in range(f.ndim) if binary and f.shape[d] == C and bool(np.all(f.sum(axis=d) == 1))]
        if m['integral']:
            bad = f[(f < 0) | (f >= C)]
            if a.get('ignoreIndex') is not None:
                bad = bad[bad != float(a['ignoreIndex'])]
            m['outOfRange'] = int(bad.size)
            m['outOfRangeValues'] = [num(x) for x in np.unique(bad)[:8].tolist()]
    return m

def scalar(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, float)):
        return num(v) if isinstance(v, float) else v
    try:
        return num(v)
    except Exception:
        return repr(v)[:200]

LOSS_ARGS = ('input', 'target', 'weight', 'pos_weight')
LOSS_SCALARS = ('ignore_index', 'reduction', 'label_smoothing', 'size_average', 'reduce')

LOSS_FUNCTIONS = ('cross_entropy', 'nll_loss', 'binary_cross_entropy_with_logits')

def loss_frame_kind(f):
    path = f.f_code.co_filename.replace('\\', '/')
    if path.endswith('torch/nn/functional.py') and f.f_code.co_name in LOSS_FUNCTIONS:
        return 'functional'
    if path.endswith('torch/nn/modules/loss.py') and f.f_code.co_name == 'forward':
        return 'module'
    return None

def op_call(a):
    # The arguments of the loss call: a functional's own locals, or an nn module's forward (input and target
    # from its locals, the rest from the module's attributes). With 'traceback' (the frame is a user frame
    # stopped on an exception, library frames hidden by justMyCode), the call's frame is found in the
    # exception's traceback and its values are named by paths through it.
    locs, base, fn = L, [], None
    module = bool(a.get('module'))
    if a.get('traceback'):
        exc = L.get('__exception__', G.get('__exception__'))
        tb = exc[2] if isinstance(exc, tuple) and len(exc) == 3 else None
        steps = [['index', 2]]
        found = None
        while tb is not None:
            kind = loss_frame_kind(tb.tb_frame)
            if kind == 'functional' or (kind == 'module' and found is None):
                found = (tb.tb_frame, steps + [['attr', 'tb_frame'], ['attr', 'f_locals']], kind)
            tb = tb.tb_next
            steps = steps + [['attr', 'tb_next']]
        if found is None:
            raise LensDebugError('the exception was not raised in a PyTorch loss call')
        frame, base, kind = found
        locs, module = frame.f_locals, kind == 'module'
        if kind == 'functional':
            fn = frame.f_code.co_name
    owner = locs.get('self') if module else None
    out = {'tensors': {}, 'scalars': {}, 'owner': type(owner).__name__ if owner is not None else None,
           'ownerMro': [c.__name__ for c in type(owner).__mro__] if owner is not None else [], 'function': fn}
    def ref_of(steps):
        return {'root': '__exception__', 'steps': base + steps} if base else {'root': steps[0][1], 'steps': steps[1:]}
    for name in LOSS_ARGS:
        ref = None
        if name in locs and locs[name] is not None:
            ref = ref_of([['key', name]])
        elif owner is not None and getattr(owner, name, None) is not None:
            ref = ref_of([['key', 'self'], ['attr', name]])
        if ref is not None:
            try:
                v, k, label = tensor_at(ref)
                out['tensors'][name] = dict(meta(v, k), label=name if not base else name, ref=ref)
            except Exception:
                pass
    for name in LOSS_SCALARS:
        if name in locs:
            out['scalars'][name] = scalar(locs[name])
        elif owner is not None and hasattr(owner, name):
            out['scalars'][name] = scalar(getattr(owner, name))
    return out

def op_read(a):
    path = a['path']
    check_dir(os.path.dirname(path))
    with open(path, 'rb') as f:
        f.seek(int(a['offset']))
        data = f.read(int(a['length']))
    return {'data': base64.b64encode(data).decode('ascii')}

def op_remove(a):
    # A folder of the lens, or one file in it ('path': another save of the session may still be using it).
    d = a['dir']
    check_dir(d)
    if a.get('path'):
        if os.path.dirname(a['path']) != d:
            raise LensDebugError('not a file of that folder: ' + a['path'])
        os.unlink(a['path'])
        return {'removed': a['path']}
    for entry in os.listdir(d):
        os.unlink(os.path.join(d, entry))
    os.rmdir(d)
    return {'removed': d}

OPS = {'list': op_list, 'save': op_save, 'describe': op_describe, 'stats': op_stats, 'facts': op_facts,
       'call': op_call, 'read': op_read, 'remove': op_remove}

def main():
    a = json.loads(ARG)
    try:
        return OPS[a['op']](a)
    except LensDebugError as e:
        return {'error': str(e)}
    except Exception as e:
        return {'error': type(e).__name__ + ': ' + str(e).splitlines()[0] if str(e) else type(e).__name__}

try:
    OUT = json.dumps(main(), allow_nan=False)
except Exception as e:
    OUT = json.dumps({'error': 'the reply could not be written: ' + type(e).__name__})
OUT = base64.b64encode(OUT.encode('utf-8')).decode('ascii')
`;
