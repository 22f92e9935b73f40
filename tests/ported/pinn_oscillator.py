"""A physics-informed neural network as the popular "PINNs for the damped harmonic oscillator" code writes
it (and DeepXDE-style scripts after it): a tanh MLP u(t), derivatives of the network with respect to its
*input* from ``torch.autograd.grad(u, t, torch.ones_like(u), create_graph=True)`` (twice, for u''), a
loss made of the ODE residual at collocation points ``requires_grad_(True)`` plus the initial conditions,
Adam then ``optim.LBFGS(..., line_search_fn="strong_wolfe")`` with a closure, and the inverse problem
(the friction ``mu`` as an extra ``nn.Parameter`` learnt from noisy observations). The derivatives are then
cross-checked the torch.func way (``vmap(jacrev(jacrev(f)))`` over a ``functional_call``) and with
``torch.autograd.functional.jacobian``/``hessian``, and the empirical neural tangent kernel is computed from
per-sample Jacobians with respect to the parameter dict (``vmap(jacrev(fnet_single), (None, 0))``)."""
import numpy as np
import torch
import torch.nn as nn
from torch.func import functional_call, jacrev, vmap

torch.manual_seed(123)
np.random.seed(123)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"torch {torch.__version__.split('+')[0][:1]}.x on {device}")

# the damped oscillator m u'' + mu u' + k u = 0, u(0) = 1, u'(0) = 0 (under-damped: d < w0)
d, w0 = 2, 20
mu_true, k = 2 * d, w0 ** 2


def exact_solution(d, w0, t):
    """Defines the analytical solution to the under-damped harmonic oscillator problem above."""
    assert d < w0
    w = np.sqrt(w0 ** 2 - d ** 2)
    phi = np.arctan(-d / w)
    A = 1 / (2 * np.cos(phi))
    cos = torch.cos(phi + w * t)
    exp = torch.exp(-d * t)
    u = exp * 2 * A * cos
    return u


class FCN(nn.Module):
    "Defines a standard fully-connected network in PyTorch"

    def __init__(self, N_INPUT, N_OUTPUT, N_HIDDEN, N_LAYERS):
        super().__init__()
        activation = nn.Tanh
        self.fcs = nn.Sequential(*[nn.Linear(N_INPUT, N_HIDDEN), activation()])
        self.fch = nn.Sequential(*[nn.Sequential(*[nn.Linear(N_HIDDEN, N_HIDDEN), activation()])
                                   for _ in range(N_LAYERS - 1)])
        self.fce = nn.Linear(N_HIDDEN, N_OUTPUT)

    def forward(self, x):
        x = self.fcs(x)
        x = self.fch(x)
        x = self.fce(x)
        return x


def derivatives(pinn, t):
    u = pinn(t)
    dudt = torch.autograd.grad(u, t, torch.ones_like(u), create_graph=True)[0]
    d2udt2 = torch.autograd.grad(dudt, t, torch.ones_like(dudt), create_graph=True)[0]
    return u, dudt, d2udt2


# ---------------------------------------------------------------- forward problem
pinn = FCN(1, 1, 32, 3).to(device)
t_boundary = torch.tensor(0.).view(-1, 1).requires_grad_(True)
t_physics = torch.linspace(0, 1, 60).view(-1, 1).requires_grad_(True)
t_test = torch.linspace(0, 1, 300).view(-1, 1)
u_exact = exact_solution(d, w0, t_test)
optimiser = torch.optim.Adam(pinn.parameters(), lr=1e-3)
lambda1, lambda2 = 1e-1, 1e-4


def pinn_loss():
    # boundary loss: u(0) = 1 and u'(0) = 0
    u = pinn(t_boundary)
    loss1 = (torch.squeeze(u) - 1) ** 2
    dudt = torch.autograd.grad(u, t_boundary, torch.ones_like(u), create_graph=True)[0]
    loss2 = (torch.squeeze(dudt) - 0) ** 2
    # physics loss at the collocation points
    u, dudt, d2udt2 = derivatives(pinn, t_physics)
    loss3 = torch.mean((d2udt2 + mu_true * dudt + k * u) ** 2)
    return loss1 + lambda1 * loss2 + lambda2 * loss3


for i in range(1001):
    optimiser.zero_grad()
    loss = pinn_loss()
    loss.backward()
    optimiser.step()
    if i % 250 == 0:
        with torch.no_grad():
            err = torch.mean(torch.abs(pinn(t_test) - u_exact)).item()
        print(f"adam step {i:5d} loss {loss.item():.6f} mean |u - u_exact| {err:.4f}")

lbfgs = torch.optim.LBFGS(pinn.parameters(), lr=1.0, max_iter=20, history_size=50, line_search_fn="strong_wolfe",
                          tolerance_grad=1e-9, tolerance_change=1e-12)


def closure():
    lbfgs.zero_grad()
    loss = pinn_loss()
    loss.backward()
    return loss


for i in range(1, 11):
    loss = lbfgs.step(closure)
    if i % 5 == 0:
        with torch.no_grad():
            err = torch.mean(torch.abs(pinn(t_test) - u_exact)).item()
        print(f"lbfgs step {i:3d} loss {loss.item():.6f} mean |u - u_exact| {err:.4f}")
with torch.no_grad():
    forward_error = torch.mean(torch.abs(pinn(t_test) - u_exact)).item()
print(f"forward problem: error {forward_error:.4f}")

# ---------------------------------------------------------------- derivative cross-checks
params = {name: p.detach() for name, p in pinn.named_parameters()}


def u_scalar(t_scalar):
    return functional_call(pinn, params, (t_scalar.reshape(1, 1),)).squeeze()


t_check = torch.linspace(0, 1, 7)
du_func = vmap(jacrev(u_scalar))(t_check)
d2u_func = vmap(jacrev(jacrev(u_scalar)))(t_check)
t_req = t_check.view(-1, 1).clone().requires_grad_(True)
_, du_auto, d2u_auto = derivatives(pinn, t_req)
print(f"torch.func vs autograd.grad: u' {torch.allclose(du_func, du_auto.view(-1), atol=1e-4)}, "
      f"u'' {torch.allclose(d2u_func, d2u_auto.view(-1), atol=1e-3)}")
jac = torch.autograd.functional.jacobian(lambda t: pinn(t.view(-1, 1)).view(-1), t_check)
hess = torch.autograd.functional.hessian(lambda t: pinn(t.view(1, 1)).sum(), t_check[3:4])
print(f"functional.jacobian diagonal matches: {torch.allclose(torch.diagonal(jac), du_func, atol=1e-4)}, "
      f"off-diagonal zero: {jac.sum().item() - torch.diagonal(jac).sum().item():.1e}, "
      f"hessian shape {tuple(hess.shape)} matches: {torch.allclose(hess.view(-1), d2u_func[3:4], atol=1e-3)}")

# the empirical NTK of u at a few points (the "NTK perspective" on PINN training), as the torch.func tutorial
# "Neural Tangent Kernels" computes it: per-sample Jacobians with respect to the parameter dict


def fnet_single(params, t):
    return functional_call(pinn, params, (t.unsqueeze(0),)).squeeze(0)


t_ntk = torch.linspace(0, 1, 8).view(-1, 1)
jac1 = vmap(jacrev(fnet_single), (None, 0))(params, t_ntk)
jac1 = [j.flatten(2) for j in jac1.values()]
ntk = torch.stack([torch.einsum('Naf,Mbf->NMab', j1, j2) for j1, j2 in zip(jac1, jac1)]).sum(0).squeeze()
eig = torch.linalg.eigvalsh(ntk)
print(f"NTK {tuple(ntk.shape)} symmetric: {torch.allclose(ntk, ntk.T, atol=1e-4)}, "
      f"positive semi-definite: {bool((eig > -1e-3 * eig.max()).all())}")

# ---------------------------------------------------------------- inverse problem: learn mu from noisy data
d, w0 = 1.5, 8  # a slower oscillator, observed at 40 noisy points
mu_true, k = 2 * d, w0 ** 2
t_obs = torch.rand(40).view(-1, 1)
u_obs = exact_solution(d, w0, t_obs) + 0.04 * torch.randn_like(t_obs)
pinn = FCN(1, 1, 32, 3).to(device)
mu = nn.Parameter(torch.zeros(1, requires_grad=True))
mus = []
optimiser = torch.optim.Adam([{'params': pinn.parameters()}, {'params': [mu], 'lr': 2e-2}], lr=3e-3)
lambda_data = 1e2
for i in range(901):
    optimiser.zero_grad()
    u, dudt, d2udt2 = derivatives(pinn, t_physics)
    loss1 = torch.mean(((d2udt2 + mu * dudt + k * u) / k) ** 2)
    loss2 = torch.mean((pinn(t_obs) - u_obs) ** 2)
    loss = loss1 + lambda_data * loss2
    loss.backward()
    optimiser.step()
    mus.append(mu.item())
    if i % 300 == 0:
        print(f"inverse step {i:5d} inv_loss {loss.item():.4f} mu {mu.item():.3f} (true {mu_true})")
print(f"mu_error {abs(mus[-1] - mu_true):.3f} mu_fit {1 - abs(mus[-1] - mu_true) / mu_true:.3f}")
print(f"accuracy {1 - forward_error:.4f}")
