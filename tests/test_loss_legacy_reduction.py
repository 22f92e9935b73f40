"""PyTorch's deprecated ``size_average``/``reduce`` arguments of every loss (functional and module), and
``reduction='elementwise_mean'``, accepted as PyTorch 2.13 does: mapped by ``nn._reduction.legacy_get_string``
(size_average None -> True, reduce None -> True; reduce False -> 'none'; else 'mean' if size_average else
'sum') with PyTorch's UserWarning, in PyTorch's positional parameter order. Literal expected values (computed
once with PyTorch 2.13 in float64) on a small case; side by side with PyTorch when it is importable."""
import inspect
import itertools
import warnings

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn
from eigengrad.nn import _reduction

TOL = 1e-12
LEGACY = "size_average and reduce args will be deprecated, please use reduction='{}' instead."
ELEMENTWISE = "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead."
KL_MEAN = ("reduction: 'mean' divides the total loss by both the batch size and the support size."
           "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
           "'mean' will be changed to behave the same as 'batchmean' in the next major release.")
COMBOS = list(itertools.product((None, True, False), repeat=2))

X = np.array([[0.2, -0.5, 1.0], [0.3, 0.8, -1.2]])
Y = np.array([[0.1, 0.5, 0.7], [-0.2, 1.5, -1.0]])
P = np.array([[0.2, 0.7, 0.5], [0.9, 0.4, 0.1]])
B = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
S = np.array([[1.0, -1.0, 1.0], [-1.0, 1.0, 1.0]])
T = np.array([2, 0])
LS = X - np.log(np.exp(X).sum(1, keepdims=True))
SM = np.exp(Y) / np.exp(Y).sum(1, keepdims=True)

# the tensors of each loss (positional), and its value for each reduction (PyTorch 2.13, float64)
CASES = {
    "cross_entropy": (X, T),
    "nll_loss": (LS, T),
    "binary_cross_entropy": (P, B),
    "binary_cross_entropy_with_logits": (X, B),
    "mse_loss": (X, Y),
    "l1_loss": (X, Y),
    "smooth_l1_loss": (X, Y),
    "kl_div": (LS, SM),
    "margin_ranking_loss": (X[0], Y[0], -S[0]),
    "hinge_embedding_loss": (X.ravel(), S.ravel()),
    "soft_margin_loss": (X, S),
    "cosine_embedding_loss": (X, Y, np.array([1.0, -1.0])),
    "triplet_margin_loss": (X, Y, 0.5 * X + 0.3),
    "poisson_nll_loss": (X, np.array([[1.0, 0, 2], [3, 1, 0]])),
    "multi_margin_loss": (X, T),
    "multilabel_margin_loss": (X, np.array([[2, 0, -1], [1, -1, 0]])),
    "multilabel_soft_margin_loss": (X, B),
}
EXPECTED = {
    'cross_entropy': {'mean': 0.784625996231311, 'sum': 1.569251992462622, 'none': [0.5142950728206315, 1.0549569196419906]},
    'nll_loss': {'mean': 0.7846259962313111, 'sum': 1.5692519924626223, 'none': [0.5142950728206315, 1.0549569196419908]},
    'binary_cross_entropy': {'mean': 0.3324187218157551, 'sum': 1.9945123308945307, 'none': [[0.22314355131420976, 0.35667494393873245, 0.6931471805599453], [0.10536051565782628, 0.5108256237659907, 0.10536051565782631]]},
    'binary_cross_entropy_with_logits': {'mean': 0.6790359864723762, 'sum': 4.074215918834257, 'none': [[0.7981388693815918, 0.9740769841801067, 0.31326168751822286], [0.5543552444685271, 1.1711006659477778, 0.2632824673380312]]},
    'mse_loss': {'mean': 0.31333333333333335, 'sum': 1.8800000000000001, 'none': [[0.010000000000000002, 1.0, 0.09000000000000002], [0.25, 0.48999999999999994, 0.03999999999999998]]},
    'l1_loss': {'mean': 0.4666666666666666, 'sum': 2.8, 'none': [[0.1, 1.0, 0.30000000000000004], [0.5, 0.7, 0.19999999999999996]]},
    'smooth_l1_loss': {'mean': 0.15666666666666668, 'sum': 0.9400000000000001, 'none': [[0.005000000000000001, 0.5, 0.04500000000000001], [0.125, 0.24499999999999997, 0.01999999999999999]]},
    'kl_div': {'mean': 0.043775294984912984, 'sum': 0.2626517699094779, 'none': [[-0.034204754368667656, 0.3293685760293291, -0.14680091021814304], [-0.1270976564476324, 0.25306433113587373, -0.011677816221281945]]},
    'margin_ranking_loss': {'mean': 0.46666666666666673, 'sum': 1.4000000000000001, 'none': [0.1, 1.0, 0.30000000000000004]},
    'hinge_embedding_loss': {'mean': 0.5, 'sum': 3.0, 'none': [0.2, 1.5, 1.0, 0.7, 0.8, -1.2]},
    'soft_margin_loss': {'mean': 0.6790359864723762, 'sum': 4.074215918834257, 'none': [[0.5981388693815918, 0.4740769841801067, 0.31326168751822286], [0.8543552444685272, 0.3711006659477777, 1.4632824673380311]]},
    'cosine_embedding_loss': {'mean': 0.6989685338334046, 'sum': 1.3979370676668093, 'none': [0.5221711462916758, 0.8757659213751335]},
    'triplet_margin_loss': {'mean': 1.1978210013654456, 'sum': 2.395642002730891, 'none': [1.4303433215467292, 0.965298681184162]},
    'poisson_nll_loss': {'mean': 0.7538015323854204, 'sum': 4.522809194312522, 'none': [[1.02140275816017, 0.6065306597126334, 0.7182818284590451], [0.4498588075760033, 1.4255409284924678, 0.30119421191220214]]},
    'multi_margin_loss': {'mean': 0.2833333333333333, 'sum': 0.5666666666666667, 'none': [0.06666666666666667, 0.5]},
    'multilabel_margin_loss': {'mean': 0.13333333333333333, 'sum': 0.26666666666666666, 'none': [0.10000000000000002, 0.16666666666666666]},
    'multilabel_soft_margin_loss': {'mean': 0.6790359864723763, 'sum': 1.3580719729447526, 'none': [0.6951591803599738, 0.6629127925847788]},
}

# module -> (its functional, constructor keywords besides the reduction ones)
MODULES = {
    "CrossEntropyLoss": ("cross_entropy", {}),
    "NLLLoss": ("nll_loss", {}),
    "BCELoss": ("binary_cross_entropy", {}),
    "BCEWithLogitsLoss": ("binary_cross_entropy_with_logits", {}),
    "MSELoss": ("mse_loss", {}),
    "L1Loss": ("l1_loss", {}),
    "SmoothL1Loss": ("smooth_l1_loss", {}),
    "KLDivLoss": ("kl_div", {}),
    "MarginRankingLoss": ("margin_ranking_loss", {}),
    "HingeEmbeddingLoss": ("hinge_embedding_loss", {}),
    "SoftMarginLoss": ("soft_margin_loss", {}),
    "CosineEmbeddingLoss": ("cosine_embedding_loss", {}),
    "TripletMarginLoss": ("triplet_margin_loss", {}),
    "PoissonNLLLoss": ("poisson_nll_loss", {}),
    "MultiMarginLoss": ("multi_margin_loss", {}),
    "MultiLabelMarginLoss": ("multilabel_margin_loss", {}),
    "MultiLabelSoftMarginLoss": ("multilabel_soft_margin_loss", {}),
}

# PyTorch 2.13's parameters, in order (name, keyword-only)
FUNCTIONAL_PARAMS = {
    "cross_entropy": "input target weight size_average ignore_index reduce reduction label_smoothing",
    "nll_loss": "input target weight size_average ignore_index reduce reduction",
    "binary_cross_entropy": "input target weight size_average reduce reduction",
    "binary_cross_entropy_with_logits": "input target weight size_average reduce reduction pos_weight",
    "mse_loss": "input target size_average reduce reduction weight",
    "l1_loss": "input target size_average reduce reduction weight",
    "huber_loss": "input target reduction delta weight",
    "smooth_l1_loss": "input target size_average reduce reduction beta",
    "kl_div": "input target size_average reduce reduction log_target",
    "margin_ranking_loss": "input1 input2 target margin size_average reduce reduction",
    "hinge_embedding_loss": "input target margin size_average reduce reduction",
    "soft_margin_loss": "input target size_average reduce reduction",
    "cosine_embedding_loss": "input1 input2 target margin size_average reduce reduction",
    "triplet_margin_loss": "anchor positive negative margin p eps swap size_average reduce reduction",
    "triplet_margin_with_distance_loss": "anchor positive negative *distance_function *margin *swap *reduction",
    "poisson_nll_loss": "input target log_input full size_average eps reduce reduction",
    "gaussian_nll_loss": "input target var full eps reduction",
    "multi_margin_loss": "input target p margin weight size_average reduce reduction",
    "multilabel_margin_loss": "input target size_average reduce reduction",
    "multilabel_soft_margin_loss": "input target weight size_average reduce reduction",
    "ctc_loss": "log_probs targets input_lengths target_lengths blank reduction zero_infinity",
}
MODULE_PARAMS = {
    "CrossEntropyLoss": "weight size_average ignore_index reduce reduction label_smoothing",
    "NLLLoss": "weight size_average ignore_index reduce reduction",
    "BCELoss": "weight size_average reduce reduction",
    "BCEWithLogitsLoss": "weight size_average reduce reduction pos_weight",
    "MSELoss": "size_average reduce reduction",
    "L1Loss": "size_average reduce reduction",
    "HuberLoss": "reduction delta",
    "SmoothL1Loss": "size_average reduce reduction beta",
    "KLDivLoss": "size_average reduce reduction log_target",
    "MarginRankingLoss": "margin size_average reduce reduction",
    "HingeEmbeddingLoss": "margin size_average reduce reduction",
    "SoftMarginLoss": "size_average reduce reduction",
    "CosineEmbeddingLoss": "margin size_average reduce reduction",
    "TripletMarginLoss": "margin p eps swap size_average reduce reduction",
    "TripletMarginWithDistanceLoss": "*distance_function *margin *swap *reduction",
    "PoissonNLLLoss": "log_input full size_average eps reduce reduction",
    "GaussianNLLLoss": "*full *eps *reduction",
    "MultiMarginLoss": "p margin weight size_average reduce reduction",
    "MultiLabelMarginLoss": "size_average reduce reduction",
    "MultiLabelSoftMarginLoss": "weight size_average reduce reduction",
    "CTCLoss": "blank reduction zero_infinity",
}


def legacy(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


def eg_args(name):
    return [eg.tensor(a) for a in CASES[name]]


def torch_args(torch, name):
    return [torch.tensor(a) for a in CASES[name]]


def recorded(fn, *args, **kwargs):
    """(result, [(category, message)]) of fn(*args, **kwargs), every warning recorded."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [(w.category, str(w.message)) for w in caught]


def value(t) -> np.ndarray:
    return np.asarray(t.detach().numpy() if hasattr(t, "detach") else t, dtype=np.float64)


def close(actual, expected) -> None:
    a, e = value(actual), np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape
    np.testing.assert_allclose(a, e, rtol=TOL, atol=TOL)


def legacy_kwargs(size_average, reduce) -> dict:
    kw = {}
    if size_average is not None:
        kw["size_average"] = size_average
    if reduce is not None:
        kw["reduce"] = reduce
    return kw


def expected_warnings(name, size_average, reduce, explicit=None) -> list:
    if size_average is not None or reduce is not None:
        return [(UserWarning, LEGACY.format(legacy(size_average, reduce)))]
    if name == "kl_div" and (explicit or "mean") == "mean":
        return [(UserWarning, KL_MEAN)]
    return []


# --- the helpers ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("size_average,reduce", COMBOS)
def test_legacy_get_string(size_average, reduce):
    expected = {(None, None): "mean", (None, True): "mean", (None, False): "none", (True, None): "mean",
                (True, True): "mean", (True, False): "none", (False, None): "sum", (False, True): "sum",
                (False, False): "none"}[(size_average, reduce)]
    out, caught = recorded(_reduction.legacy_get_string, size_average, reduce)
    assert out == expected
    assert caught == [(UserWarning, LEGACY.format(expected))]
    out, caught = recorded(_reduction.legacy_get_string, size_average, reduce, emit_warning=False)
    assert out == expected and caught == []
    out, caught = recorded(_reduction.legacy_get_enum, size_average, reduce)
    assert out == {"none": 0, "mean": 1, "sum": 2}[expected]
    assert caught == [(UserWarning, LEGACY.format(expected))]


def test_get_enum():
    assert [_reduction.get_enum(r) for r in ("none", "mean", "sum")] == [0, 1, 2]
    out, caught = recorded(_reduction.get_enum, "elementwise_mean")
    assert out == 1 and caught == [(UserWarning, ELEMENTWISE)]
    with pytest.raises(ValueError, match="batchmean is not a valid value for reduction"):
        _reduction.get_enum("batchmean")


def test_eigengrad_nn_has_reduction_module():
    import eigengrad.nn._reduction as R

    assert R.legacy_get_string(False, None, emit_warning=False) == "sum"


# --- the functional losses ------------------------------------------------------------------------------

@pytest.mark.parametrize("size_average,reduce", COMBOS)
@pytest.mark.parametrize("name", list(CASES))
def test_functional_legacy_arguments(name, size_average, reduce):
    fn = getattr(F, name)
    reduction = legacy(size_average, reduce)
    out, caught = recorded(fn, *eg_args(name), **legacy_kwargs(size_average, reduce))
    close(out, EXPECTED[name][reduction])
    assert caught == expected_warnings(name, size_average, reduce)
    explicit, _ = recorded(fn, *eg_args(name), reduction=reduction)
    np.testing.assert_array_equal(value(out), value(explicit))


@pytest.mark.parametrize("name", list(CASES))
def test_functional_legacy_arguments_override_reduction(name):
    """Given, size_average/reduce decide: reduction is ignored (even a value that is not a reduction)."""
    fn = getattr(F, name)
    for reduction in ("none", "mean", "not a reduction"):
        out, caught = recorded(fn, *eg_args(name), size_average=False, reduction=reduction)
        if name == "kl_div":
            caught = [c for c in caught if c[1] != KL_MEAN]
        close(out, EXPECTED[name]["sum"])
        assert caught == [(UserWarning, LEGACY.format("sum"))]


def test_functional_signatures_follow_pytorch():
    for name, params in FUNCTIONAL_PARAMS.items():
        sig = inspect.signature(getattr(F, name))
        got = " ".join(("*" if p.kind is p.KEYWORD_ONLY else "") + p.name for p in sig.parameters.values())
        assert got == params, name
        for p in sig.parameters.values():
            if p.name in ("size_average", "reduce"):
                assert p.default is None, name
            if p.name == "reduction":
                assert p.default == "mean", name


def test_functional_positional_binding():
    x, t = eg.tensor(LS), eg.tensor(T)
    w = eg.tensor(np.ones(3))
    out, caught = recorded(F.nll_loss, x, t, w, None, -100, None, "sum")
    close(out, EXPECTED["nll_loss"]["sum"])
    assert caught == []
    out, caught = recorded(F.nll_loss, x, t, None, False)  # size_average=False
    close(out, EXPECTED["nll_loss"]["sum"])
    assert caught == [(UserWarning, LEGACY.format("sum"))]
    out, caught = recorded(F.cross_entropy, *eg_args("cross_entropy"), None, None, -100, False)  # reduce=False
    close(out, EXPECTED["cross_entropy"]["none"])
    assert caught == [(UserWarning, LEGACY.format("none"))]
    out, caught = recorded(F.mse_loss, *eg_args("mse_loss"), False)  # the VAE scripts' size_average=False
    close(out, EXPECTED["mse_loss"]["sum"])
    assert caught == [(UserWarning, LEGACY.format("sum"))]
    out, _ = recorded(F.mse_loss, *eg_args("mse_loss"), None, None, "none")
    close(out, EXPECTED["mse_loss"]["none"])
    out, caught = recorded(F.binary_cross_entropy, *eg_args("binary_cross_entropy"), None, False)
    close(out, EXPECTED["binary_cross_entropy"]["sum"])
    out, _ = recorded(F.kl_div, *eg_args("kl_div"), None, None, "sum")
    close(out, EXPECTED["kl_div"]["sum"])
    out, caught = recorded(F.poisson_nll_loss, *eg_args("poisson_nll_loss"), True, False, None, 1e-8, False)
    close(out, EXPECTED["poisson_nll_loss"]["none"])
    assert caught == [(UserWarning, LEGACY.format("none"))]
    out, _ = recorded(F.triplet_margin_loss, *eg_args("triplet_margin_loss"), 1.0, 2, 1e-6, False, False)
    close(out, EXPECTED["triplet_margin_loss"]["sum"])
    out, _ = recorded(F.multi_margin_loss, *eg_args("multi_margin_loss"), 1, 1.0, None, None, None, "sum")
    close(out, EXPECTED["multi_margin_loss"]["sum"])
    out, _ = recorded(F.huber_loss, eg.tensor(X), eg.tensor(Y), "sum", 1.0)
    close(out, EXPECTED["smooth_l1_loss"]["sum"])  # delta = beta = 1: the same values


def test_kl_div_legacy_with_batchmean_divides_by_the_batch():
    """PyTorch's quirk: the legacy reduction, then / input.size(0) when reduction='batchmean' was given too."""
    out, caught = recorded(F.kl_div, *eg_args("kl_div"), size_average=False, reduction="batchmean")
    close(out, EXPECTED["kl_div"]["sum"] / 2)
    assert caught == [(UserWarning, LEGACY.format("sum"))]
    out, _ = recorded(F.kl_div, *eg_args("kl_div"), reduce=False, reduction="batchmean")
    close(out, np.asarray(EXPECTED["kl_div"]["none"]) / 2)


ELEMENTWISE_MAPPED = ["cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                      "mse_loss", "l1_loss", "smooth_l1_loss", "kl_div", "margin_ranking_loss",
                      "hinge_embedding_loss", "soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss",
                      "multi_margin_loss", "multilabel_margin_loss"]
ELEMENTWISE_REFUSED = ["poisson_nll_loss", "multilabel_soft_margin_loss"]


@pytest.mark.parametrize("name", ELEMENTWISE_MAPPED)
def test_elementwise_mean_is_mean_with_a_warning(name):
    out, caught = recorded(getattr(F, name), *eg_args(name), reduction="elementwise_mean")
    close(out, EXPECTED[name]["mean"])
    assert caught == [(UserWarning, ELEMENTWISE)]


@pytest.mark.parametrize("name", ELEMENTWISE_REFUSED)
def test_elementwise_mean_refused_where_pytorch_refuses_it(name):
    with pytest.raises(ValueError):
        getattr(F, name)(*eg_args(name), reduction="elementwise_mean")


def test_elementwise_mean_other_losses():
    out, caught = recorded(F.huber_loss, eg.tensor(X), eg.tensor(Y), "elementwise_mean")
    close(out, EXPECTED["smooth_l1_loss"]["mean"])
    assert caught == [(UserWarning, ELEMENTWISE)]
    with pytest.raises(ValueError):
        F.gaussian_nll_loss(eg.tensor(X), eg.tensor(Y), eg.tensor(np.ones((2, 3))), reduction="elementwise_mean")
    with pytest.raises(ValueError):
        F.triplet_margin_with_distance_loss(*eg_args("triplet_margin_loss"), reduction="elementwise_mean")
    lp = np.log(np.full((4, 1, 3), 1 / 3))
    ctc = [eg.tensor(lp), eg.tensor(np.array([[1, 2]])), eg.tensor(np.array([4])), eg.tensor(np.array([2]))]
    out, caught = recorded(F.ctc_loss, *ctc, reduction="elementwise_mean")
    close(out, value(F.ctc_loss(*ctc, reduction="mean")))
    assert caught == [(UserWarning, ELEMENTWISE)]
    with pytest.raises(ValueError):  # the weighted forms refuse it, as PyTorch's
        F.mse_loss(eg.tensor(X), eg.tensor(Y), reduction="elementwise_mean", weight=eg.tensor(np.ones((2, 3))))


W = np.array([[1.0, 2.0, 0.5], [0.0, 3.0, 1.5]])
WEIGHTED = {"mse_loss": {"mean": 0.448125, "sum": 3.585}, "l1_loss": {"mean": 0.58125, "sum": 4.65},
            "huber_loss": {"mean": 0.29875, "sum": 1.7925}}


@pytest.mark.parametrize("name", list(WEIGHTED))
def test_regression_weight(name):
    fn = getattr(F, name)
    for reduction in ("mean", "sum"):
        close(fn(eg.tensor(X), eg.tensor(Y), reduction=reduction, weight=eg.tensor(W)), WEIGHTED[name][reduction])
    close(fn(eg.tensor(X), eg.tensor(Y), reduction="none", weight=eg.tensor(np.ones((2, 3)))),
          value(fn(eg.tensor(X), eg.tensor(Y), reduction="none")))
    with pytest.raises(ValueError, match="Weights and input must have the same size."):
        fn(eg.tensor(X), eg.tensor(Y), weight=eg.tensor(np.ones(3)))


# --- the modules ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("size_average,reduce", COMBOS)
@pytest.mark.parametrize("module", list(MODULES))
def test_module_legacy_arguments(module, size_average, reduce):
    name, options = MODULES[module]
    reduction = legacy(size_average, reduce)
    loss, caught = recorded(getattr(nn, module), **options, **legacy_kwargs(size_average, reduce))
    assert loss.reduction == reduction
    expected = [(UserWarning, LEGACY.format(reduction))] if (size_average, reduce) != (None, None) else []
    assert caught == expected
    out, caught = recorded(loss, *eg_args(name))
    close(out, EXPECTED[name][reduction])
    assert caught == ([(UserWarning, KL_MEAN)] if module == "KLDivLoss" and reduction == "mean" else [])


def test_module_signatures_follow_pytorch():
    for module, params in MODULE_PARAMS.items():
        sig = inspect.signature(getattr(nn, module).__init__)
        got = " ".join(("*" if p.kind is p.KEYWORD_ONLY else "") + p.name for p in list(sig.parameters.values())[1:])
        assert got == params, module


def test_module_positional_binding():
    out, caught = recorded(nn.NLLLoss, None, None, -100, False)
    assert out.reduction == "none" and caught == [(UserWarning, LEGACY.format("none"))]
    out, caught = recorded(nn.CrossEntropyLoss, None, True, -100, False)  # size_average=True, reduce=False
    assert out.reduction == "none" and caught == [(UserWarning, LEGACY.format("none"))]
    assert nn.CrossEntropyLoss(None, None, 3, None, "sum", 0.1).ignore_index == 3
    assert recorded(nn.MSELoss, False)[0].reduction == "sum"
    assert recorded(nn.BCELoss, None, False)[0].reduction == "sum"
    assert recorded(nn.KLDivLoss, False)[0].reduction == "sum"
    assert nn.KLDivLoss(None, None, "batchmean", True).log_target is True
    loss, _ = recorded(nn.PoissonNLLLoss, True, False, None, 1e-3, False)
    assert (loss.reduction, loss.eps) == ("none", 1e-3)
    loss, _ = recorded(nn.TripletMarginLoss, 1.0, 2.0, 1e-6, False, False)
    assert loss.reduction == "sum"
    loss, _ = recorded(nn.MultiMarginLoss, 1, 1.0, None, None, False)
    assert loss.reduction == "none"
    assert nn.HuberLoss("sum", 2.0).delta == 2.0 and nn.HuberLoss("sum", 2.0).reduction == "sum"
    assert nn.BCEWithLogitsLoss(None, None, None, "sum", eg.tensor(np.ones(3))).pos_weight is not None


def test_module_usual_scripts():
    """The calls of old scripts: the VAE's sum-reduced losses, a per-sample cross-entropy."""
    mse, caught = recorded(nn.MSELoss, size_average=False)
    assert mse.reduction == "sum" and caught == [(UserWarning, LEGACY.format("sum"))]
    kl, _ = recorded(nn.KLDivLoss, size_average=False)
    out, caught = recorded(kl, *eg_args("kl_div"))
    close(out, EXPECTED["kl_div"]["sum"])
    assert caught == []  # no 'mean' warning: the reduction is 'sum'
    ce, caught = recorded(nn.CrossEntropyLoss, size_average=True, reduce=False)
    assert ce.reduction == "none"
    close(ce(*eg_args("cross_entropy")), EXPECTED["cross_entropy"]["none"])
    out, caught = recorded(F.binary_cross_entropy, *eg_args("binary_cross_entropy"), size_average=False)
    close(out, EXPECTED["binary_cross_entropy"]["sum"])


@pytest.mark.parametrize("module", [m for m in MODULES if MODULES[m][0] in ELEMENTWISE_MAPPED])
def test_module_elementwise_mean(module):
    name, options = MODULES[module]
    loss, caught = recorded(getattr(nn, module), **options, reduction="elementwise_mean")
    assert loss.reduction == "elementwise_mean" and caught == []  # kept as given, as PyTorch's modules do
    out, caught = recorded(loss, *eg_args(name))
    close(out, EXPECTED[name]["mean"])
    assert caught == [(UserWarning, ELEMENTWISE)]


def test_module_invalid_reduction_still_refused():
    with pytest.raises(ValueError):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError):
        nn.KLDivLoss(reduction="avg")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"


# --- side by side with PyTorch --------------------------------------------------------------------------

def _torch():
    return pytest.importorskip("torch", reason="PyTorch is needed for the side-by-side checks (pip install torch)")


@pytest.mark.parametrize("size_average,reduce", COMBOS)
@pytest.mark.parametrize("name", list(CASES))
def test_functional_matches_torch(name, size_average, reduce):
    torch = _torch()
    kw = legacy_kwargs(size_average, reduce)
    ours, our_warnings = recorded(getattr(F, name), *eg_args(name), **kw)
    theirs, their_warnings = recorded(getattr(torch.nn.functional, name), *torch_args(torch, name), **kw)
    close(ours, value(theirs))
    assert our_warnings == their_warnings


@pytest.mark.parametrize("size_average,reduce", COMBOS)
@pytest.mark.parametrize("module", list(MODULES))
def test_module_matches_torch(module, size_average, reduce):
    torch = _torch()
    name, options = MODULES[module]
    kw = legacy_kwargs(size_average, reduce)
    ours, our_warnings = recorded(getattr(nn, module), **options, **kw)
    theirs, their_warnings = recorded(getattr(torch.nn, module), **options, **kw)
    assert ours.reduction == theirs.reduction
    assert our_warnings == their_warnings
    out, our_warnings = recorded(ours, *eg_args(name))
    expected, their_warnings = recorded(theirs, *torch_args(torch, name))
    close(out, value(expected))
    assert our_warnings == their_warnings


def test_signatures_match_torch():
    torch = _torch()

    def params(fn, skip=0):
        return [(p.name, p.kind, p.default) for p in list(inspect.signature(fn).parameters.values())[skip:]]

    for name in FUNCTIONAL_PARAMS:
        assert params(getattr(F, name)) == params(getattr(torch.nn.functional, name)), name
    for module in MODULE_PARAMS:
        ours = params(getattr(nn, module).__init__, 1)
        theirs = params(getattr(torch.nn, module).__init__, 1)
        assert ours == theirs, module


@pytest.mark.parametrize("name", ELEMENTWISE_MAPPED + ELEMENTWISE_REFUSED)
def test_elementwise_mean_matches_torch(name):
    torch = _torch()
    try:
        expected, their_warnings = recorded(getattr(torch.nn.functional, name), *torch_args(torch, name),
                                            reduction="elementwise_mean")
    except ValueError:
        with pytest.raises(ValueError):
            getattr(F, name)(*eg_args(name), reduction="elementwise_mean")
        assert name in ELEMENTWISE_REFUSED
        return
    out, our_warnings = recorded(getattr(F, name), *eg_args(name), reduction="elementwise_mean")
    close(out, value(expected))
    assert our_warnings == their_warnings
    assert name in ELEMENTWISE_MAPPED


@pytest.mark.parametrize("reduction", ["batchmean", "none", "sum"])
@pytest.mark.parametrize("size_average,reduce", [(False, None), (None, False), (True, True)])
def test_kl_div_legacy_with_reduction_matches_torch(size_average, reduce, reduction):
    torch = _torch()
    kw = dict(size_average=size_average, reduce=reduce, reduction=reduction)
    out, our_warnings = recorded(F.kl_div, *eg_args("kl_div"), **kw)
    expected, their_warnings = recorded(torch.nn.functional.kl_div, *torch_args(torch, "kl_div"), **kw)
    close(out, value(expected))
    assert our_warnings == their_warnings


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", list(WEIGHTED))
def test_regression_weight_matches_torch(name, reduction):
    torch = _torch()
    out = getattr(F, name)(eg.tensor(X), eg.tensor(Y), reduction=reduction, weight=eg.tensor(W))
    expected = getattr(torch.nn.functional, name)(torch.tensor(X), torch.tensor(Y), reduction=reduction,
                                                  weight=torch.tensor(W))
    close(out, value(expected))
