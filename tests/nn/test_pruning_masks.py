"""The pruning-mask mechanism of minigrad.nn: a mask is a bool buffer beside its weight that the
parameter points to; it zeroes the pruned entries, follows the module (state dict, devices,
copies) and is rebuilt by load_state_dict from a state that holds it."""

import copy

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import pruning_masks


def dense(device="cpu"):
    layer = nn.Dense(3).to(device)
    layer.build((None, 4))
    return layer


def test_set_mask_zeroes_the_pruned_entries_and_registers_a_buffer(device):
    layer = dense(device)
    before = layer.kernel.numpy().copy()
    keep = np.random.default_rng(0).random((4, 3)) < 0.5
    mask = pruning_masks.set_mask(layer, "kernel", keep)
    assert layer.kernel.pruning_mask is mask is layer.kernel_mask
    assert mask.dtype == mg.bool_ and mask.device == device
    np.testing.assert_array_equal(layer.kernel.numpy(), np.where(keep, before, 0))
    assert list(layer.state_dict()) == ["kernel", "bias", "kernel_mask"]
    keep[:] = True  # the caller's array is not shared
    assert not mask.numpy().all()


def test_a_second_mask_replaces_the_first_in_place():
    layer = dense()
    first = pruning_masks.set_mask(layer, "kernel", np.ones((4, 3), bool))
    second = pruning_masks.set_mask(layer, "kernel", np.eye(4, 3, dtype=bool))
    assert first is second and int(layer.kernel_mask.numpy().sum()) == 3


@pytest.mark.parametrize("name, keep, message", [
    ("bias_2", np.ones(3, bool), "has no parameter 'bias_2' to prune"),
    ("kernel", np.ones((3, 4), bool), "the mask of 'kernel' has shape \\(3, 4\\), the weight "
                                      "\\(4, 3\\)"),
])
def test_bad_masks_are_clear_errors(name, keep, message):
    with pytest.raises(ValueError, match=message):
        pruning_masks.set_mask(dense(), name, keep)


def test_remove_mask_forgets_the_mask_and_keeps_the_zeros():
    layer = dense()
    pruning_masks.set_mask(layer, "kernel", np.eye(4, 3, dtype=bool))
    pruning_masks.remove_mask(layer, "kernel")
    assert layer.kernel.pruning_mask is None and "kernel_mask" not in layer.state_dict()
    assert int((layer.kernel.numpy() != 0).sum()) == 3
    pruning_masks.remove_mask(layer, "kernel")  # nothing to remove: nothing happens


def test_load_state_dict_rebuilds_masks_from_a_state_that_has_them():
    pruned = dense()
    pruning_masks.set_mask(pruned, "kernel", np.eye(4, 3, dtype=bool))
    fresh = dense()
    fresh.load_state_dict(pruned.state_dict())
    assert fresh.kernel.pruning_mask is fresh.kernel_mask
    np.testing.assert_array_equal(fresh.kernel_mask.numpy(), np.eye(4, 3, dtype=bool))
    np.testing.assert_array_equal(fresh.kernel.numpy(), pruned.kernel.numpy())
    with pytest.raises(KeyError, match="missing keys: kernel_mask"):
        pruned.load_state_dict(dense().state_dict())  # a dense state into a pruned layer


def test_masks_survive_dtype_changes_and_deep_copies():
    layer = dense()
    pruning_masks.set_mask(layer, "kernel", np.eye(4, 3, dtype=bool))
    layer.to("float64")
    assert layer.kernel.dtype == mg.float64 and layer.kernel_mask.dtype == mg.bool_
    twin = copy.deepcopy(layer)
    assert twin.kernel.pruning_mask is twin.kernel_mask is not layer.kernel_mask
    np.testing.assert_array_equal(twin.kernel_mask.numpy(), layer.kernel_mask.numpy())


def test_masked_gradient_and_reapply_work_on_the_parameters_backend(device):
    layer = dense(device)
    pruning_masks.set_mask(layer, "kernel", np.eye(4, 3, dtype=bool))
    layer.kernel.grad = mg.ones(4, 3, device=device)
    grad = pruning_masks.masked_gradient(layer.kernel)
    assert layer.kernel._backend.owns(grad)
    np.testing.assert_array_equal(layer.kernel._backend.to_numpy(grad), np.eye(4, 3))
    layer.kernel.data += 1
    pruning_masks.reapply(layer.kernel)
    assert int((layer.kernel.numpy() != 0).sum()) == 3
    layer.bias.grad = mg.ones(3, device=device)  # no mask: the gradient itself
    assert pruning_masks.masked_gradient(layer.bias) is layer.bias.grad.data
