"""The square-matrix functions under PyTorch's top-level and method names (``inverse``, ``det``, ``logdet``,
``slogdet``, ``matrix_power``, ``cholesky``, ``chain_matmul``): eigengrad.linalg's, which own them."""
from __future__ import annotations


def _linalg():
    from eigengrad import linalg

    return linalg


def inverse(input, *, out=None):
    return _linalg().inv(input)


def det(input):
    return _linalg().det(input)


def logdet(input):
    return _linalg().logdet(input)


def slogdet(input):
    return _linalg().slogdet(input)


def matrix_power(input, n: int):
    return _linalg().matrix_power(input, n)


def cholesky(input, upper: bool = False, *, out=None):
    return _linalg().cholesky(input, upper=upper)


def chain_matmul(*matrices, out=None):
    return _linalg().multi_dot(matrices)


METHODS = ("inverse", "det", "logdet", "slogdet", "matrix_power", "cholesky")
FUNCTIONS = METHODS + ("chain_matmul",)
