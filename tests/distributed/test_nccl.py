"""NCCLCommunicator. Without a GPU: its calls into ``cupy.cuda.nccl`` against a recording fake
(the unique id's handshake over the host communicator, in-place buffers, dtype and op codes,
CuPy's current stream), and the bucketing above it on the stand-in. With a GPU (skipped
otherwise): a real one-rank NCCL communicator, and the gradient averaging of CUDA tensors over
the stand-in, arrays staying on the GPU."""

import sys
import types

import numpy as np
import pytest

import minigrad as mg
from minigrad.distributed import (NCCLCommunicator, allreduce_gradients, broadcast_parameters,
                                  run_ranks)
from minigrad.distributed.nccl import UNIQUE_ID_BYTES

STREAM = 0x5eed


class FakeArray:
    """What NCCLCommunicator reads of a CuPy array: flags, data.ptr, size, dtype, view."""

    def __init__(self, array):
        self.array = array
        self.flags = {"C_CONTIGUOUS": array.flags["C_CONTIGUOUS"]}
        self.data = types.SimpleNamespace(ptr=array.ctypes.data)
        self.size, self.dtype = array.size, array.dtype

    def view(self, dtype):
        return FakeArray(self.array.view(dtype))


@pytest.fixture
def fake_nccl(monkeypatch):
    """A recording ``cupy.cuda.nccl`` (and just enough ``cupy``) in sys.modules."""
    nccl = types.ModuleType("cupy.cuda.nccl")
    nccl.available = True
    names = ["NCCL_INT8", "NCCL_UINT8", "NCCL_INT32", "NCCL_INT64", "NCCL_FLOAT16",
             "NCCL_FLOAT32", "NCCL_FLOAT64", "NCCL_SUM", "NCCL_MAX", "NCCL_MIN"]
    for code, name in enumerate(names):
        setattr(nccl, name, 100 + code)
    made = []

    class NcclCommunicator:
        def __init__(self, size, unique_id, rank):
            self.size, self.unique_id, self.rank, self.calls = size, unique_id, rank, []
            made.append(self)

        def allReduce(self, send, receive, count, kind, op, stream):   # noqa: N802 (CuPy's)
            self.calls.append(("allReduce", send, receive, count, kind, op, stream))

        def bcast(self, buffer, count, kind, root, stream):
            self.calls.append(("bcast", buffer, count, kind, root, stream))

        def abort(self):
            self.calls.append(("abort",))

    nccl.NcclCommunicator = NcclCommunicator
    nccl.get_unique_id = lambda: tuple((i * 37) % 256 - 128 for i in range(UNIQUE_ID_BYTES))
    cuda = types.ModuleType("cupy.cuda")
    cuda.nccl = nccl
    cuda.get_current_stream = lambda: types.SimpleNamespace(ptr=STREAM)
    cupy = types.ModuleType("cupy")
    cupy.cuda = cuda
    for name, module in (("cupy", cupy), ("cupy.cuda", cuda), ("cupy.cuda.nccl", nccl)):
        monkeypatch.setitem(sys.modules, name, module)
    nccl.made = made
    return nccl


def test_the_unique_id_travels_from_rank_0_over_the_host_communicator(fake_nccl):
    comms = run_ranks(3, NCCLCommunicator.from_mpi)
    expected = fake_nccl.get_unique_id()
    assert sorted((c.rank, c.size) for c in fake_nccl.made) == [(0, 3), (1, 3), (2, 3)]
    assert all(c.unique_id == expected for c in fake_nccl.made)
    assert [c.rank for c in comms] == [0, 1, 2] and all(c.device == "cuda" for c in comms)
    assert all(c.host is not None and c.host.device == "cpu" for c in comms)


@pytest.mark.parametrize("dtype, code", [("float16", "NCCL_FLOAT16"), ("float32", "NCCL_FLOAT32"),
                                         ("float64", "NCCL_FLOAT64"), ("int64", "NCCL_INT64"),
                                         ("bool", "NCCL_UINT8")])
@pytest.mark.parametrize("op", ["sum", "max", "min"])
def test_allreduce_reduces_in_place_on_the_current_stream(fake_nccl, dtype, code, op):
    comm = NCCLCommunicator(1, 2, fake_nccl.get_unique_id())
    array = FakeArray(np.zeros((3, 4), dtype))
    assert comm.allreduce(array, op) is array
    [(name, send, receive, count, kind, reduction, stream)] = fake_nccl.made[-1].calls
    assert (name, count, stream) == ("allReduce", 12, STREAM)
    assert send == receive == array.data.ptr                 # in place
    assert kind == getattr(fake_nccl, code)
    assert reduction == getattr(fake_nccl, f"NCCL_{op.upper()}")


def test_broadcast_sends_from_the_root(fake_nccl):
    comm = NCCLCommunicator(0, 3, fake_nccl.get_unique_id())
    array = FakeArray(np.zeros(5, "float32"))
    comm.broadcast(array, root=2)
    assert fake_nccl.made[-1].calls == [("bcast", array.data.ptr, 5, fake_nccl.NCCL_FLOAT32, 2,
                                         STREAM)]
    with pytest.raises(ValueError, match="root must be a rank from 0 to 2"):
        comm.broadcast(array, root=3)


def test_what_nccl_cannot_take_is_refused(fake_nccl):
    comm = NCCLCommunicator(0, 2, fake_nccl.get_unique_id())
    with pytest.raises(ValueError, match="expected a contiguous CuPy array, got ndarray"):
        comm.allreduce(np.zeros(3))
    with pytest.raises(ValueError, match="expected a contiguous CuPy array"):
        comm.allreduce(FakeArray(np.zeros((4, 4))[:, ::2]))
    with pytest.raises(ValueError, match="cannot reduce arrays of complex128"):
        comm.allreduce(FakeArray(np.zeros(3, "complex128")))
    with pytest.raises(ValueError, match="unknown reduction 'prod'"):
        comm.allreduce(FakeArray(np.zeros(3)), "prod")


def test_without_nccl_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)          # "import cupy" raises ImportError
    with pytest.raises(RuntimeError, match="needs CuPy with NCCL.*nvidia-nccl"):
        NCCLCommunicator(0, 1, (0,) * UNIQUE_ID_BYTES)


# --- on a GPU ---------------------------------------------------------------------------------
def _gpu_with_nccl():
    if not mg.cuda.is_available():
        return False
    try:
        from cupy.cuda import nccl
    except ImportError:
        return False
    return getattr(nccl, "available", True)


needs_gpu = pytest.mark.skipif(not _gpu_with_nccl(), reason="needs a GPU, CuPy and NCCL")


@needs_gpu
def test_a_one_rank_nccl_communicator_reduces_and_broadcasts_cupy_arrays():
    import cupy
    from cupy.cuda import nccl

    comm = NCCLCommunicator(0, 1, nccl.get_unique_id())
    for dtype in ("float16", "float32", "float64", "int32", "int64", "bool"):
        for op in ("sum", "max", "min"):
            array = cupy.arange(6).reshape(2, 3).astype(dtype)
            expected = array.get()
            comm.allreduce(array, op)
            np.testing.assert_array_equal(array.get(), expected)
        comm.broadcast(array, root=0)
    comm.barrier()


@needs_gpu
def test_gradients_of_cuda_tensors_are_averaged_on_the_gpu():
    import cupy

    generator = np.random.default_rng(0)
    specs = [((3, 4), "float32"), ((4,), "float32"), ((2, 2), "float64")]
    grads = [[generator.normal(size=shape).astype(dtype) for shape, dtype in specs]
             for _ in range(3)]

    def work(comm):
        params = [mg.nn.Parameter(mg.zeros(*shape, dtype=dtype, device="cuda"))
                  for shape, dtype in specs]
        for p, g in zip(params, grads[comm.rank]):
            p.grad = mg.tensor(g, device="cuda")
        allreduce_gradients(params, bucket_bytes=64, comm=comm)
        broadcast_parameters([p.data for p in params], root=1, comm=comm)
        assert all(isinstance(p.grad.data, cupy.ndarray) for p in params)
        return [p.grad.numpy() for p in params]

    for result in run_ranks(3, work, device="cuda"):
        for got, i in zip(result, range(len(specs))):
            np.testing.assert_allclose(got, np.mean([g[i] for g in grads], axis=0), rtol=1e-6)
