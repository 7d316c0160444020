"""GRU against Keras 3 itself (torch backend), on identical weights: outputs, states and every
gradient, for both of Keras's GRU variants -- ``reset_after=False`` above all, which PyTorch's
nn.GRU cannot do -- with return_sequences, return_state, go_backwards, initial states, masks
(pre-padded and with holes) and Bidirectional.

Keras runs on its torch backend, so its gradients come from torch's autograd: the input is a
torch tensor that requires grad, and each Keras variable's ``.value`` is a torch Parameter.

The comparisons are in float32: Keras 3's torch backend computes ``ops.matmul`` of float64
arrays in float32 (its layers in float64 are off by ~1e-8), so float64 would test Keras's
rounding. minigrad's float64 precision is checked against finite differences and a NumPy
reference in tests/functional/test_recurrent.py."""

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import GRU, Bidirectional

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it runs "
                                            "on the torch backend)")
torch = pytest.importorskip("torch", reason="Keras 3 is compared on its torch backend")

if keras.backend.backend() != "torch":
    pytest.skip(f"these comparisons read gradients through torch; Keras runs on "
                f"{keras.backend.backend()!r} (set KERAS_BACKEND=torch)", allow_module_level=True)

FLOAT32 = dict(rtol=2e-5, atol=2e-6)
N, T, FEATURES, UNITS = 3, 6, 4, 5
# (N, T) masks: pre-padded (IMDB-style) rows and a fully real one; holes and an empty row.
PRE_PADDED = np.array([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1]], dtype=bool)
HOLES = np.array([[1, 0, 1, 1, 0, 1], [0, 0, 0, 0, 0, 0], [0, 1, 1, 0, 1, 0]], dtype=bool)

OPTIONS = {
    "last": dict(),
    "sequences": dict(return_sequences=True),
    "state": dict(return_state=True),
    "backwards": dict(go_backwards=True),
    "sequences_backwards_state": dict(return_sequences=True, go_backwards=True,
                                      return_state=True),
    "no_bias": dict(use_bias=False, return_sequences=True),
}
MASKS = {"unmasked": None, "pre_padded": PRE_PADDED, "holes": HOLES}


def run_both(ours, theirs, mask=None, initial_state=False, seed=0):
    """Copy random weights into both built layers, run them on the same inputs (and initial
    state) and backpropagate the same random upstream gradients: (ours, theirs) each as a list
    of the outputs followed by the gradients of the input, the initial state and the weights,
    as NumPy arrays."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, FEATURES)).astype(np.float32)
    h0 = (rng.standard_normal((N, UNITS)) * 0.5).astype(np.float32)
    shapes = [tuple(w.shape) for w in theirs.get_weights()]
    assert [tuple(w.shape) for w in ours.get_weights()] == shapes  # Keras's layout
    weights = [(rng.standard_normal(s) * 0.5).astype(np.float32) for s in shapes]
    ours.set_weights(weights)
    theirs.set_weights(weights)

    # minigrad
    x_m, h0_m = mg.tensor(x, requires_grad=True), mg.tensor(h0, requires_grad=True)
    kwargs = dict(mask=mask)
    if initial_state:
        kwargs["initial_state"] = [h0_m] * (2 if isinstance(ours, Bidirectional) else 1)
    result = ours(x_m, **kwargs)
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    upstream = [rng.standard_normal(o.shape).astype(np.float32) for o in outputs]
    sum((o * mg.tensor(g)).sum() for o, g in zip(outputs, upstream)).backward()
    mine = [o.numpy() for o in outputs] + [x_m.grad.numpy()]
    mine += [h0_m.grad.numpy()] if initial_state else []
    mine += [p.grad.numpy() for p in ours.parameters()]

    # Keras
    x_k, h0_k = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    kwargs = dict(mask=None if mask is None else torch.tensor(mask))
    if initial_state:
        kwargs["initial_state"] = [h0_k] * (2 if isinstance(ours, Bidirectional) else 1)
    result = theirs(x_k, **kwargs)
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    sum((o * torch.tensor(g)).sum() for o, g in zip(outputs, upstream)).backward()
    reference = [o.detach().numpy() for o in outputs] + [x_k.grad.numpy()]
    reference += [h0_k.grad.numpy()] if initial_state else []
    reference += [v.value.grad.numpy() for v in theirs.weights]
    return mine, reference


def assert_same(mine, reference):
    assert len(mine) == len(reference)
    for i, (got, want) in enumerate(zip(mine, reference)):
        assert got.shape == want.shape, f"array {i}"
        assert got.dtype == np.float32, f"array {i}"
        np.testing.assert_allclose(got, want, err_msg=f"array {i}", **FLOAT32)


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("reset_after", [False, True])
def test_gru_matches_keras(reset_after, options, mask):
    ours = GRU(UNITS, reset_after=reset_after, **OPTIONS[options])
    theirs = keras.layers.GRU(UNITS, reset_after=reset_after, **OPTIONS[options])
    ours.build((None, T, FEATURES))
    theirs.build((None, T, FEATURES))
    mine, reference = run_both(ours, theirs, mask=MASKS[mask])
    assert_same(mine, reference)


@pytest.mark.parametrize("reset_after", [False, True])
def test_gru_initial_state_and_its_gradient_match_keras(reset_after):
    ours = GRU(UNITS, reset_after=reset_after, return_sequences=True)
    theirs = keras.layers.GRU(UNITS, reset_after=reset_after, return_sequences=True)
    ours.build((None, T, FEATURES))
    theirs.build((None, T, FEATURES))
    mine, reference = run_both(ours, theirs, mask=PRE_PADDED, initial_state=True)
    assert_same(mine, reference)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul"])
@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_gru_reset_before_matches_keras(return_sequences, mask, merge_mode):
    ours = Bidirectional(GRU(UNITS, reset_after=False, return_sequences=return_sequences),
                         merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(
        keras.layers.GRU(UNITS, reset_after=False, return_sequences=return_sequences),
        merge_mode=merge_mode)
    ours.build((None, T, FEATURES))
    theirs.build((None, T, FEATURES))
    mine, reference = run_both(ours, theirs, mask=MASKS[mask])
    assert_same(mine, reference)


def test_the_two_variants_differ_on_the_same_kernels():
    """The same kernels give other outputs with reset_after=False: the comparisons above could
    not pass with the variants swapped."""
    x = mg.randn(2, 4, 3, dtype="float64")
    after, before = GRU(3, reset_after=True), GRU(3, reset_after=False)
    after(x), before(x)
    before.kernel.data[...] = after.kernel.data
    before.recurrent_kernel.data[...] = after.recurrent_kernel.data
    assert not np.allclose(after(x).numpy(), before(x).numpy())
