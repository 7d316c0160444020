"""sum_to: undoing broadcasting in backward."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.autograd import sum_to


@settings(max_examples=60, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=4, max_side=4),
       st.data())
def test_sum_to_equals_summing_the_broadcast_copies(shapes, data):
    (shape,), result_shape = shapes.input_shapes, shapes.result_shape
    grad = data.draw(hnp.arrays(np.float64, result_shape, elements=st.floats(-10, 10)))
    reduced = sum_to(grad, shape)
    assert reduced.shape == shape
    # Brute force: every element of x is the sum of the grads at the positions it was copied to.
    expected = np.zeros(shape)
    index_map = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), result_shape)
    np.add.at(expected.reshape(-1), index_map.reshape(-1), grad.reshape(-1))
    np.testing.assert_allclose(reduced, expected)


def test_sum_to_rejects_incompatible_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) to shape \(4,\)"):
        sum_to(np.ones((2, 3)), (4,))
