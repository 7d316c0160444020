"""What training needs from the communicators: average the gradients, start every rank from
the same weights, send small JSON objects, reduce metrics.

Each function takes ``comm=`` (a :class:`~minigrad.distributed.Communicator`);
by default it uses the world's (:func:`~minigrad.distributed.init`): MPI for CPU arrays, NCCL
for CUDA arrays. In a world of one they return at once.
"""

import json
import math
import numbers

import numpy as np

from ..autograd.tensor import Tensor
from ..nn.module import Module
from .buckets import DEFAULT_BUCKET_BYTES, pack, plan_buckets, unpack
from .communicator import check_op
from .world import current


def allreduce_gradients(model_or_params, average=True, bucket_bytes=DEFAULT_BUCKET_BYTES,
                        weights=None, comm=None):
    """Average (or sum) the ``.grad`` of the parameters over the ranks, in place, so that
    every rank's optimizer step then makes the same update.

    The gradients travel in a few flat buckets (one dtype each, at most ``bucket_bytes``, in
    parameter order: see :mod:`~minigrad.distributed.buckets`), one allreduce per bucket, after
    one small allreduce that tells every rank which parameters have a gradient on some rank
    (a parameter that some ranks did not use gets zeros from them, as in PyTorch's DDP, so all
    ranks send the same buckets), the total of ``weights`` and whether every rank gave one.

    Args:
        model_or_params: a :class:`~minigrad.nn.Module` or an iterable of parameters, the same
            on every rank and in the same order
            (:func:`~minigrad.distributed.broadcast_parameters` checks that the models agree
            at the start; afterwards MPI reports messages of different sizes as an error,
            which aborts the job).
        average: True: divide the sum by the number of ranks (or by the total weight); False:
            leave the sum.
        bucket_bytes: the largest bucket, in bytes (25 MiB, as PyTorch's DDP). Larger buckets
            mean fewer messages; smaller ones would let a future overlap with backward start
            earlier.
        weights: this rank's share of the global batch, e.g. its number of samples in this
            step, so that uneven shards average as one big batch would:
            ``sum_r(n_r * g_r) / sum_r(n_r)``. None: every rank counts the same.
        comm: the communicator; None for the world's.

    Raises ``ValueError`` for a negative or non-finite weight, a zero total weight, weights
    given on some ranks only (on every rank), weights with ``average=False``, or parameters on
    different devices.

    >>> model = mg.nn.Dense(2)
    >>> (model(mg.ones(4, 3)) ** 2).mean().backward()
    >>> mg.distributed.allreduce_gradients(model)    # a world of one: nothing to average
    """
    params = _parameters(model_or_params)
    if weights is not None:
        if not average:
            raise ValueError("allreduce_gradients: weights= needs average=True (the weights "
                             "say how the ranks' gradients are averaged)")
        if isinstance(weights, bool) or not isinstance(weights, numbers.Real) or \
                not math.isfinite(weights) or weights < 0:
            raise ValueError(f"allreduce_gradients: weights must be a finite number >= 0 (this "
                             f"rank's samples in the step), got {weights!r}")
    if not params:
        return
    backend = _one_backend([p._backend for p in params], "allreduce_gradients")
    comm = comm if comm is not None else current().communicator(backend.name)
    if comm.size == 1:
        return
    xp = backend.xp
    # One small message first: the total weight, how many ranks gave one, and per parameter
    # how many ranks have a gradient (so every rank plans the same buckets, even when some
    # skipped a parameter).
    header = np.zeros(2 + len(params))
    header[0] = 0.0 if weights is None else float(weights)
    header[1] = weights is not None
    header[2:] = [p.grad is not None for p in params]
    header = backend.to_numpy(comm.allreduce(xp.asarray(header), "sum"))
    if header[1] not in (0, comm.size):
        raise ValueError(f"allreduce_gradients: {int(header[1])} of {comm.size} ranks gave "
                         "weights=; give them on every rank or on none")
    if not average:
        scale = None
    elif weights is None:
        scale = 1.0 / comm.size
    elif header[0] > 0:
        scale = float(weights) / header[0]
    else:
        raise ValueError("allreduce_gradients: the weights of all ranks add up to 0; give "
                         "each rank its number of samples in the step")
    chosen = [p for p, count in zip(params, header[2:]) if count > 0]
    grads = [None if p.grad is None else p.grad.data for p in chosen]
    for bucket in plan_buckets([p.data for p in chosen], bucket_bytes):
        flat = comm.allreduce(pack(bucket, grads, xp, scale), "sum")
        for i, view in unpack(bucket, flat, [p.shape for p in chosen]).items():
            # A new array, not a write into the old one: autograd may hand one gradient
            # array to several parameters.
            if chosen[i].grad is None:
                chosen[i].grad = Tensor._make(view, backend)
            else:
                chosen[i].grad.data = view


def allreduce_array(array, op="sum", comm=None):
    """Reduce a small array (a metric: a loss sum, a count) over the ranks and return the
    result, the same on every rank: ``op`` is ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.

    ``array`` may be a number (a number comes back), a NumPy or CuPy array or a Tensor (the
    same kind comes back; the input is not changed). ``"mean"`` of integers gives float64.

    >>> mg.distributed.allreduce_array(np.array([3.0, 4.0]), op="sum")   # one rank
    array([3., 4.])
    """
    if op != "mean":
        check_op(op)
    if isinstance(array, Tensor):
        return Tensor._make(allreduce_array(array.data, op, comm), array._backend)
    if isinstance(array, (numbers.Number, np.generic)) and not isinstance(array, bool):
        result = allreduce_array(np.asarray(array), op, comm)
        return result.item()
    from ..backends import backend_of_array
    backend = backend_of_array(array)
    if backend is None:
        raise TypeError(f"allreduce_array expected a number, a NumPy or CuPy array or a "
                        f"Tensor, got {type(array).__name__}")
    comm = comm if comm is not None else current().communicator(backend.name)
    xp = backend.xp
    result = xp.array(array, copy=True, order="C")
    if op == "mean" and result.dtype.kind not in "fc":
        result = result.astype(np.float64)
    comm.allreduce(result.reshape(-1), "sum" if op == "mean" else op)
    if op == "mean":
        result /= comm.size
    return result


def broadcast_object(obj, root=0, comm=None):
    """Send ``root``'s ``obj`` to every rank and return it (the object each rank passes
    elsewhere is ignored). The object travels as JSON, never pickled (unpickling can run
    code), so it must be JSON-able: dicts with string keys, lists, strings, numbers, bools,
    None. Every rank, ``root`` included, gets the decoded copy (tuples come back as lists).

    Raises ``TypeError`` on every rank when ``root``'s object is not JSON-able.

    >>> mg.distributed.broadcast_object({"seed": 42, "shapes": [(784, 64)]})
    {'seed': 42, 'shapes': [[784, 64]]}
    """
    comm = _cpu_comm(comm)
    error = None
    payload = b""
    if comm.rank == root:
        try:
            payload = json.dumps(obj).encode()
        except (TypeError, ValueError) as exc:
            error = exc
    length = np.array([len(payload) if error is None else -1], dtype=np.int64)
    comm.broadcast(length, root)
    if length[0] < 0:
        detail = f": {error}" if error is not None else ""
        raise TypeError(f"broadcast_object: rank {root}'s object cannot be sent as JSON"
                        f"{detail} (use dicts, lists, strings, numbers, bools and None)")
    buffer = (np.frombuffer(payload, dtype=np.uint8).copy() if comm.rank == root
              else np.empty(int(length[0]), dtype=np.uint8))
    comm.broadcast(buffer, root)
    return json.loads(buffer.tobytes().decode())


def broadcast_parameters(model_or_state, root=0, bucket_bytes=DEFAULT_BUCKET_BYTES,
                         comm=None):
    """Copy ``root``'s parameters and buffers into every other rank's, in place, so that all
    ranks start from the same weights (call it after building the model, before training).

    Args:
        model_or_state: a :class:`~minigrad.nn.Module` (its parameters and buffers), a state
            dict (names to tensors or arrays), or a list of tensors or arrays.
        root: the rank whose values everyone gets.

    Raises ``ValueError`` on every rank when the ranks' names, shapes or dtypes differ from
    ``root``'s (different models), before anything is written.

    >>> model = mg.nn.Dense(2)
    >>> model.build((None, 3))
    >>> mg.distributed.broadcast_parameters(model)
    """
    named = _named_arrays(model_or_state)
    if not named:
        return
    backend = _one_backend([b for _, _, b in named], "broadcast_parameters")
    comm = comm if comm is not None else current().communicator(backend.name)
    if comm.size == 1:
        return
    mine = [[name, list(array.shape), np.dtype(array.dtype).name] for name, array, _ in named]
    theirs = broadcast_object(mine, root, comm=_cpu_comm(comm))
    problem = _first_difference(mine, theirs, root)
    flag = np.array([0.0 if problem is None else 1.0])
    _cpu_comm(comm).allreduce(flag, "max")
    if flag[0]:
        raise ValueError("broadcast_parameters: the ranks hold different models: "
                         + (problem or f"another rank's differ from rank {root}'s"))
    arrays = [array for _, array, _ in named]
    xp = backend.xp
    for bucket in plan_buckets(arrays, bucket_bytes):
        flat = (pack(bucket, arrays, xp) if comm.rank == root
                else xp.empty(bucket.size, dtype=bucket.dtype))
        comm.broadcast(flat, root)
        for i, view in unpack(bucket, flat, [a.shape for a in arrays]).items():
            arrays[i][...] = view        # in place: optimizers hold these parameters


# --- helpers ----------------------------------------------------------------------------------
def _parameters(model_or_params):
    if isinstance(model_or_params, Module):
        return list(model_or_params.parameters())
    if isinstance(model_or_params, Tensor) or not hasattr(model_or_params, "__iter__"):
        raise TypeError(f"expected a Module or an iterable of parameters, got "
                        f"{type(model_or_params).__name__}")
    params = list(model_or_params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"expected parameters (Tensors), got {type(p).__name__} at "
                            f"position {i}")
    return params


def _named_arrays(model_or_state):
    """``[(name, array, backend)]`` of a module, a state dict or a list."""
    from ..backends import backend_of_array
    if isinstance(model_or_state, Module):
        items = list(model_or_state.state_dict().items())
    elif isinstance(model_or_state, dict):
        items = list(model_or_state.items())
    elif isinstance(model_or_state, (list, tuple)):
        items = [(str(i), value) for i, value in enumerate(model_or_state)]
    else:
        raise TypeError(f"broadcast_parameters expected a Module, a state dict or a list of "
                        f"tensors, got {type(model_or_state).__name__}")
    named = []
    for name, value in items:
        if isinstance(value, Tensor):
            named.append((name, value.data, value._backend))
            continue
        backend = backend_of_array(value)
        if backend is None:
            raise TypeError(f"broadcast_parameters: {name!r} is a {type(value).__name__}, "
                            "not a tensor or an array")
        named.append((name, value, backend))
    return named


def _one_backend(backends, what):
    first = backends[0]
    for other in backends[1:]:
        if other is not first:
            raise ValueError(f"{what}: the parameters are on different devices ({first.name} "
                             f"and {other.name}); move the model to one device first")
    return first


def _cpu_comm(comm):
    """The communicator for small host messages among ``comm``'s ranks."""
    host = None if comm is None else comm.host
    return host if host is not None else current().comm


def _first_difference(mine, theirs, root):
    if len(mine) != len(theirs):
        return f"this rank has {len(mine)} tensors, rank {root} has {len(theirs)}"
    for own, other in zip(mine, theirs):
        if own != other:
            return (f"this rank has {own[0]} {tuple(own[1])} {own[2]}, rank {root} has "
                    f"{other[0]} {tuple(other[1])} {other[2]}")
    return None
