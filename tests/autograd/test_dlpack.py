"""DLPack: Tensor.__dlpack__ / __dlpack_device__ and mg.from_dlpack, zero-copy to and from
PyTorch, NumPy (and CuPy on a GPU); torch.tensor(t) / torch.as_tensor(t) (which go through
DLPack); np.asarray(t) (which goes through __array__)."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import array_shapes

import minigrad as mg

from ..functional._specs import NO_TORCH, hypothesis_settings

torch = pytest.importorskip("torch", reason=NO_TORCH)

#: Every dtype minigrad supports, by name (torch and NumPy spell them the same, but bool_).
DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "uint32", "uint64", "bool"]


def torch_dtype(name):
    return getattr(torch, name)


def sample(shape, dtype, seed=0):
    """Distinct-ish values of ``dtype`` (small enough for int8 and float16)."""
    values = np.random.default_rng(seed).integers(0, 100, shape)
    return (values % 2 == 1) if dtype == "bool" else values.astype(dtype)


def changed(value):
    """A value other than ``value`` (a Python number from ``.item()``), to write through one side
    of shared memory and read back on the other: ``sample`` stays below 100."""
    return (not value) if isinstance(value, bool) else 100


def first(array):
    return array.reshape(-1)[0].item()


# --- minigrad -> torch / NumPy ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_from_dlpack_shares_memory_in_both_directions(dtype):
    t = mg.tensor(sample((2, 3), dtype), dtype=dtype)
    x = torch.from_dlpack(t)
    assert x.dtype == torch_dtype(dtype) and tuple(x.shape) == (2, 3)
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    new = changed(x[0, 0].item())
    x[0, 0] = new
    assert t[0, 0].item() == new
    new = changed(t[1, 2].item())
    t[1, 2] = new  # minigrad's in-place write shows in torch
    assert x[1, 2].item() == new


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_from_dlpack_shares_memory(dtype):
    t = mg.tensor(sample((4,), dtype), dtype=dtype)
    a = np.from_dlpack(t)
    assert a.dtype == t.dtype and np.shares_memory(a, t.data)
    new = changed(a[0].item())
    a[0] = new
    assert t[0].item() == new


def test_dlpack_device_is_the_arrays():
    assert mg.zeros(2).__dlpack_device__() == (1, 0)
    assert mg.zeros(2).__dlpack_device__() == np.zeros(2).__dlpack_device__()


@pytest.mark.parametrize("view", ["transposed", "stepped", "permuted", "column"])
def test_strided_views_are_exported_as_views_with_their_values(view):
    base = mg.arange(24.0).reshape(2, 3, 4)
    t = {"transposed": lambda b: b.reshape(6, 4).T, "stepped": lambda b: b[:, ::2, 1::2],
         "permuted": lambda b: b.permute(2, 0, 1), "column": lambda b: b[:, 1]}[view](base)
    x = torch.from_dlpack(t)
    np.testing.assert_array_equal(x.numpy(), t.numpy())
    assert tuple(x.stride()) == tuple(s // 4 for s in t.data.strides)  # strides in elements
    index = (0,) * t.ndim
    x[index] = -1.0
    assert t[index].item() == -1.0 and base.numpy().min() == -1.0


def test_negative_strides_are_exported_as_a_copy_with_the_right_values():
    # PyTorch cannot take negative strides (it aborts the process on them), so minigrad copies.
    t = mg.arange(6.0).reshape(2, 3)[:, ::-1]
    x = torch.from_dlpack(t)
    np.testing.assert_array_equal(x.numpy(), [[2, 1, 0], [5, 4, 3]])
    x[0, 0] = 100.0
    assert t[0, 0].item() == 2.0  # a copy: the write does not come back
    with pytest.raises(BufferError, match=r"negative strides \(3, -1\).*cannot take; export a "
                                          r"copy \(copy=None or True, or t\.clone\(\)\)"):
        t.__dlpack__(copy=False)


def test_broadcast_views_export_with_zero_strides():
    t = mg.arange(3.0).expand(2, 3)
    x = torch.from_dlpack(t)
    assert tuple(x.stride()) == (0, 1)
    np.testing.assert_array_equal(x.numpy(), [[0, 1, 2], [0, 1, 2]])
    a = np.from_dlpack(t)
    assert not a.flags.writeable  # NumPy keeps DLPack 1.0's read-only flag


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_dimensional_tensors_round_trip(dtype):
    t = mg.tensor(sample((), dtype), dtype=dtype)
    x = torch.from_dlpack(t)
    assert x.shape == () and x.item() == t.item()
    back = mg.from_dlpack(x)
    assert back.shape == () and back.dtype == t.dtype and back.item() == t.item()


def test_empty_tensors_round_trip():
    t = mg.zeros(0, 3)
    assert tuple(torch.from_dlpack(t).shape) == (0, 3)
    assert mg.from_dlpack(torch.zeros(2, 0)).shape == (2, 0)


def test_a_tensor_that_requires_grad_is_exported_detached():
    # PyTorch refuses to export its own such tensors (BufferError); minigrad exports the data,
    # as its numpy() does, so that torch.tensor(param) works. The graph is not exported.
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    x = torch.from_dlpack(w)
    assert not x.requires_grad and x.tolist() == [1.0, 2.0]
    y = (w * 3).sum()  # a non-leaf exports too
    assert torch.from_dlpack(y).item() == 9.0
    assert torch.tensor(w).tolist() == [1.0, 2.0]
    assert w.requires_grad and w.grad is None


# --- the protocol's keyword arguments ----------------------------------------------------------

def _capsule_name(capsule):
    return repr(capsule).split('"')[1]


def test_max_version_gives_a_versioned_capsule_and_none_the_old_one():
    assert _capsule_name(mg.zeros(2).__dlpack__(max_version=(1, 0))) == "dltensor_versioned"
    assert _capsule_name(mg.zeros(2).__dlpack__()) == "dltensor"
    assert _capsule_name(mg.zeros(2).__dlpack__(max_version=(0, 8))) == "dltensor"


def test_a_cpu_tensor_takes_no_stream():
    t = mg.zeros(2)
    t.__dlpack__(stream=None)
    t.__dlpack__(stream=-1)  # PyTorch's "no synchronization"
    with pytest.raises(BufferError, match=r"stream=1, but data in host memory has no CUDA "
                                          r"stream; pass stream=None"):
        t.__dlpack__(stream=1)


def test_dl_device_may_name_the_tensors_own_device_only():
    t = mg.zeros(2)
    assert np.from_dlpack(t, device="cpu").shape == (2,)
    t.__dlpack__(dl_device=(1, 0))
    with pytest.raises(BufferError, match=r"cannot export a 'cpu' tensor to DLPack device "
                                          r"\(2, 0\); move it with \.to\(device\) first"):
        t.__dlpack__(dl_device=(2, 0))


def test_copy_true_exports_a_copy_and_copy_false_shares():
    t = mg.zeros(3)
    copied = np.from_dlpack(t, copy=True)
    copied[0] = 1.0
    assert t[0].item() == 0.0
    shared = np.from_dlpack(t, copy=False)
    shared[0] = 2.0
    assert t[0].item() == 2.0
    assert torch.from_dlpack(t, copy=True).data_ptr() != t.data.ctypes.data


# --- torch.tensor / torch.as_tensor / np.asarray -----------------------------------------------

@pytest.mark.parametrize("shape", [(), (1,), (2, 3), (2, 0, 4)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_tensor_and_as_tensor_take_a_tensor(dtype, shape):
    t = mg.tensor(sample(shape, dtype), dtype=dtype)
    copied, shared = torch.tensor(t), torch.as_tensor(t)
    for x in (copied, shared):
        assert x.dtype == torch_dtype(dtype) and tuple(x.shape) == shape
        np.testing.assert_array_equal(x.numpy(), t.numpy())
    if t.size:  # torch.tensor copies, torch.as_tensor shares (as for a NumPy array)
        assert shared.data_ptr() == t.data.ctypes.data
        assert copied.data_ptr() != t.data.ctypes.data
        new = changed(first(t.numpy()))
        shared.view(-1)[0] = new
        assert first(t.numpy()) == new
    assert torch.tensor(t, dtype=torch.float64).dtype == torch.float64


def test_torch_as_tensor_with_a_dtype_converts():
    x = torch.as_tensor(mg.tensor([1, 2]), dtype=torch.float32)
    assert x.dtype == torch.float32 and x.tolist() == [1.0, 2.0]


def test_np_asarray_behaves_as_before():
    t = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert a.dtype == np.float32 and np.shares_memory(a, t.data)  # the same memory on the CPU
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert not np.shares_memory(np.array(t), t.data)  # np.array copies
    assert np.asarray(t, copy=False) is not None
    assert np.asarray(mg.tensor(3.5)).shape == ()
    assert np.asarray([mg.tensor(1.0), mg.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_np_asarray_copy_false_says_when_a_copy_is_needed():
    with pytest.raises(ValueError, match=r"np\.asarray\(copy=False\): a 'cpu' tensor of dtype "
                                         r"float32 cannot be seen as a NumPy array of dtype "
                                         r"float64 without a copy"):
        np.asarray(mg.zeros(2), dtype=np.float64, copy=False)


# --- mg.from_dlpack ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_from_torch_shares_memory(dtype):
    x = torch.from_numpy(sample((3, 2), dtype))
    t = mg.from_dlpack(x)
    assert t.dtype == dtype and t.device == "cpu" and not t.requires_grad
    np.testing.assert_array_equal(t.numpy(), x.numpy())
    new = changed(x[0, 0].item())
    x[0, 0] = new
    assert t[0, 0].item() == new
    new = changed(t[2, 1].item())
    t[2, 1] = new
    assert x[2, 1].item() == new


@pytest.mark.parametrize("view", ["transposed", "stepped", "expanded", "narrowed"])
def test_from_strided_torch_views_gives_their_values_and_shares(view):
    base = torch.arange(24.0).reshape(4, 6)
    x = {"transposed": lambda b: b.T, "stepped": lambda b: b[::2, 1::3],
         "expanded": lambda b: b[:1].expand(3, 6), "narrowed": lambda b: b[1:3, 2:]}[view](base)
    t = mg.from_dlpack(x)
    np.testing.assert_array_equal(t.numpy(), x.numpy())
    assert np.shares_memory(t.data, base.numpy())
    base[0, 0] += 0.5  # still a view after the write
    np.testing.assert_array_equal(t.numpy(), x.numpy())


def test_from_numpy_and_minigrad_producers():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    t = mg.from_dlpack(a)
    assert t.dtype == mg.int32 and np.shares_memory(t.data, a)
    u = mg.from_dlpack(t)
    assert np.shares_memory(u.data, a) and u is not t
    w = mg.tensor([1.0], requires_grad=True)
    assert not mg.from_dlpack(w).requires_grad


def test_from_dlpack_copy_and_device_arguments():
    a = np.zeros(3, dtype=np.float32)
    copied = mg.from_dlpack(a, copy=True)
    a[0] = 1.0
    assert copied[0].item() == 0.0
    same = mg.from_dlpack(a, device="cpu", copy=False)
    assert np.shares_memory(same.data, a)


def test_from_dlpack_rejects_what_is_no_producer():
    with pytest.raises(TypeError, match=r"from_dlpack expects a DLPack producer, an object with "
                                        r"__dlpack__ and __dlpack_device__ .*got list"):
        mg.from_dlpack([1.0, 2.0])
    with pytest.raises(TypeError, match="got PyCapsule"):
        mg.from_dlpack(torch.utils.dlpack.to_dlpack(torch.zeros(2)))


def test_from_dlpack_names_an_unsupported_dtype():
    with pytest.raises(RuntimeError, match=r"mg\.from_dlpack: this Tensor of dtype "
                                           r"torch\.bfloat16 could not be imported: .*; minigrad "
                                           r"takes float16/32/64"):
        mg.from_dlpack(torch.zeros(2, dtype=torch.bfloat16))
    with pytest.raises(TypeError, match=r"mg\.from_dlpack: dtype 'complex64' is not supported"):
        mg.from_dlpack(torch.zeros(2, dtype=torch.complex64))


def test_from_dlpack_passes_on_torchs_refusal_of_a_tensor_that_requires_grad():
    with pytest.raises(BufferError, match=r"mg\.from_dlpack: this Tensor of dtype torch\.float32 "
                                          r"could not be imported: .*require gradient.*detach"):
        mg.from_dlpack(torch.zeros(2, requires_grad=True))
    assert mg.from_dlpack(torch.zeros(2, requires_grad=True).detach()).shape == (2,)


class _Producer:
    """A stand-in for a producer on another device: only __dlpack_device__ is reached."""

    def __init__(self, device):
        self.device = device

    def __dlpack__(self, **kwargs):
        raise AssertionError("not reached")

    def __dlpack_device__(self):
        return self.device


def test_from_dlpack_names_a_device_minigrad_cannot_take():
    with pytest.raises(ValueError, match=r"this _Producer is on a Metal device \(DLPack device "
                                         r"type 8\); minigrad takes CPU and CUDA memory only"):
        mg.from_dlpack(_Producer((8, 0)))
    with pytest.raises(ValueError, match=r"in the CUDA memory of GPU 1, but minigrad uses one "
                                         r"GPU, 'cuda' \(= 'cuda:0'\)"):
        mg.from_dlpack(_Producer((2, 1)))


@pytest.mark.skipif(mg.cuda.is_available(), reason="tests the message without CuPy or a GPU")
def test_a_cuda_producer_without_cupy_says_what_to_install():
    with pytest.raises(RuntimeError, match=r"mg\.from_dlpack: this _Producer is in the CUDA memory "
                                           r"of GPU 0, which minigrad reads through CuPy\. .*"
                                           r"CuPy.*Or move it to the CPU first"):
        mg.from_dlpack(_Producer((2, 0)))


# --- property: any shape, dtype and slicing survives the round trips ---------------------------

@st.composite
def strided_tensors(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    dtype = draw(st.sampled_from(DTYPES))
    key = tuple(slice(draw(st.integers(0, 1)), None, draw(st.sampled_from([1, 2, -1, -2])))
                for _ in shape)
    base = mg.tensor(sample(shape, dtype, seed=draw(st.integers(0, 99))), dtype=dtype)
    return base, key


@given(case=strided_tensors())
@hypothesis_settings(max_examples=60)
def test_round_trips_keep_values_for_any_view(case):
    base, key = case
    t = base[key] if key else base
    expected = t.numpy()
    for x in (torch.from_dlpack(t), torch.tensor(t), torch.as_tensor(t)):
        np.testing.assert_array_equal(x.numpy(), expected)
    np.testing.assert_array_equal(np.from_dlpack(t), expected)
    back = mg.from_dlpack(torch.from_dlpack(t))
    assert back.dtype == t.dtype and back.shape == t.shape
    np.testing.assert_array_equal(back.numpy(), expected)
    if all(s >= 0 for s in t.data.strides) and t.size:
        assert np.shares_memory(back.data, base.data)  # zero-copy both ways


# --- on a GPU ----------------------------------------------------------------------------------

def _cuda_or_skip():
    if not mg.cuda.is_available():
        pytest.skip("no usable GPU (CuPy missing or no device visible)")


def _torch_cuda_or_skip():
    _cuda_or_skip()
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA")


@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_tensor_to_cupy_shares_memory(dtype):
    _cuda_or_skip()
    import cupy

    t = mg.tensor(sample((2, 3), dtype), dtype=dtype, device="cuda")
    assert t.__dlpack_device__() == (2, 0)
    c = cupy.from_dlpack(t)
    assert c.data.ptr == t.data.data.ptr
    new = changed(t[0, 0].item())
    c[0, 0] = new
    assert t[0, 0].item() == new
    back = mg.from_dlpack(c)
    assert back.device == "cuda" and back.data.data.ptr == c.data.ptr


def test_cuda_tensor_to_numpy_is_a_host_copy_when_asked():
    _cuda_or_skip()
    t = mg.arange(6.0, device="cuda").reshape(2, 3)
    a = np.from_dlpack(t, device="cpu")
    np.testing.assert_array_equal(a, [[0, 1, 2], [3, 4, 5]])
    with pytest.raises(BufferError, match="reaches the CPU only as a copy, but copy=False"):
        t.__dlpack__(dl_device=(1, 0), copy=False)


def test_from_dlpack_moves_between_devices_when_asked():
    _cuda_or_skip()
    a = np.arange(3.0)
    t = mg.from_dlpack(a, device="cuda")
    assert t.device == "cuda" and t.tolist() == [0.0, 1.0, 2.0]
    assert mg.from_dlpack(t, device="cpu").device == "cpu"
    with pytest.raises(BufferError, match=r"device='cuda' needs a copy of this ndarray of dtype "
                                          r"float64 \(in 'cpu' memory\), but copy=False"):
        mg.from_dlpack(a, device="cuda", copy=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_tensors_and_torch_share_memory_both_ways(dtype):
    _torch_cuda_or_skip()
    t = mg.tensor(sample((3, 2), dtype), dtype=dtype, device="cuda")
    x = torch.from_dlpack(t)
    assert x.is_cuda and x.data_ptr() == t.data.data.ptr
    # Written through minigrad, read in torch by a copy to the host: torch's CUDA kernels for
    # uint16/32/64 are few (its support for them is "limited"), but copies are among them.
    new = changed(t[0, 0].item())
    t[0, 0] = new
    assert x.cpu()[0, 0].item() == new
    if dtype == "float32":  # and the other way, through a torch kernel
        x[1, 1] = -3.0
        assert t[1, 1].item() == -3.0
    u = mg.from_dlpack(x.T)
    assert u.device == "cuda" and u.data.data.ptr == x.data_ptr()
    np.testing.assert_array_equal(u.numpy(), x.T.cpu().numpy())
    assert torch.as_tensor(t).data_ptr() == t.data.data.ptr
    assert torch.tensor(t).is_cuda
