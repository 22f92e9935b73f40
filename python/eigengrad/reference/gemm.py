"""GEMM reference."""
import numpy as np


def gemm(a, b, bias=None, trans_a=False, trans_b=False):
    """op(a) @ op(b) [+ bias on every row]."""
    out = (a.T if trans_a else a) @ (b.T if trans_b else b)
    return out + bias if bias is not None else out
