"""eigengrad.compat: ``torch`` names resolve to eigengrad's modules inside ``torch_alias()`` and under
``python -m eigengrad.compat``; the process's own modules come back afterwards."""
import subprocess
import sys

import pytest

import eigengrad as eg
from eigengrad.compat import eigengrad_name, torch_alias


@pytest.mark.parametrize("torch_name,ours", [
    ("torch", "eigengrad"), ("torch.nn", "eigengrad.nn"), ("torch.nn.functional", "eigengrad.nn.functional"),
    ("torch.utils.data", "eigengrad.data"), ("torch.utils.data.dataloader", "eigengrad.data.dataloader"),
    ("torch.optim.lr_scheduler", "eigengrad.optim.lr_scheduler"), ("torch.utils", "eigengrad.utils"),
    ("torch.nn.modules.linear", "eigengrad.nn.modules.linear"),
])
def test_names(torch_name, ours):
    assert eigengrad_name(torch_name) == ours


def test_alias_resolves_every_import_form_and_restores():
    before = {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")}
    with torch_alias():
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        import torch.optim.lr_scheduler
        import torch.utils.data
        from torch.utils.data import DataLoader, TensorDataset
        from torch import optim
        assert torch is eg and nn is eg.nn and F is eg.nn.functional and optim is eg.optim
        assert torch.utils.data is eg.data and DataLoader is eg.data.DataLoader and TensorDataset is eg.data.TensorDataset
        assert torch.optim.lr_scheduler.StepLR is eg.optim.lr_scheduler.StepLR
        assert sys.modules["torch.utils.data"] is eg.data
    assert {k: v for k, v in sys.modules.items() if k == "torch" or k.startswith("torch.")} == before
    assert eg.nn.__spec__.name == "eigengrad.nn"  # the alias did not rename eigengrad's modules
    assert eg.data.__spec__.name == "eigengrad.data"


def test_a_torch_module_without_counterpart_says_so():
    with torch_alias():
        with pytest.raises(ModuleNotFoundError, match=r"No module named 'torch.fx': eigengrad has no counterpart"):
            import torch.fx  # noqa: F401


def test_restores_modules_even_when_the_block_raises():
    before = sys.modules.get("torch")
    with pytest.raises(RuntimeError):
        with torch_alias():
            raise RuntimeError("inside")
    assert sys.modules.get("torch") is before


def test_command_line_runs_a_script_as_main_with_its_arguments(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import sys\n"
        "import torch\n"
        "import torch.nn as nn\n"
        "from helper import VALUE\n"  # the script's directory is on sys.path
        "x = torch.tensor([[1.0, 2.0]])\n"
        "layer = nn.Linear(2, 1)\n"
        "print(__name__, torch.__name__, sys.argv[1:], VALUE, tuple(layer(x).shape))\n")
    (tmp_path / "helper.py").write_text("VALUE = 7\n")
    r = subprocess.run([sys.executable, "-m", "eigengrad.compat", str(script), "--epochs", "3"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "__main__ eigengrad ['--epochs', '3'] 7 (1, 1)"


def test_children_started_by_spawn_and_forkserver_get_the_alias(tmp_path):
    # a spawned child imports the script afresh: without the alias its `import torch` is a real PyTorch
    # (when installed) or an ImportError; a grandchild must get it too
    script = tmp_path / "procs.py"
    script.write_text(
        "import multiprocessing as mp\n"
        "import torch\n"
        "import torch.multiprocessing as tmp\n"
        "def where(q):\n"
        "    q.put(torch.__name__ + ':' + type(torch.ones(1)).__module__)\n"
        "def parent(q):\n"
        "    ctx = mp.get_context('spawn')\n"
        "    p = ctx.Process(target=where, args=(q,)); p.start(); p.join()\n"
        "def rank(i, q):\n"
        "    where(q)\n"
        "if __name__ == '__main__':\n"
        "    for method in ('spawn', 'forkserver', 'fork'):\n"
        "        ctx = mp.get_context(method); q = ctx.Queue()\n"
        "        p = ctx.Process(target=where, args=(q,)); p.start(); print(method, q.get()); p.join()\n"
        "    ctx = mp.get_context('spawn'); q = ctx.Queue()\n"
        "    p = ctx.Process(target=parent, args=(q,)); p.start(); print('grandchild', q.get()); p.join()\n"
        "    q = mp.get_context('spawn').SimpleQueue()\n"
        "    tmp.spawn(rank, args=(q,), nprocs=1); print('torch.multiprocessing.spawn', q.get())\n")
    r = subprocess.run([sys.executable, "-m", "eigengrad.compat", str(script)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    ours = "eigengrad:eigengrad.tensor"
    assert r.stdout.split("\n")[:5] == [f"spawn {ours}", f"forkserver {ours}", f"fork {ours}", f"grandchild {ours}",
                                        f"torch.multiprocessing.spawn {ours}"]


def test_the_alias_leaves_multiprocessing_as_it_was():
    from multiprocessing import forkserver, spawn
    before = spawn.get_command_line, list(forkserver._forkserver._preload_modules)
    with torch_alias():
        assert spawn.get_command_line(pipe_handle=3)[-2].startswith("import eigengrad.compat._child; ")
    assert (spawn.get_command_line, list(forkserver._forkserver._preload_modules)) == before
    import os

    import eigengrad.compat._child  # noqa: F401 (imported outside a child: e.g. a tool importing every module)
    assert not any(type(f).__name__ == "_TorchFinder" for f in sys.meta_path)
    assert "EIGENGRAD_COMPAT_CHILD" not in os.environ


def test_command_line_usage_and_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "eigengrad.compat"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "usage: python -m eigengrad.compat SCRIPT.py" in r.stdout
    r = subprocess.run([sys.executable, "-m", "eigengrad.compat", str(tmp_path / "missing.py")], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "no such file" in r.stderr
    failing = tmp_path / "fails.py"
    failing.write_text("import torch\nraise SystemExit(3)\n")
    r = subprocess.run([sys.executable, "-m", "eigengrad.compat", str(failing)], capture_output=True, timeout=120)
    assert r.returncode == 3


def test_variable_of_old_scripts_is_a_detached_tensor_as_in_pytorch():
    from eigengrad.autograd import Variable
    x = eg.tensor([1.0, 2.0], requires_grad=True)
    v = Variable(x)
    assert isinstance(v, eg.Tensor) and isinstance(x, Variable) and not isinstance([1.0], Variable)
    assert v is not x and not v.requires_grad and v.is_leaf
    v.numpy()[0] = 5.0  # shares the data (x.detach(), as PyTorch's Variable)
    assert x.detach().numpy()[0] == 5.0
    w = Variable(eg.ones(3), requires_grad=True)
    assert w.requires_grad and w.is_leaf
    (w * w).sum().backward()
    assert w.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.warns(UserWarning, match="volatile was removed"):
        assert not Variable(eg.ones(1), volatile=True).requires_grad
    with pytest.raises(TypeError, match="^data: Variable data has to be a tensor, but got list"):
        Variable([1.0])


def test_variable_matches_pytorchs():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its Variable is the yardstick")
    from eigengrad.autograd import Variable
    for requires_grad in (False, True):
        t, e = torch.autograd.Variable(torch.ones(2), requires_grad=requires_grad), Variable(eg.ones(2), requires_grad)
        assert (t.requires_grad, t.is_leaf, t.grad_fn is None) == (e.requires_grad, e.is_leaf, e.grad_fn is None)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        torch.autograd.Variable([1.0])
