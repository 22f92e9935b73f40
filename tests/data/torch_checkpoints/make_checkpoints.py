"""Writes the PyTorch checkpoints that tests/test_serialization_torch_checkpoints.py reads without PyTorch.

Run once with PyTorch installed (``python make_checkpoints.py`` in this folder); the files are committed.
expected.npz (plain arrays, no pickles) holds what each file must load as, computed by PyTorch.

- state_dict.pt: ``torch.save(model.state_dict())`` of MODEL below (Linear, BatchNorm1d, Linear);
- training.pt: a training checkpoint (epoch, model and Adam state_dicts, a StepLR state, numbers, strings,
  lists, tuples, an OrderedDict, torch.Size, a dtype, a device, a set, bytes, an int32 and a float16 tensor);
- shared.pt: tensors sharing storages (a transpose, a strided slice, a row, an expanded view) and one tensor
  of every dtype eigengrad reads, a Parameter and a tensor that requires grad;
- malicious.pt: a checkpoint whose pickle calls os.system (it would write 'eigengrad_pwned' in the current
  directory); loading it must refuse it and run nothing.
"""
import os
from collections import OrderedDict

import numpy as np
import torch


def model():
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


class Exploit:
    def __reduce__(self):
        return os.system, ("echo pwned > eigengrad_pwned",)


def main():
    torch.manual_seed(0)
    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        x = torch.randn(5, 4)
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        opt.step()
        sched.step()
    net.eval()
    x = torch.linspace(-1, 1, 12).reshape(3, 4)
    expected = {"input": x.numpy(), "output": net(x).detach().numpy()}
    for k, v in net.state_dict().items():
        expected["sd." + k] = v.numpy()
    for i, s in opt.state_dict()["state"].items():
        for k, v in s.items():
            expected[f"opt.{i}.{k}"] = v.numpy()
    torch.save(net.state_dict(), "state_dict.pt")

    torch.save({
        "epoch": 7, "model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
        "best_acc": 0.875, "losses": [1.5, 0.75, 0.5], "shape": (3, 4), "name": "mlp-ünï",
        "config": OrderedDict([("hidden", 8), ("activation", "relu"), ("dropout", None), ("flags", [True, False])]),
        "size": torch.Size([2, 3]), "dtype": torch.float64, "device": torch.device("cpu"), "tags": {"a", "b"},
        "blob": b"\x00\x01bytes", "counts": torch.arange(5, dtype=torch.int32), "half": torch.tensor([0.5, -2.0],
                                                                                                    dtype=torch.float16),
    }, "training.pt")

    base = torch.arange(24, dtype=torch.float64).reshape(4, 6)
    objs = {
        "base": base, "transposed": base.t(), "strided": base[1:3, ::2], "row": base[2], "expanded":
            torch.tensor([1.0, 2.0, 3.0]).expand(2, 3),
        "float32": torch.tensor([1.5, -2.25]), "float16": torch.tensor([0.5, 65504.0], dtype=torch.float16),
        "int8": torch.tensor([-128, 127], dtype=torch.int8), "int16": torch.tensor([-3, 300], dtype=torch.int16),
        "int32": torch.tensor([-(2 ** 31), 7], dtype=torch.int32), "int64": torch.tensor([-(2 ** 40), 9]),
        "uint8": torch.tensor([0, 255], dtype=torch.uint8), "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.25), "empty": torch.zeros(0, 3),
        "param": torch.nn.Parameter(torch.tensor([1.0, 2.0])), "frozen": torch.nn.Parameter(torch.ones(2),
                                                                                        requires_grad=False),
        "grad": torch.tensor([4.0], requires_grad=True),
    }
    torch.save(objs, "shared.pt")
    for k, v in objs.items():
        expected["shared." + k] = v.detach().numpy()

    torch.save({"weight": torch.ones(2), "payload": Exploit()}, "malicious.pt")
    np.savez("expected.npz", **expected)


if __name__ == "__main__":
    main()
