"""Activation references; backward from the saved output y, as the kernels do."""
import numpy as np


def relu_forward(x):
    return np.maximum(x, x.dtype.type(0))


def relu_backward(grad_out, y):
    return grad_out * (y > 0)


def sigmoid_forward(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_backward(grad_out, y):
    return grad_out * y * (1 - y)


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(grad_out, y):
    return grad_out * (1 - y * y)
