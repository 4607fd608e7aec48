# A paused "training step" for test/unit/debug/debuggee.test.ts: the values the lens reads while paused, and
# next to them what NumPy and PyTorch say of each (written by this program, never by the lens).
import dataclasses, json, os, resource, signal, sys
import numpy as np
import torch
import torch.nn.functional as F

OUT = sys.argv[1]


@dataclasses.dataclass
class Output:
    loss: object
    logits: torch.Tensor


class EvilKey:
    def __repr__(self):
        return "__import__('os').system('touch " + os.path.join(OUT, "PWNED_REPR") + "')"


def reference(name, value):
    a = value.detach().float().numpy() if value.dtype == torch.bfloat16 else (value.detach().numpy() if isinstance(value, torch.Tensor) else value)
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a))


def step():
    g = torch.Generator().manual_seed(7)
    logits = torch.randn(2, 3, 4, 5, generator=g).requires_grad_()
    target = torch.randint(0, 3, (2, 4, 5), generator=g)
    evil = "']); __import__('os').system('touch " + os.path.join(OUT, "PWNED") + "'); (['\n\"x"
    batch = {"labels": target, evil: target * 2, 3: target[:1], EvilKey(): target}
    outputs = Output(loss=None, logits=torch.randn(2, 6, 10, generator=g).to(torch.bfloat16))
    xs = [logits.detach().permute(0, 2, 3, 1), np.arange(12, dtype=">i4").reshape(3, 4)]
    probs = np.linspace(-2, 2, 24, dtype=np.float16).reshape(2, 12)
    probs[0, 1] = np.nan
    probs[1, 2] = np.inf
    z = np.zeros((0, 3), np.float32)
    cplx = torch.zeros(3, dtype=torch.complex64)
    meta = torch.empty(2, 3, device="meta")  # a device nothing can be copied from
    n = 3
    one_hot = F.one_hot(target, 3).permute(0, 3, 1, 2)
    for k, v in {"logits": logits, "target": target, "evil": batch[evil], "outputs_logits": outputs.logits, "xs0": xs[0], "xs1": xs[1], "probs": probs, "z": z}.items():
        reference(k, v)
    with open(os.path.join(OUT, "stats.json"), "w") as f:
        p = probs.astype(np.float64)
        fin = p[np.isfinite(p)]
        json.dump({"min": float(fin.min()), "max": float(fin.max()), "mean": float(fin.mean()), "nan": int(np.isnan(p).sum()), "inf": int(np.isinf(p).sum()),
                   "logitsMean": float(logits.detach().mean())}, f)
    breakpoint()  # stop 1
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    big = torch.zeros(1 << 20)  # 4 MiB, over the file size limit set here
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    breakpoint()  # stop 2
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    return F.cross_entropy(logits, one_hot)  # raises: a 4-D one-hot target


step()
