"""Datasets shipped with eigengrad (the digits, a text) or read from standard locations (MNIST, Fashion-MNIST)."""
from eigengrad.datasets.digits import Digits, load_digits
from eigengrad.datasets.idx import read_idx, write_idx
from eigengrad.datasets.mnist_files import FASHION_MNIST_CLASSES, fashion_mnist, mnist
from eigengrad.datasets.text import ALICE_SOURCE, load_alice

__all__ = ["Digits", "load_digits", "fashion_mnist", "mnist", "FASHION_MNIST_CLASSES", "read_idx", "write_idx",
           "load_alice", "ALICE_SOURCE"]
