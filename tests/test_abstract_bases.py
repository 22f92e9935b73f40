"""The extension points (Dataset, Transform, the chainable schedulers, Metric, search Dimension and Strategy)
are abstract: a subclass that leaves out a required method is refused when built, naming the method, rather
than failing later mid-training. A Sampler is PyTorch's protocol (``__iter__``; not abstract, so that a
script's sampler with ``__iter__`` alone works): one without it is a TypeError when iterated, naming it."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import tune
from eigengrad.data import transforms as T
from eigengrad.data.sampler import BatchSampler, Sampler, SequentialSampler
from eigengrad.optim._schedulers.decay import _Chainable
from eigengrad.train.metrics import Metric


@pytest.mark.parametrize("base,missing", [
    (eg.data.Dataset, "__len__"),
    (T.Transform, "_apply"), (_Chainable, "_closed_form"), (Metric, "batch_sum"), (tune.Dimension, "grid"),
    (tune.Strategy, "ask"),
])
def test_incomplete_subclasses_are_refused_naming_the_method(base, missing):
    incomplete = type("Incomplete", (base,), {})
    with pytest.raises(TypeError, match=missing):
        incomplete()


def test_a_sampler_without_iter_fails_when_iterated_naming_it():
    incomplete = type("Incomplete", (Sampler,), {})()
    with pytest.raises(TypeError, match="a Sampler subclass must define __iter__"):
        list(incomplete)


def test_batch_sampler_indices_are_its_batches_in_order():
    bs = BatchSampler(SequentialSampler(range(10)), batch_size=4, drop_last=True)
    np.testing.assert_array_equal(bs.indices(), np.arange(8))
    assert [list(b) for b in bs] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_compose_chains_transforms_and_plain_callables():
    x = np.arange(2 * 1 * 2 * 3, dtype=np.float32).reshape(2, 1, 2, 3)
    out = T.Compose([T.RandomHorizontalFlip(p=1.0), lambda b: b * 2])(x)
    np.testing.assert_array_equal(out, x[..., ::-1] * 2)
