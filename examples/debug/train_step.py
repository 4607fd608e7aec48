# A training loop to run under the debugger: Run and Debug -> "Debug train_step.py" (F5).
# It pauses in train_step (breakpoint() below). Then:
#   - Cross-Entropy Lens: Compute Loss from Debug Variables... -> logits, then target;
#   - or right-click `logits` in the Variables view -> Cross-Entropy Loss of This Variable...;
#   - or hover `logits` below (Show or Focus Hover) for its statistics and the loss with `target`.
# In the panel, tick "Update on each stop" and press Continue (F5): the loss of each step is added to its history.
# The last step passes a one-hot target, as a common bug does: PyTorch raises, the debugger stops, and
# "Explain with Cross-Entropy Lens" shows the fix (target.argmax(1)) with the loss after it.
import torch
import torch.nn.functional as F

CLASSES = 5


def model(images, w):
    return torch.einsum("nchw,kc->nkhw", images, w)


def train_step(step, images, target, w):
    logits = model(images, w)
    breakpoint()  # paused here: the panel reads logits and target from this frame
    loss = F.cross_entropy(logits, target)
    loss.backward()
    with torch.no_grad():
        w -= 0.5 * w.grad
        w.grad = None
    return loss.item()


g = torch.Generator().manual_seed(0)
images = torch.randn(4, 3, 32, 32, generator=g)
target = (images[:, 0] > 0).long() + 2 * (images[:, 1] > 0.5).long()
w = (0.3 * torch.randn(CLASSES, 3, generator=g)).requires_grad_()
for step in range(3):
    print(f"step {step}: loss {train_step(step, images, target, w):.4f}")

one_hot = F.one_hot(target, CLASSES).permute(0, 3, 1, 2)  # the bug: cross_entropy wants class indices
print(F.cross_entropy(model(images, w), one_hot))
