"""allreduce_gradients, broadcast_parameters, broadcast_object and allreduce_array over the
in-process stand-in communicator (tests/distributed/test_mpi.py runs them under mpiexec):
results against a NumPy reference, the messages each rank sends (one small header, then one
allreduce per bucket, in parameter order), and errors that every rank raises together."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.distributed import (allreduce_array, allreduce_gradients, broadcast_object,
                                  broadcast_parameters, plan_buckets, run_ranks)
from minigrad.distributed.local import LocalCommunicator

TOLERANCE = {"float16": dict(rtol=2e-3, atol=2e-3), "float32": dict(rtol=1e-5, atol=1e-6),
             "float64": dict(rtol=1e-12, atol=1e-14)}


@st.composite
def cases(draw):
    """Ranks, parameter specs, each rank's gradients (None: unused there), weights, buckets."""
    ranks = draw(st.integers(1, 4))
    specs = draw(st.lists(st.tuples(st.lists(st.integers(1, 4), max_size=3).map(tuple),
                                    st.sampled_from(["float16", "float32", "float64"])),
                          min_size=1, max_size=6))
    generator = np.random.default_rng(draw(st.integers(0, 2**16)))
    present = draw(st.lists(st.lists(st.booleans(), min_size=len(specs), max_size=len(specs)),
                            min_size=ranks, max_size=ranks))
    grads = [[generator.normal(size=shape).astype(dtype) if here else None
              for (shape, dtype), here in zip(specs, row)] for row in present]
    weights = draw(st.one_of(st.none(), st.lists(st.integers(0, 5), min_size=ranks,
                                                  max_size=ranks).filter(lambda w: sum(w) > 0)))
    bucket_bytes = draw(st.sampled_from([1, 8, 64, 1000, 25 * 2**20]))
    return specs, grads, weights, bucket_bytes


def parameters(specs, grads):
    params = [mg.nn.Parameter(mg.zeros(*shape, dtype=dtype)) for shape, dtype in specs]
    for p, g in zip(params, grads):
        p.grad = None if g is None else mg.tensor(g)
    return params


@settings(max_examples=60, deadline=None)
@given(cases())
def test_every_rank_gets_the_weighted_average_of_the_gradients(case):
    specs, grads, weights, bucket_bytes = case
    ranks = len(grads)

    def work(comm):
        params = parameters(specs, grads[comm.rank])
        allreduce_gradients(params, bucket_bytes=bucket_bytes, comm=comm,
                            weights=None if weights is None else weights[comm.rank])
        return [None if p.grad is None else p.grad.numpy() for p in params], comm.calls

    results = run_ranks(ranks, work)
    share = [1] * ranks if weights is None else weights
    for i, (shape, dtype) in enumerate(specs):
        used = [g[i] for g in grads]
        for got, _ in results:
            if all(u is None for u in used):
                assert got[i] is None                     # nobody had one: none is made
                continue
            expected = sum(w * u.astype(np.float64) for w, u in zip(share, used)
                           if u is not None) / sum(share)
            assert got[i].dtype == np.dtype(dtype) and got[i].shape == shape
            np.testing.assert_allclose(got[i], expected, **TOLERANCE[dtype])
            np.testing.assert_array_equal(got[i], results[0][0][i])   # the same bits
    if ranks > 1:                                        # the messages, on every rank
        present = [np.zeros(shape, dtype) for i, (shape, dtype) in enumerate(specs)
                   if any(g[i] is not None for g in grads)]
        expected_calls = [("allreduce", (2 + len(specs),), "float64", "sum")] + [
            ("allreduce", (b.size,), b.dtype.name, "sum")
            for b in plan_buckets(present, bucket_bytes)]
        assert all(calls == expected_calls for _, calls in results)


def test_one_message_per_bucket_for_a_model():
    def work(comm, bucket_bytes):
        model = models[comm.rank]                 # 4 float32 arrays: 26,456 bytes
        model.zero_grad()
        (model(mg.ones(2, 100)) ** 2).mean().backward()
        allreduce_gradients(model, bucket_bytes=bucket_bytes, comm=comm)
        return [size for _, (size,), _, _ in comm.calls[1:]]

    models = [mg.nn.Sequential([mg.nn.Dense(64), mg.nn.Dense(10)]) for _ in range(2)]
    for model in models:
        model.build((None, 100))
    assert run_ranks(2, lambda comm: work(comm, 25 * 2**20))[0] == [6400 + 64 + 640 + 10]
    assert run_ranks(2, lambda comm: work(comm, 4 * 6464))[0] == [6464, 650]
    assert run_ranks(2, lambda comm: work(comm, 1))[0] == [6400, 64, 640, 10]


def test_a_world_of_one_changes_nothing_and_sends_nothing():
    [comm] = LocalCommunicator.make_group(1)
    params = parameters([((3,), "float32")], [np.array([1.0, 2.0, 3.0], "float32")])
    before = params[0].grad
    allreduce_gradients(params, comm=comm, weights=5)
    assert params[0].grad is before and comm.calls == []
    allreduce_gradients(params)                        # the world's: one process here
    assert params[0].grad is before


def test_average_false_leaves_the_sum():
    def work(comm):
        params = parameters([((2,), "float64")], [np.array([1.0, comm.rank])])
        allreduce_gradients(params, average=False, comm=comm)
        return params[0].grad.numpy().tolist()

    assert run_ranks(3, work) == [[3.0, 3.0]] * 3


@pytest.mark.parametrize("weights, average, message", [
    (-1, True, "weights must be a finite number >= 0"),
    (float("nan"), True, "weights must be a finite number >= 0"),
    (True, True, "weights must be a finite number >= 0"),
    ("4", True, "weights must be a finite number >= 0"),
    (3, False, "weights= needs average=True")])
def test_bad_weights_are_refused(weights, average, message):
    params = parameters([((2,), "float64")], [np.ones(2)])
    with pytest.raises(ValueError, match=message):
        allreduce_gradients(params, weights=weights, average=average)


def test_weights_that_add_up_to_zero_fail_on_every_rank():
    def work(comm):
        params = parameters([((2,), "float64")], [np.ones(2)])
        try:
            allreduce_gradients(params, weights=0, comm=comm)
        except ValueError as error:
            return str(error)

    assert all("add up to 0" in message for message in run_ranks(3, work))


def test_weights_given_on_some_ranks_only_fail_on_every_rank():
    def work(comm):
        params = parameters([((2,), "float64")], [np.ones(2)])
        try:
            allreduce_gradients(params, weights=3 if comm.rank == 0 else None, comm=comm)
        except ValueError as error:
            return str(error)

    assert run_ranks(3, work) == ["allreduce_gradients: 1 of 3 ranks gave weights=; give them "
                                  "on every rank or on none"] * 3


def test_gradients_shared_by_two_parameters_are_averaged_separately():
    # Autograd may hand one array to two parameters; averaging must not write it twice.
    def work(comm):
        shared = mg.tensor(np.array([1.0, 2.0]) * (comm.rank + 1))
        a, b = parameters([((2,), "float64"), ((2,), "float64")], [None, None])
        a.grad = b.grad = shared
        allreduce_gradients([a, b], comm=comm)
        return a.grad.numpy().tolist(), b.grad.numpy().tolist()

    assert run_ranks(2, work) == [([1.5, 3.0], [1.5, 3.0])] * 2


def test_what_is_not_parameters_is_refused():
    with pytest.raises(TypeError, match="expected a Module or an iterable of parameters"):
        allreduce_gradients(3)
    with pytest.raises(TypeError, match="got ndarray at position 0"):
        allreduce_gradients([np.ones(2)])


# --- broadcast_parameters ---------------------------------------------------------------------
def small_model(seed):
    mg.manual_seed(seed)
    model = mg.nn.Sequential([mg.nn.Dense(4), mg.nn.BatchNormalization(), mg.nn.Dense(2)])
    model.build((None, 3))
    return model


@pytest.mark.parametrize("root", [0, 2])
@pytest.mark.parametrize("bucket_bytes", [1, 25 * 2**20])
def test_broadcast_parameters_copies_the_roots_weights_and_buffers_in_place(root, bucket_bytes):
    models = [small_model(seed=rank) for rank in range(3)]   # (the seed is per process)

    def work(comm):
        model = models[comm.rank]
        model.layers[1].moving_mean.data[...] = comm.rank       # a buffer differs too
        arrays = [p.data for p in model.parameters()]
        broadcast_parameters(model, root=root, bucket_bytes=bucket_bytes, comm=comm)
        assert all(p.data is a for p, a in zip(model.parameters(), arrays))
        return model.get_weights()

    results = run_ranks(3, work)
    expected = small_model(seed=root)
    expected.layers[1].moving_mean.data[...] = root
    for weights in results:
        for got, want in zip(weights, expected.get_weights()):
            np.testing.assert_array_equal(got, want)


def test_broadcast_parameters_takes_state_dicts_and_lists_of_arrays():
    def work(comm):
        arrays = [np.full(3, comm.rank, "float32"), np.full((2, 2), comm.rank, "int64")]
        broadcast_parameters(arrays, root=1, comm=comm)
        state = {"w": mg.tensor(np.full(2, comm.rank + 0.5))}
        broadcast_parameters(state, comm=comm)
        return arrays[0].tolist(), arrays[1].tolist(), state["w"].numpy().tolist()

    assert run_ranks(2, work) == [([1.0] * 3, [[1, 1], [1, 1]], [0.5, 0.5])] * 2


@pytest.mark.parametrize("difference", ["shape", "dtype", "count", "name"])
def test_different_models_fail_on_every_rank_before_anything_is_written(difference):
    def work(comm):
        shape, dtype, names = (3,), "float32", ["a", "b"]
        if comm.rank == 1:
            if difference == "shape":
                shape = (4,)
            elif difference == "dtype":
                dtype = "float64"
            elif difference == "count":
                names = ["a"]
            else:
                names = ["a", "c"]
        state = {name: np.full(shape, comm.rank, dtype) for name in names}
        try:
            broadcast_parameters(state, comm=comm)
        except ValueError as error:
            return str(error), state["a"].tolist()

    results = run_ranks(3, work)
    assert all("the ranks hold different models" in message for message, _ in results)
    assert "rank 0 has" in results[1][0]                  # the odd rank says what differs
    assert [values[0] for _, values in results] == [0, 1, 2]   # nothing was overwritten


def test_broadcast_parameters_refuses_what_it_cannot_send():
    with pytest.raises(TypeError, match="expected a Module, a state dict or a list"):
        broadcast_parameters(3)
    with pytest.raises(TypeError, match="'w' is a str, not a tensor or an array"):
        broadcast_parameters({"w": "weights"})


# --- broadcast_object -------------------------------------------------------------------------
def test_broadcast_object_sends_json_from_the_root():
    sent = {"seed": 3, "names": ["a", "b"], "shape": (2, 3), "nested": {"x": None, "y": 1.5}}

    def work(comm):
        return broadcast_object(sent if comm.rank == 1 else {"other": comm.rank}, root=1,
                                comm=comm)

    expected = {"seed": 3, "names": ["a", "b"], "shape": [2, 3], "nested": {"x": None, "y": 1.5}}
    assert run_ranks(3, work) == [expected] * 3


@pytest.mark.parametrize("obj", [{1, 2}, object(), np.ones(2), b"bytes"])
def test_what_json_cannot_carry_fails_on_every_rank(obj):
    # never pickled: an object that only pickle could send is refused on every rank
    def work(comm):
        try:
            broadcast_object(obj if comm.rank == 0 else None, comm=comm)
        except TypeError as error:
            return str(error)

    messages = run_ranks(2, work)
    assert all("rank 0's object cannot be sent as JSON" in m for m in messages)
    assert "is not JSON serializable" in messages[0]


# --- allreduce_array --------------------------------------------------------------------------
@pytest.mark.parametrize("op, expected", [("sum", 6.0), ("mean", 2.0), ("max", 3.0),
                                          ("min", 1.0)])
def test_allreduce_array_reduces_numbers_arrays_and_tensors(op, expected):
    def work(comm):
        value = comm.rank + 1.0
        array = np.full((2, 2), value, "float32")
        tensor = mg.tensor(array)
        return (allreduce_array(value, op, comm=comm), allreduce_array(array, op, comm=comm),
                allreduce_array(tensor, op, comm=comm), array)

    for number, array, tensor, original in run_ranks(3, work):
        assert isinstance(number, float) and number == expected
        assert array.dtype == np.float32 and (array == expected).all()
        assert isinstance(tensor, mg.Tensor) and (tensor.numpy() == expected).all()
        assert (original < 4).all() and original[0, 0] in (1, 2, 3)   # the input unchanged


def test_the_mean_of_integers_is_a_float():
    got = run_ranks(2, lambda comm: allreduce_array(np.array([comm.rank]), "mean", comm=comm))
    assert got[0].dtype == np.float64 and got[0].tolist() == [0.5]
    assert run_ranks(2, lambda comm: allreduce_array(comm.rank + 1, comm=comm)) == [3, 3]


def test_allreduce_array_refuses_unknown_ops_and_types():
    with pytest.raises(ValueError, match="unknown reduction 'prod'"):
        allreduce_array(np.ones(2), "prod")
    with pytest.raises(TypeError, match="got list"):
        allreduce_array([1.0, 2.0])
