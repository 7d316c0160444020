"""Dataset, TensorDataset and DataLoader: batching, shuffling, collation, prefetching, devices,
and training with model.fit(loader)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import DataLoader, Dataset, TensorDataset, default_collate


def make(count=10):
    x = np.arange(count * 2, dtype=np.float32).reshape(count, 2)
    y = np.arange(count, dtype=np.int64)
    return TensorDataset(x, y)


class Squares(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.array([i, i], dtype=np.uint8), i * i


def labels(loader):
    return [batch[1].numpy().tolist() for batch in loader]


def test_batches_in_order_with_a_smaller_last_batch():
    loader = DataLoader(make(10), batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert isinstance(batches[0], tuple) and isinstance(batches[0][0], mg.Tensor)
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64
    np.testing.assert_array_equal(batches[2][0].numpy(), [[16, 17], [18, 19]])
    assert labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_drop_last_leaves_out_the_short_batch():
    loader = DataLoader(make(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(make(8), batch_size=4, drop_last=True)) == 2


def test_shuffle_is_a_permutation_reproducible_by_seed_and_new_each_epoch():
    a = DataLoader(make(20), batch_size=6, shuffle=True, seed=3)
    b = DataLoader(make(20), batch_size=6, shuffle=True, seed=3)
    epochs_a = [sum(labels(a), []) for _ in range(3)]
    epochs_b = [sum(labels(b), []) for _ in range(3)]
    assert epochs_a == epochs_b
    assert all(sorted(e) == list(range(20)) for e in epochs_a)
    assert epochs_a[0] != epochs_a[1] != epochs_a[2] and epochs_a[0] != list(range(20))
    c = DataLoader(make(20), batch_size=6, shuffle=True, seed=4)
    assert sum(labels(c), []) != epochs_a[0]


def test_samples_stay_together_when_shuffled():
    for x, y in DataLoader(make(9), batch_size=4, shuffle=True, seed=0):
        np.testing.assert_array_equal(x.numpy(), np.stack([2 * y.numpy(), 2 * y.numpy() + 1], 1))


def test_a_generic_dataset_is_collated_by_stacking():
    x, y = next(iter(DataLoader(Squares(), batch_size=3)))
    assert x.dtype == np.uint8 and x.shape == (3, 2)        # dtypes kept, not cast
    assert y.numpy().tolist() == [0, 1, 4]
    assert len(list(DataLoader(Squares(), batch_size=3))) == 3


def test_collate_fn_is_used_and_may_return_one_array():
    def collate(samples):
        return np.array([s[1] for s in samples], dtype=np.float64) * 10
    batches = list(DataLoader(Squares(), batch_size=4, collate_fn=collate))
    assert len(batches) == 2 and len(batches[0]) == 1
    assert batches[1][0].numpy().tolist() == [160.0, 250.0, 360.0]
    assert batches[1][0].dtype == np.float64


def test_default_collate_nests_and_refuses_nothing_numeric():
    x, (a, b) = default_collate([(np.zeros(3), (1, 2.0)), (np.ones(3), (3, 4.0))])
    assert x.shape == (2, 3) and a.tolist() == [1, 3] and b.tolist() == [2.0, 4.0]


def test_object_batches_are_refused_with_advice():
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = [1, 2], [3]
    with pytest.raises(TypeError, match="pad_sequences"):
        list(DataLoader(TensorDataset(ragged, np.zeros(2)), batch_size=2))


@pytest.mark.parametrize("shuffle", [False, True])
def test_prefetch_gives_the_same_batches(shuffle):
    plain = DataLoader(make(23), batch_size=5, shuffle=shuffle, seed=1)
    ahead = DataLoader(make(23), batch_size=5, shuffle=shuffle, seed=1, prefetch=2)
    for _ in range(2):
        for p, q in zip(plain, ahead, strict=True):
            np.testing.assert_array_equal(p[0].numpy(), q[0].numpy())
            np.testing.assert_array_equal(p[1].numpy(), q[1].numpy())


def test_prefetch_stops_its_thread_when_the_loop_breaks_and_forwards_errors():
    import threading
    before = threading.active_count()
    for _ in DataLoader(make(100), batch_size=1, prefetch=1):
        break
    assert threading.active_count() == before

    class Broken(Squares):
        def __getitem__(self, i):
            if i == 5:
                raise KeyError("sample 5 is missing")
            return super().__getitem__(i)
    with pytest.raises(KeyError, match="sample 5"):
        list(DataLoader(Broken(), batch_size=2, prefetch=2))
    assert threading.active_count() == before


def test_batches_are_moved_to_the_device(device):
    loader = DataLoader(make(6), batch_size=4, device=device, prefetch=1)
    x, y = next(iter(loader))
    assert x.device == device and y.device == device
    np.testing.assert_array_equal(x.numpy(), make(6).arrays[0][:4])


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(make(), batch_size=0)
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())
    assert "batches=3" in repr(DataLoader(make(10), batch_size=4))


def test_tensor_dataset_accepts_tensors():
    ds = TensorDataset(mg.tensor([[1.0, 2.0], [3.0, 4.0]]), mg.tensor([0, 1]))
    assert len(ds) == 2 and ds[1][0].tolist() == [3.0, 4.0]


def _model(device):
    mg.manual_seed(0)
    model = mg.Sequential([mg.nn.Dense(16, activation="relu"),
                           mg.nn.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model.to(device) or model


def test_fit_on_a_loader_trains_exactly_as_fit_on_the_arrays(device):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))                     # float64 in: the model casts
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, device=device, prefetch=2)
    from_loader = _model(device).fit(loader, epochs=4, verbose=0).history
    from_arrays = _model(device).fit(x, y, batch_size=32, epochs=4, shuffle=False,
                                     verbose=0).history
    np.testing.assert_allclose(from_loader["loss"], from_arrays["loss"], rtol=1e-6)
    assert from_loader["loss"][-1] < from_loader["loss"][0]

    shuffled = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0)
    history = _model(device).fit(shuffled, epochs=3, verbose=0).history
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
