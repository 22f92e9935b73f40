"""``AdaptiveLogSoftmaxWithLoss``: the adaptive softmax of Grave et al. (2017), PyTorch's module.

Built from eigengrad's differentiable ops (``Linear``, ``log_softmax``, ``gather``, ``cat``, integer
indexing), so autograd needs nothing of its own: each row's log-probability is its head term plus, for a
target outside the shortlist, its cluster's term, the per-cluster pieces put back in row order by one
integer index (the inverse of the order in which the clusters took the rows).
"""
from __future__ import annotations

import numbers
from collections import namedtuple

import numpy as np

from eigengrad.nn import functional as F
from eigengrad.nn.modules.container import ModuleList, Sequential
from eigengrad.nn.modules.linear import Linear
from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    r"""Efficient softmax approximation for large output spaces (Grave, Joulin, Cissé, Grangier & Jégou,
    2017, "Efficient softmax approximation for GPUs"), PyTorch's module: names, defaults, parameters
    (``head``, ``tail.i.0``, ``tail.i.1``) and numbers.

    The classes, sorted by frequency, are cut by ``cutoffs`` :math:`c_1 < \dots < c_{k}` into a shortlist
    :math:`[0, c_1)` and clusters :math:`[c_i, c_{i+1})` (:math:`c_{k+1}` = ``n_classes``). The head is a
    linear layer to the :math:`c_1` shortlist classes plus one logit per cluster; cluster :math:`i` is a
    low-rank projection ``Linear(in_features, in_features // div_value**i)`` followed by a linear layer to
    its classes (both without bias). For input :math:`h` and class :math:`y`:

    .. math::
        \log p(y \mid h) = \begin{cases}
            \log \operatorname{softmax}(\mathrm{head}(h))_y & y < c_1 \\
            \log \operatorname{softmax}(\mathrm{head}(h))_{c_1 + i - 1}
                + \log \operatorname{softmax}(\mathrm{tail}_i(h))_{y - c_i} & c_i \le y < c_{i+1}
        \end{cases}

    ``forward(input, target)`` returns ``_ASMoutput(output, loss)``: ``output`` the log-probability of each
    row's target (shape ``(N,)``, or ``()`` for a 1-D input and 0-d target), ``loss`` the mean of
    ``-output``. ``log_prob(input)`` gives the full ``(N, n_classes)`` log-probabilities, ``predict(input)``
    the most likely class of each row (evaluating the clusters only for rows whose head prefers one).
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs, div_value: float = 4.0, head_bias: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > (n_classes - 1)
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        if not isinstance(div_value, numbers.Real) or isinstance(div_value, bool):
            raise TypeError(f"div_value: expected a float, got {div_value!r} ({type(div_value).__name__})")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        factory = dict(device=device, dtype=dtype)
        self.head = Linear(self.in_features, self.head_size, bias=self.head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(self.in_features // (self.div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(self.in_features, hsz, bias=False, **factory),
                                        Linear(hsz, osz, bias=False, **factory)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        targ_dim = target_.dim()
        if targ_dim == 1:
            if input_.size(0) != target_.size(0):
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input_.dim() != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with size "
                                   f"{tuple(input_.shape)}")
        elif targ_dim == 0:
            if input_.dim() != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with size "
                                   f"{tuple(input_.shape)}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        is_batched = targ_dim > 0
        input = input_ if is_batched else input_.unsqueeze(0)
        target_np = np.asarray(target_.detach().numpy()).reshape(-1).astype(np.int64)
        batch_size = target_np.shape[0]

        gather_inds = np.empty(batch_size, dtype=np.int64)
        rows_in_order, pieces = [], []
        for i in range(len(self.cutoffs)):
            low = 0 if i == 0 else self.cutoffs[i - 1]
            high = self.cutoffs[i]
            rows = np.flatnonzero((target_np >= low) & (target_np < high))
            if rows.size == 0:
                continue
            if i == 0:
                gather_inds[rows] = target_np[rows]
                pieces.append(input.new_zeros(rows.size))  # the shortlist's rows: the head term only
            else:
                relative = Tensor._wrap(target_np[rows] - low).unsqueeze(1)
                cluster_output = self.tail[i - 1](input.index_select(0, Tensor._wrap(rows)))
                gather_inds[rows] = self.shortlist_size + i - 1
                cluster_logprob = F.log_softmax(cluster_output, dim=1)
                pieces.append(cluster_logprob.gather(1, relative).squeeze(1))
            rows_in_order.append(rows)
        used = sum(r.size for r in rows_in_order)
        if used != batch_size:
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                               f"[{target_np.min()}, {target_np.max()}] were found. ")
        order = np.concatenate(rows_in_order)
        back = np.empty_like(order)
        back[order] = np.arange(batch_size)  # position of each row in the concatenated pieces
        head_logprob = F.log_softmax(self.head(input), dim=1)
        head_term = head_logprob.gather(1, Tensor._wrap(gather_inds).unsqueeze(1)).squeeze(1)
        from eigengrad import cat

        tail_term = cat(pieces)[Tensor._wrap(back)] if len(pieces) > 1 else pieces[0][Tensor._wrap(back)]
        output = tail_term + head_term
        loss = (-output).mean()
        if not is_batched:
            output = output.squeeze(0)
        return _ASMoutput(output, loss)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        """The (N, n_classes) log-probabilities, given the head's output for ``input``."""
        from eigengrad import cat

        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = F.log_softmax(self.tail[i](input), dim=1)
            parts.append(cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, dim=1)

    def log_prob(self, input: Tensor) -> Tensor:
        """Log-probabilities of every class for each row of ``input`` (N, in_features): (N, n_classes)."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each row of ``input`` (N, in_features): (N,), int64. Equivalent to
        ``log_prob(input).argmax(dim=1)``, the clusters evaluated only for rows whose head prefers a cluster."""
        from eigengrad.autograd.grad_mode import no_grad

        with no_grad():
            head_output = self.head(input)
            output = head_output.argmax(dim=1)
            out_np = np.array(output.numpy(), copy=True)
            not_in_shortlist = out_np >= self.shortlist_size
            if not not_in_shortlist.any():
                return output
            if not_in_shortlist.all():
                return self.log_prob(input).argmax(dim=1)
            rows = Tensor._wrap(np.flatnonzero(not_in_shortlist))
            log_prob = self._get_full_log_prob(input.index_select(0, rows), head_output.index_select(0, rows))
            out_np[not_in_shortlist] = np.asarray(log_prob.argmax(dim=1).numpy())
            return Tensor._wrap(out_np)

    def extra_repr(self) -> str:
        return ""
