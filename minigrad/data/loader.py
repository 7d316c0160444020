"""DataLoader: batches of tensors from a Dataset, shuffled per epoch, optionally prepared by a
background thread."""

import queue
import threading

import numpy as np

from ..autograd.tensor import Tensor
from ..backends import get_backend
from .dataset import TensorDataset


def default_collate(samples):
    """Stack a list of samples into a batch: tuples ``(x, y)`` give a tuple of stacked arrays,
    single arrays or numbers a single stacked array. dtypes are kept.

    >>> x, y = mg.data.default_collate([(np.zeros(2), 1), (np.ones(2), 0)])
    >>> x.shape, y.tolist()
    ((2, 2), [1, 0])
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    return np.stack([s.numpy() if isinstance(s, Tensor) else np.asarray(s) for s in samples])


class DataLoader:
    """Iterate over a dataset in batches of tensors.

    Each epoch (each ``for batch in loader``) yields tuples of tensors, ``(x, y)`` for a
    dataset of ``(x, y)`` samples. Arrays are stacked as they are (uint8 images stay uint8;
    the model converts floating data to its dtype), then moved to ``device``.

    Args:
        dataset: a :class:`Dataset` (or anything with ``__len__`` and ``__getitem__``).
        batch_size: samples per batch.
        shuffle: draw a new order every epoch, from a generator seeded by ``seed`` (the same
            seed gives the same sequence of epochs).
        seed: the seed of the shuffling generator (None: unpredictable).
        drop_last: leave out the last batch when it is smaller than ``batch_size``.
        collate_fn: turns a list of samples into a batch (default :func:`default_collate`).
        device: ``"cpu"`` or ``"cuda"``; None keeps batches on the CPU.
        prefetch: how many batches a background thread prepares ahead (0: none, all work
            happens in the loop).

    ``len(loader)`` is the number of batches per epoch. Pass a loader to
    :meth:`Model.fit <minigrad.train.Model.fit>` as ``x``::

        loader = mg.data.DataLoader(mg.data.TensorDataset(x_train, y_train), batch_size=64,
                                    shuffle=True, seed=0)
        model.fit(loader, epochs=5)
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, seed=None, drop_last=False,
                 collate_fn=None, device=None, prefetch=0):
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if int(prefetch) < 0:
            raise ValueError(f"prefetch must be >= 0, got {prefetch}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.device = device
        self.prefetch = int(prefetch)
        self.rng = np.random.default_rng(seed)
        if device is not None:
            get_backend(device)  # fail now, with the backend's message, not inside an epoch

    def __len__(self):
        count = len(self.dataset)
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)

    def _indices(self):
        count = len(self.dataset)
        order = self.rng.permutation(count) if self.shuffle else np.arange(count)
        for b in range(len(self)):
            yield order[b * self.batch_size:(b + 1) * self.batch_size]

    def _batch(self, indices):
        if self.collate_fn is None and isinstance(self.dataset, TensorDataset):
            batch = self.dataset[indices]                  # fancy indexing: one copy per array
        else:
            batch = (self.collate_fn or default_collate)([self.dataset[int(i)]
                                                          for i in indices])
        single = not isinstance(batch, (tuple, list))
        tensors = tuple(self._to_tensor(a) for a in ((batch,) if single else batch))
        return tensors

    def _to_tensor(self, value):
        if isinstance(value, Tensor):
            return value if self.device is None else value.to(self.device)
        array = np.ascontiguousarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"a batch must be numeric, got an array of dtype {array.dtype} "
                            "(pad lists of token ids with mg.datasets.pad_sequences first)")
        backend = get_backend(self.device or "cpu")
        return Tensor._make(backend.asarray(array), backend)

    def __iter__(self):
        indices = self._indices()      # drawn now, so prefetching cannot change the order
        if self.prefetch == 0:
            return (self._batch(i) for i in indices)
        return self._prefetched(indices)

    def _prefetched(self, indices):
        ready = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        done = object()

        def work():
            try:
                for i in indices:
                    item = self._batch(i)
                    while not stop.is_set():
                        try:
                            ready.put(item, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                item = done
            except BaseException as error:   # handed to the consumer and raised there
                item = error
            while not stop.is_set():
                try:
                    ready.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        thread = threading.Thread(target=work, name="minigrad-DataLoader", daemon=True)
        thread.start()
        try:
            while True:
                item = ready.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            thread.join()

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, batches={len(self)})")
