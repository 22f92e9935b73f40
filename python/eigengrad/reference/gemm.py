"""GEMM reference."""
import numpy as np


def gemm(a, b, bias=None, trans_a=False, trans_b=False):
    """op(a) @ op(b) [+ bias on every row]."""
    out = (a.T if trans_a else a) @ (b.T if trans_b else b)
    return out + bias if bias is not None else out


def gemm_relu_dropout(a, b, bias, trans_a, trans_b, seed, offset, threshold, scale):
    """eg.compile's fused Linear -> ReLU -> Dropout: (out, mask) as relu_dropout_forward of the product."""
    from eigengrad.reference.dropout import relu_dropout_forward

    return relu_dropout_forward(gemm(a, b, bias, trans_a, trans_b), seed, offset, threshold, scale)
