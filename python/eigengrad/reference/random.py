"""Philox4x32-10 and the fills built on it, vectorised in NumPy."""
import numpy as np

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_LO = np.uint64(0xFFFFFFFF)


def philox4x32(ctr_lo, ctr_hi, seed):
    """The four uint32 words of Philox4x32-10 blocks for arrays of 64-bit counters (ctr_lo, ctr_hi)."""
    ctr_lo = np.asarray(ctr_lo, dtype=np.uint64)
    ctr_hi = np.broadcast_to(np.asarray(ctr_hi, dtype=np.uint64), ctr_lo.shape)
    c0, c1 = ctr_lo & _LO, ctr_lo >> np.uint64(32)
    c2, c3 = ctr_hi & _LO, ctr_hi >> np.uint64(32)
    k0, k1 = int(seed) & 0xFFFFFFFF, (int(seed) >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0, p1 = _M0 * c0, _M1 * c2
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0), p1 & _LO,
                          (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1), p0 & _LO)
        k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
    return tuple(w.astype(np.uint32) for w in (c0, c1, c2, c3))


def _unit_double(hi, lo):
    bits = (hi.astype(np.uint64) << np.uint64(21)) ^ (lo.astype(np.uint64) >> np.uint64(11))
    return bits.astype(np.float64) * 2.0**-53


def uniform_fill(n, dtype, seed, offset, low=0.0, high=1.0):
    w = philox4x32(np.arange(n, dtype=np.uint64) + np.uint64(offset), 0, seed)
    if np.dtype(dtype) == np.float32:
        u = (w[0] >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-24)
        v = (low + (high - low) * u.astype(np.float64)).astype(np.float32)
    else:
        v = low + (high - low) * _unit_double(w[0], w[1])
    return np.where(v < np.asarray(high, dtype) if high > low else True, v, low).astype(dtype)


def normal_fill(n, dtype, seed, offset, mean=0.0, std=1.0):
    w = philox4x32(np.arange(n, dtype=np.uint64) + np.uint64(offset), 0, seed)
    u1 = 1.0 - _unit_double(w[0], w[1])
    u2 = _unit_double(w[2], w[3])
    return (mean + std * np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * np.pi * u2)).astype(dtype)


def randperm(n, seed, offset):
    out = np.arange(n, dtype=np.int64)
    if n < 2:
        return out
    w = philox4x32(np.arange(n - 1, dtype=np.uint64) + np.uint64(offset), 0, seed)
    bits = (w[0].astype(np.uint64) << np.uint64(32)) | w[1].astype(np.uint64)
    for step, i in enumerate(range(n - 1, 0, -1)):
        j = int(bits[step] % np.uint64(i + 1))
        out[i], out[j] = out[j], out[i]
    return out
