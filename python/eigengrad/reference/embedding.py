"""Embedding references: lookups, their gradient, max_norm renormalisation and EmbeddingBag, in NumPy.

Same signatures and results as the functions of ``eigengrad._kernels``: weight (num, dim), indices of any
shape (int64 or int32), bags as starts (bags + 1) over 1-D indices, bag b holding the positions
[starts[b], starts[b + 1]). Gradients scatter with ``np.add.at`` (unbuffered, in index order).
"""
import numpy as np

BAG_MODES = ("sum", "mean", "max")


def embedding_forward(weight, indices):
    """weight[indices], shape (*indices.shape, dim)."""
    return weight[indices]


def embedding_backward(grad_out, indices, num, padding_idx, scale_grad_by_freq):
    """grad_weight (num, dim): grad_out[j] added into row indices[j] (scaled by 1 / count of that row with
    scale_grad_by_freq); the padding row (padding_idx >= 0) gets nothing."""
    idx = indices.reshape(-1).astype(np.int64)
    g = grad_out.reshape(idx.size, grad_out.shape[-1])
    gw = np.zeros((num, g.shape[1]), grad_out.dtype)
    scale = np.ones(idx.size)
    if scale_grad_by_freq:
        scale = 1.0 / np.bincount(idx, minlength=num)[idx]
    keep = idx != padding_idx
    np.add.at(gw, idx[keep], (g[keep] * scale[keep, None]).astype(grad_out.dtype))
    return gw


def _row_norm(row, norm_type):
    a = np.abs(row.astype(np.float64))
    if a.size == 0:  # a row of an embedding of dimension 0: nothing to scale (the kernel leaves it)
        return 0.0
    if np.isinf(norm_type):
        return a.max() if norm_type > 0 else a.min()
    if norm_type == 0:
        return float(np.count_nonzero(a))
    return float(np.sum(a ** norm_type) ** (1.0 / norm_type))


def embedding_renorm(weight, indices, max_norm, norm_type):
    """In place: every row indices holds whose norm exceeds max_norm is scaled by max_norm / (norm + 1e-7)."""
    for r in np.unique(indices):
        norm = _row_norm(weight[r], norm_type)
        if norm > max_norm:
            weight[r] *= weight.dtype.type(max_norm / (norm + 1e-7))


def _bag_of(starts, n):
    bag = np.full(n, -1, np.int64)
    for b in range(len(starts) - 1):
        bag[starts[b]:starts[b + 1]] = b
    return bag


def embedding_bag_forward(weight, indices, starts, per_sample_weights, mode, padding_idx):
    """(out (bags, dim), bag_size (bags,), max_indices (bags, dim) or None): each bag's kept rows (those not
    padding_idx) summed (times per_sample_weights), averaged, or maxed element by element (the first row
    of the bag initialises, a strictly larger value replaces; max_indices holds the row, -1 for an empty
    bag); an empty bag gives zeros."""
    bags, dim = len(starts) - 1, weight.shape[1]
    out = np.zeros((bags, dim), weight.dtype)
    bag_size = np.zeros(bags, np.int64)
    max_indices = np.full((bags, dim), -1, np.int64) if mode == "max" else None
    for b in range(bags):
        pos = [j for j in range(starts[b], starts[b + 1]) if indices[j] != padding_idx]
        bag_size[b] = len(pos)
        if not pos:
            continue
        rows = weight[indices[pos]]
        if mode == "max":
            out[b], max_indices[b] = rows[0], indices[pos[0]]
            for j, row in zip(pos[1:], rows[1:]):
                larger = row > out[b]
                out[b][larger], max_indices[b][larger] = row[larger], indices[j]
        else:
            w = per_sample_weights[pos][:, None] if per_sample_weights is not None else 1
            out[b] = (rows * w).sum(axis=0) / (len(pos) if mode == "mean" else 1)
    return out, bag_size, max_indices


def embedding_bag_backward(grad_out, indices, starts, per_sample_weights, bag_size, max_indices, num, mode,
                           padding_idx, scale_grad_by_freq):
    """grad_weight (num, dim) of embedding_bag_forward."""
    dim = grad_out.shape[1]
    gw = np.zeros((num, dim), grad_out.dtype)
    if mode == "max":
        for b in range(grad_out.shape[0]):
            for k in range(dim):
                if max_indices[b, k] >= 0:
                    gw[max_indices[b, k], k] += grad_out[b, k]
        return gw
    idx = indices.reshape(-1).astype(np.int64)
    bag = _bag_of(starts, idx.size)
    counts = np.bincount(idx, minlength=num)
    for j in range(idx.size):
        if bag[j] < 0 or idx[j] == padding_idx:
            continue
        s = float(per_sample_weights[j]) if per_sample_weights is not None else 1.0
        if mode == "mean":
            s /= bag_size[bag[j]]
        if scale_grad_by_freq:
            s /= counts[idx[j]]
        gw[idx[j]] += grad_out.dtype.type(s) * grad_out[bag[j]]
    return gw


def embedding_bag_per_sample_weights_backward(grad_out, weight, indices, starts, padding_idx):
    """grad of the per-sample weights of a 'sum' bag: <grad_out[bag], weight[row]>, 0 for padding and for
    positions in no bag."""
    idx = indices.reshape(-1).astype(np.int64)
    bag = _bag_of(starts, idx.size)
    keep = (bag >= 0) & (idx != padding_idx)
    out = np.zeros(idx.size, weight.dtype)
    out[keep] = np.einsum("jd,jd->j", grad_out[bag[keep]].astype(np.float64), weight[idx[keep]].astype(np.float64))
    return out
