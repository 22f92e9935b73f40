"""In-place scenarios shared by test_tensor_inplace.py (gradcheck) and test_torch_parity_inplace.py (the same
code run on torch tensors)."""


def chain(x, w):
    """A function of x (3, 4) and w (4,) written with every in-place op, through views too."""
    y = x * 1.5
    y += w
    y.sub_(x, alpha=0.5)
    y *= w
    y /= 1 + w * w
    y.add_(w.exp(), alpha=2)
    y.clamp_(-1.0, 1.0)
    y[1] = w * 3
    y[[0, 2]] = y[[2, 0]] * x[0]
    y.t().mul_(2)  # through a view: CopySlices on y
    y[:, 1:3] += x[:, :2]
    return y
