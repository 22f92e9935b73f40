"""MAML on sinusoid regression with torch.func.functional_call and second-order gradients."""
import math
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

torch.manual_seed(42)
np.random.seed(42)


class SineTasks:
    def __init__(self, amp=(0.1, 5.0), phase=(0, math.pi), xr=(-5.0, 5.0)):
        self.amp, self.phase, self.xr = amp, phase, xr

    def sample(self, n_tasks, k_shot, k_query):
        A = torch.empty(n_tasks, 1, 1).uniform_(*self.amp)
        P = torch.empty(n_tasks, 1, 1).uniform_(*self.phase)
        xs = torch.empty(n_tasks, k_shot, 1).uniform_(*self.xr)
        xq = torch.empty(n_tasks, k_query, 1).uniform_(*self.xr)
        return xs, A * torch.sin(xs - P), xq, A * torch.sin(xq - P)


class Regressor(nn.Module):
    def __init__(self, hidden=40):
        super().__init__()
        self.layers = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(1, hidden)), ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(hidden, hidden)), ("relu2", nn.ReLU()),
            ("out", nn.Linear(hidden, 1)),
        ]))

    def forward(self, x):
        return self.layers(x)


def inner_adapt(model, params, x, y, steps, inner_lr, first_order=False, per_param_lr=None):
    for _ in range(steps):
        pred = functional_call(model, params, (x,))
        loss = F.mse_loss(pred, y)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=not first_order)
        if per_param_lr is None:
            params = OrderedDict((n, p - inner_lr * g) for (n, p), g in zip(params.items(), grads))
        else:
            params = OrderedDict((n, p - per_param_lr[n.replace(".", "_")] * g)
                                 for (n, p), g in zip(params.items(), grads))
    return params


model = Regressor()
# Meta-SGD style learnable per-parameter inner learning rates
inner_lrs = nn.ParameterDict({n.replace(".", "_"): nn.Parameter(torch.full_like(p, 0.01))
                              for n, p in model.named_parameters()})
meta_opt = torch.optim.Adam([{"params": model.parameters()},
                             {"params": inner_lrs.parameters(), "lr": 1e-4}], lr=1e-3)
tasks = SineTasks()
meta_batch, k_shot, k_query, inner_steps = 8, 10, 10, 1
history = []
for it in range(1, 401):
    xs, ys, xq, yq = tasks.sample(meta_batch, k_shot, k_query)
    meta_opt.zero_grad()
    meta_loss = 0.0
    for t in range(meta_batch):
        params = OrderedDict(model.named_parameters())
        fast = inner_adapt(model, params, xs[t], ys[t], inner_steps, inner_lr=None,
                           per_param_lr=inner_lrs)
        q_pred = functional_call(model, fast, (xq[t],))
        meta_loss = meta_loss + F.mse_loss(q_pred, yq[t])
    meta_loss = meta_loss / meta_batch
    meta_loss.backward()
    torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(inner_lrs.parameters()), 10.0)
    meta_opt.step()
    with torch.no_grad():
        for p in inner_lrs.values():
            p.clamp_(min=1e-4)
    history.append(meta_loss.item())
    if it % 100 == 0:
        print(f"iter {it:4d} meta-loss {np.mean(history[-100:]):.3f} "
              f"mean inner lr {torch.cat([p.flatten() for p in inner_lrs.values()]).mean():.4f}")

# sanity: grad of meta-loss wrt parameters includes second-order terms -> compare FO vs SO
xs, ys, xq, yq = tasks.sample(1, k_shot, k_query)
params = OrderedDict(model.named_parameters())
for first_order in (False, True):
    fast = inner_adapt(model, params, xs[0], ys[0], 1, 0.01, first_order=first_order)
    l = F.mse_loss(functional_call(model, fast, xq[0]), yq[0])
    g = torch.autograd.grad(l, params["layers.fc1.weight"])[0]
    print(f"first_order={first_order}: grad norm {g.norm().item():.5f}")

# Hessian-vector product via double backward (in float64 on a copy)
import copy
model_f32 = model
model = copy.deepcopy(model_f32).double()
xs, ys = xs.double(), ys.double()
loss = F.mse_loss(model(xs[0]), ys[0])
g = torch.autograd.grad(loss, model.parameters(), create_graph=True)
v = [torch.randn_like(p) for p in model.parameters()]
gv = sum((gi * vi).sum() for gi, vi in zip(g, v))
hv = torch.autograd.grad(gv, model.parameters(), retain_graph=True)
print("HVP norm:", torch.sqrt(sum((h ** 2).sum() for h in hv)).item())
# finite-difference check of HVP
eps = 1e-6
with torch.no_grad():
    plus = {n: p + eps * vi for (n, p), vi in zip(model.named_parameters(), v)}
    minus = {n: p - eps * vi for (n, p), vi in zip(model.named_parameters(), v)}
def grad_at(pdict):
    pdict = {n: p.detach().requires_grad_() for n, p in pdict.items()}
    l = F.mse_loss(functional_call(model, pdict, (xs[0],)), ys[0])
    return torch.autograd.grad(l, list(pdict.values()))
fd = [(a - b) / (2 * eps) for a, b in zip(grad_at(plus), grad_at(minus))]
rel = torch.sqrt(sum(((h - f) ** 2).sum() for h, f in zip(hv, fd))) / torch.sqrt(sum((f ** 2).sum() for f in fd))
print(f"HVP vs finite difference rel err: {rel.item():.2e}")

model = model_f32
xs, ys = xs.float(), ys.float()
# evaluation: adapt with k steps on new tasks, compare to pre-adaptation
model.eval()
xs, ys, xq, yq = tasks.sample(50, k_shot, 50)
pre, post = [], []
for t in range(50):
    params = {n: p.detach().clone().requires_grad_(True) for n, p in model.named_parameters()}
    with torch.no_grad():
        pre.append(F.mse_loss(functional_call(model, params, (xq[t],)), yq[t]).item())
    fast = inner_adapt(model, params, xs[t], ys[t], 5, 0.01, first_order=True)
    with torch.no_grad():
        post.append(F.mse_loss(functional_call(model, fast, (xq[t],)), yq[t]).item())
print(f"test: pre-adapt MSE {np.mean(pre):.3f}, post-adapt (5 steps) MSE {np.mean(post):.3f}")
