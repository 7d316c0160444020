"""Pruning masks: the mechanism that keeps pruned weights at zero.

A pruned weight keeps a boolean mask of its shape (True: the entry is kept, False: pruned) in
two places:

- as the buffer ``<weight>_mask`` of its layer (``kernel_mask``, ``recurrent_kernel_mask``,
  ``embeddings_mask``), so that the mask is saved, loaded, copied and moved to a device with
  the model like any other state;
- as ``parameter.pruning_mask`` (the same tensor), so that every optimizer, which sees only
  parameters, masks the gradient before its step and zeroes the pruned entries again after it
  (:func:`masked_gradient`, :func:`reapply`): momentum or Adam's moments from before the
  pruning can never regrow a pruned weight.

Which weights to prune and how much (magnitudes, schedules, stripping, compact files) is
decided above, in :mod:`minigrad.export.pruning`; this module only holds the masks.
Everything here runs on the parameter's own backend (NumPy or CuPy arrays).

>>> layer = mg.nn.Dense(2)
>>> layer.build((None, 2))
>>> layer.set_weights([np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros(2)])
>>> _ = mg.nn.pruning_masks.set_mask(layer, "kernel", np.array([[False, True], [True, True]]))
>>> layer.kernel.numpy()
array([[0., 2.],
       [3., 4.]], dtype=float32)
>>> sorted(name for name, _ in layer.named_buffers())
['kernel_mask']
"""

from ..autograd.tensor import Tensor

#: A mask's buffer is named after its weight with this ending: ``kernel`` -> ``kernel_mask``.
SUFFIX = "_mask"


def mask_of(parameter):
    """The parameter's mask tensor (bool, its shape), or None when it is not pruned."""
    return getattr(parameter, "pruning_mask", None)


def set_mask(module, name, keep):
    """Prune the parameter ``name`` of ``module`` (``"kernel"``) to ``keep``: a boolean array
    of the parameter's shape (NumPy, or the parameter's backend), True where the weight stays.

    The first call registers the buffer ``<name>_mask``; later calls replace its values in
    place (the same tensor, which the parameter and the saved state keep referring to). The
    pruned entries are set to zero now. Returns the mask tensor.
    """
    parameter = module._parameters.get(name)
    if parameter is None:
        raise ValueError(f"{type(module).__name__} has no parameter {name!r} to prune (its "
                         f"parameters: {', '.join(module._parameters) or 'none yet'})")
    backend = parameter._backend
    array = backend.asarray(keep)
    if tuple(array.shape) != parameter.shape:
        raise ValueError(f"the mask of {name!r} has shape {tuple(array.shape)}, the weight "
                         f"{parameter.shape}")
    array = array.astype(bool, copy=array is keep)
    mask = mask_of(parameter)
    if mask is None:
        mask = Tensor._make(array, backend)
        module.register_buffer(name + SUFFIX, mask)
        parameter.pruning_mask = mask
    else:
        mask.data = array
    reapply(parameter)
    return mask


def remove_mask(module, name):
    """Forget the mask of parameter ``name`` of ``module`` (the buffer and the parameter's
    reference); the pruned entries are zeroed one last time first, so they stay zero until
    something trains them again. A weight without a mask is left alone."""
    parameter = module._parameters.get(name)
    if mask_of(parameter) is None:
        return
    reapply(parameter)
    parameter.pruning_mask = None
    module._buffers.pop(name + SUFFIX, None)


def masked(module):
    """``(dotted module name, module, parameter name, parameter, mask)`` for every pruned
    parameter of ``module`` and the modules below it."""
    for module_name, sub in module.named_modules():
        for name, parameter in sub._parameters.items():
            mask = mask_of(parameter)
            if mask is not None:
                yield module_name, sub, name, parameter, mask


def reapply(parameter):
    """Zero the pruned entries of ``parameter`` in place (nothing without a mask). Optimizers
    call it after each update."""
    mask = mask_of(parameter)
    if mask is not None:
        parameter.data *= _on_device_of(mask, parameter)


def masked_gradient(parameter):
    """The raw gradient array of ``parameter`` with the pruned entries zeroed (a new array), or
    its gradient array itself when it has no mask; what optimizers update and clip with."""
    grad = parameter.grad.data
    mask = mask_of(parameter)
    return grad if mask is None else grad * _on_device_of(mask, parameter)


def adopt(module, state_dict):
    """Give ``module`` the masks that ``state_dict`` holds and it lacks (a pruned model saved
    with its masks and rebuilt from its architecture), as all-True masks of the right shape,
    so that ``load_state_dict`` can copy the saved masks into them."""
    if not any(isinstance(key, str) and key.endswith(SUFFIX) for key in state_dict):
        return
    for module_name, sub in module.named_modules():
        for name, parameter in list(sub._parameters.items()):
            key = f"{module_name}.{name}{SUFFIX}" if module_name else f"{name}{SUFFIX}"
            if parameter is not None and key in state_dict and mask_of(parameter) is None \
                    and name + SUFFIX not in sub._buffers:
                set_mask(sub, name, parameter._backend.xp.ones(parameter.shape, dtype=bool))


def _on_device_of(mask, parameter):
    # A mask loaded or moved separately (Module.to moves buffers too) could lag behind.
    data = mask.data
    return data if parameter._backend.owns(data) else parameter._backend.asarray(data)
