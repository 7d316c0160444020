"""copy.deepcopy and pickle of a compiled (and trained) model: the copy predicts as the
original, trains on its own, and leaves the original untouched."""

import copy
import pickle

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def trained_model():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 6)), rng.integers(0, 3, 64)
    model = mg.Sequential([nn.Dense(8, activation="relu", input_shape=(6,)),
                           nn.BatchNormalization(), nn.Dropout(0.2),
                           nn.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=0)
    return model, x, y


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))],
                         ids=["deepcopy", "pickle"])
def test_a_copy_of_a_compiled_model_predicts_and_trains_on_its_own(duplicate):
    model, x, y = trained_model()
    twin = duplicate(model)
    np.testing.assert_array_equal(twin.predict(x), model.predict(x))
    before = [w.copy() for w in model.get_weights()]
    twin.fit(x, y, epochs=1, batch_size=16, verbose=0, seed=1)
    assert any(not np.array_equal(a, b) for a, b in zip(twin.get_weights(), before))
    for kept, now in zip(before, model.get_weights()):
        np.testing.assert_array_equal(kept, now)
    # Its optimizer steps its own parameters (and continues from the copied Adam state).
    own = set(map(id, twin.parameters()))
    stepped = [id(p) for group in twin.optimizer.param_groups for p in group["params"]]
    assert stepped and all(p in own for p in stepped)


def test_a_pickled_tensor_comes_back_on_the_same_backend():
    t = mg.tensor([1.0, 2.0])
    back = pickle.loads(pickle.dumps(t))
    assert back._backend is t._backend and copy.deepcopy(t)._backend is t._backend
    np.testing.assert_array_equal((back + t).numpy(), [2.0, 4.0])
