# Tensors as a console prints them. Select both literals and run
# "Cross-Entropy Lens: Compute Cross-Entropy Loss from Selection", or hover one.
import torch

logits = torch.tensor([[ 2.1000, -0.3000,  0.5000],
        [ 0.2000,  1.7000, -1.1000],
        [-0.4000,  0.3000,  2.2000],
        [ 1.0000,  1.0000,  1.0000]], requires_grad=True)
target = torch.tensor([0, 1, 1, 2])
