"""plan_buckets/pack/unpack: every array in exactly one bucket of its dtype, in order, no
bucket over the limit unless it holds one array, and no two neighbouring buckets that would
have fitted in one (the plan is greedy, so every rank makes the same one)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad.distributed.buckets import DEFAULT_BUCKET_BYTES, pack, plan_buckets, unpack

DTYPES = ["float16", "float32", "float64"]
shapes = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)
arrays = st.lists(st.tuples(shapes, st.sampled_from(DTYPES)), min_size=0, max_size=12).map(
    lambda specs: [np.zeros(shape, dtype) for shape, dtype in specs])


@settings(max_examples=200, deadline=None)
@given(arrays, st.sampled_from([1, 2, 8, 24, 100, 1000, DEFAULT_BUCKET_BYTES]))
def test_a_plan_holds_every_array_once_in_order_within_the_limit(arrays, bucket_bytes):
    buckets = plan_buckets(arrays, bucket_bytes)
    held = [i for bucket in buckets for i in bucket.indices]
    assert sorted(held) == list(range(len(arrays)))
    for bucket in buckets:
        assert all(arrays[i].dtype == bucket.dtype for i in bucket.indices)
        assert list(bucket.indices) == sorted(bucket.indices)
        assert list(bucket.sizes) == [arrays[i].size for i in bucket.indices]
        assert list(bucket.offsets) == list(np.cumsum((0,) + bucket.sizes[:-1]))
        assert bucket.nbytes <= bucket_bytes or len(bucket.indices) == 1
    # greedy: a bucket is closed only when the next array of its dtype would not fit
    for dtype in {b.dtype for b in buckets}:
        same = [b for b in buckets if b.dtype == dtype]
        for this, following in zip(same, same[1:]):
            assert this.indices[-1] < following.indices[0]
            assert this.nbytes + following.sizes[0] * dtype.itemsize > bucket_bytes
    # dtypes in the order of their first array
    firsts = [b.dtype for b in buckets]
    assert list(dict.fromkeys(firsts)) == list(dict.fromkeys(a.dtype for a in arrays))


def test_the_default_bucket_holds_a_small_model_in_one_message_per_dtype():
    arrays = [np.zeros((784, 128), "float32"), np.zeros(128, "float32"),
              np.zeros((128, 10), "float32"), np.zeros(10, "float32")]
    [bucket] = plan_buckets(arrays)
    assert bucket.indices == (0, 1, 2, 3) and bucket.nbytes == 4 * (784 * 128 + 128 + 1290)
    assert DEFAULT_BUCKET_BYTES == 25 * 2**20


@settings(max_examples=100, deadline=None)
@given(arrays, st.sampled_from([1, 16, 1000]), st.floats(0.25, 4.0))
def test_pack_then_unpack_gives_back_the_arrays_scaled(arrays, bucket_bytes, scale):
    generator = np.random.default_rng(0)
    arrays = [generator.normal(size=a.shape).astype(a.dtype) for a in arrays]
    for bucket in plan_buckets(arrays, bucket_bytes):
        flat = pack(bucket, arrays, np, scale)
        assert flat.dtype == bucket.dtype and flat.shape == (bucket.size,)
        views = unpack(bucket, flat, [a.shape for a in arrays])
        assert sorted(views) == sorted(bucket.indices)
        for i, view in views.items():
            assert view.shape == arrays[i].shape and np.shares_memory(view, flat)
            expected = (arrays[i] * arrays[i].dtype.type(scale)).astype(arrays[i].dtype)
            np.testing.assert_array_equal(view, expected)


def test_pack_takes_none_as_zeros():
    arrays = [np.ones(3), None, np.full((2, 2), 2.0)]
    shapes = [np.zeros(3), np.zeros(2), np.zeros((2, 2))]
    [bucket] = plan_buckets(shapes, 1000)
    assert pack(bucket, arrays, np).tolist() == [1, 1, 1, 0, 0, 2, 2, 2, 2]


@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "25MB", None])
def test_a_bucket_size_that_is_not_a_positive_number_of_bytes_is_refused(bad):
    with pytest.raises(ValueError, match="bucket_bytes must be a positive number of bytes"):
        plan_buckets([np.zeros(3)], bad)
