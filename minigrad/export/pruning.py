"""Magnitude pruning: zero the smallest weights of a trained model, keep them zero while it is
fine-tuned, then bake the zeros in and store the model compactly.

- :func:`~minigrad.export.prune` sets the kernels (and recurrent kernels, embeddings) of
  Dense, Conv2D, LSTM, GRU, SimpleRNN (also inside Bidirectional) and Embedding layers to a
  sparsity: the given fraction of their entries, those of smallest magnitude, becomes zero.
  ``scope="layer"`` prunes each weight to that fraction (as the Model Optimization Toolkit does);
  ``scope="global"`` ranks all the weights together (PyTorch's ``global_unstructured``), so
  that layers with many small weights lose more. Biases and BatchNormalization are not
  touched.
- The zeros are kept by masks (:mod:`minigrad.nn.pruning_masks`): every optimizer masks the
  gradient and re-zeroes the pruned entries after its step, so ``fit`` with any optimizer does
  not regrow them; the masks are saved with the model and come back with ``load_model``.
- :class:`~minigrad.export.PolynomialDecay` raises the sparsity during ``fit`` on the Model
  Optimization Toolkit's polynomial schedule, :func:`~minigrad.export.strip_pruning` removes
  the masks (the zeros stay), and :func:`~minigrad.export.save_pruned` writes the model with
  each pruned weight as a bitmask plus its kept values, which ``mg.load_model`` and
  ``minigrad serve`` read like any model file.

>>> model = mg.Sequential([mg.nn.Dense(16, input_shape=(8,)), mg.nn.Dense(2)])
>>> _ = mg.prune(model, 0.75)
>>> float((model.layers[0].kernel.numpy() == 0).mean())
0.75
"""

import numbers

from ..io import write_tensor_file
from ..io.packed_arrays import METADATA_KEY, pack_arrays
from ..nn import pruning_masks
from ..nn.layers.conv import Conv2D
from ..nn.layers.core import Dense
from ..nn.layers.embedding import Embedding
from ..nn.layers.recurrent import _Recurrent
from ..train import saving
from ..train.callbacks import Callback

#: The layer classes that are pruned, and the names of their weights that are.
PRUNABLE = ((Dense, ("kernel",)), (Conv2D, ("kernel",)),
            (_Recurrent, ("kernel", "recurrent_kernel")), (Embedding, ("embeddings",)))
SCOPES = ("layer", "global")


def prunable_weights(model, layers=None):
    """``[(dotted name, layer, weight name, parameter)]``: the weights that
    :func:`~minigrad.export.prune` prunes in ``model`` (all of its prunable layers, or those of
    ``layers``: layer objects or names; a Bidirectional stands for both of its layers)."""
    chosen = None if layers is None else _chosen_layers(model, layers)
    found = []
    for module_name, module in model.named_modules():
        names = _weight_names(module)
        if not names or chosen is not None and id(module) not in chosen:
            continue
        for name in names:
            parameter = module._parameters.get(name)
            if parameter is None:
                raise ValueError(f"prune: {_label(module)} has no weights yet (layers create "
                                 "them on their first call); build the model first, e.g. "
                                 "model.build((None, features)), or train it")
            found.append((f"{module_name}.{name}" if module_name else name, module, name,
                          parameter))
    return found


def prune(model, sparsity, scope="layer", layers=None):
    """Prune ``model`` in place to ``sparsity`` (a fraction in [0, 1)) by weight magnitude;
    returns the model.

    Args:
        model: a built model or layer.
        sparsity: the fraction of each weight's entries (``scope="layer"``) or of all the
            pruned weights' entries together (``scope="global"``) that becomes zero:
            ``round(sparsity * size)`` entries, those of smallest absolute value (ties: the
            first in memory order).
        scope: ``"layer"`` or ``"global"`` (see the module's description).
        layers: prune only these layers (objects or names); default every Dense, Conv2D,
            LSTM, GRU, SimpleRNN and Embedding.

    Entries pruned before stay pruned (their magnitude is 0): pruning again with a higher
    sparsity prunes more, with a lower one nothing more. The masks are kept through ``fit``,
    ``save``/``load_model`` and ``to(device)``; :func:`~minigrad.export.strip_pruning` removes
    them.

    >>> layer = mg.nn.Dense(1)
    >>> layer.build((None, 4))
    >>> layer.set_weights([np.array([[0.1], [-3.0], [0.5], [0.2]]), np.zeros(1)])
    >>> _ = mg.prune(layer, 0.5)
    >>> layer.kernel.numpy().ravel().tolist()
    [0.0, -3.0, 0.5, 0.0]
    """
    sparsity = _fraction(sparsity, "sparsity")
    if scope not in SCOPES:
        raise ValueError(f"prune: scope must be 'layer' or 'global', got {scope!r}")
    weights = prunable_weights(model, layers)
    if not weights:
        raise ValueError(f"prune: {_label(model)} has no Dense, Conv2D, LSTM, GRU, SimpleRNN "
                         "or Embedding weights to prune")
    if scope == "layer":
        for _, module, name, parameter in weights:
            pruning_masks.set_mask(module, name, _keep([parameter], sparsity)[0])
    else:
        for (_, module, name, _), keep in zip(weights, _keep([w[3] for w in weights],
                                                              sparsity)):
            pruning_masks.set_mask(module, name, keep)
    return model


def strip_pruning(model):
    """Remove the masks of ``model`` in place (the pruned weights stay zero, but training may
    change them again); returns the model. What to do before exporting or quantizing a pruned
    model; :func:`~minigrad.export.save_pruned` stores it compactly either way."""
    for _, module, name, _, _ in list(pruning_masks.masked(model)):
        pruning_masks.remove_mask(module, name)
    return model


def weight_sparsity(model, layers=None):
    """``{dotted weight name: fraction of zero entries}`` for the weights that
    :func:`~minigrad.export.prune` prunes (``"2.kernel": 0.8``), and ``"total"``: the fraction
    over all of them."""
    result, zeros, size = {}, 0, 0
    for name, _, _, parameter in prunable_weights(model, layers):
        count = int((parameter.data == 0).sum())
        result[name] = count / parameter.size if parameter.size else 0.0
        zeros, size = zeros + count, size + parameter.size
    result["total"] = zeros / size if size else 0.0
    return result


def save_pruned(model, path, include_optimizer=False):
    """Write ``model`` as ``model.save`` does, but with every prunable weight and every mask
    stored as a bitmask of its nonzero entries plus their values
    (:mod:`minigrad.io.packed_arrays`): at 80% sparsity a float32 weight takes about 0.23x of
    its dense size. ``mg.load_model`` (and ``minigrad serve``) gives back exactly the same
    weights, and the masks if the model had them (strip them first for a deployed model).

    ``include_optimizer``: also store the optimizer's state, in full (default False: the
    file is for inference; the Adam moments alone would be twice the dense weights)."""
    arrays, metadata = saving.model_file_contents(model, include_optimizer)
    names = {f"weights/{name}" for name, _, _, _ in prunable_weights(model)}
    names |= {f"weights/{module_name}.{name}{pruning_masks.SUFFIX}" if module_name else
              f"weights/{name}{pruning_masks.SUFFIX}"
              for module_name, _, name, _, _ in pruning_masks.masked(model)}
    arrays, metadata[METADATA_KEY] = pack_arrays(arrays, sorted(names & set(arrays)))
    write_tensor_file(path, arrays, metadata)
    saving.warn_about_file_name(path, "save_pruned")


class PolynomialDecay(Callback):
    """A callback for ``fit`` that prunes the model gradually, on the Model Optimization
    Toolkit's polynomial schedule::

        sparsity(t) = final + (initial - final) * (1 - (t - begin) / (end - begin)) ** power

    at the training steps ``t = begin_step, begin_step + frequency, ...`` up to ``end_step``
    (and at ``end_step`` itself, so that the final sparsity is reached even when
    ``end_step - begin_step`` is not a multiple of ``frequency``), before the step's batch.
    ``t`` is the optimizer's step count (``model.optimizer.iterations``), so a loaded model
    continues the schedule where it stopped. Each time it calls
    :func:`~minigrad.export.prune` with ``scope`` and ``layers``. High powers prune fast at
    first and slowly near the end, when fewer weights are left to lose.

    >>> schedule = mg.export.PolynomialDecay(0.8, begin_step=0, end_step=1000, frequency=100)
    >>> [round(schedule.sparsity_at(t), 3) for t in (0, 100, 500, 1000)]
    [0.0, 0.217, 0.7, 0.8]
    """

    def __init__(self, final_sparsity, begin_step, end_step, initial_sparsity=0.0, power=3,
                 frequency=100, scope="layer", layers=None):
        super().__init__()
        self.final_sparsity = _fraction(final_sparsity, "final_sparsity")
        self.initial_sparsity = _fraction(initial_sparsity, "initial_sparsity")
        self.begin_step = _step_count(begin_step, "begin_step", 0)
        self.end_step = _step_count(end_step, "end_step", self.begin_step + 1)
        self.frequency = _step_count(frequency, "frequency", 1)
        if isinstance(power, bool) or not isinstance(power, numbers.Real) or not power > 0:
            raise ValueError(f"PolynomialDecay expected power > 0, got {power!r}")
        if scope not in SCOPES:
            raise ValueError(f"PolynomialDecay: scope must be 'layer' or 'global', got "
                             f"{scope!r}")
        self.power, self.scope, self.layers = float(power), scope, layers

    def sparsity_at(self, step):
        """The sparsity of the schedule at training step ``step`` (clipped to the range)."""
        progress = min(1.0, max(0.0, (step - self.begin_step) /
                                (self.end_step - self.begin_step)))
        return self.final_sparsity + (self.initial_sparsity - self.final_sparsity) * \
            (1.0 - progress) ** self.power

    def prunes_at(self, step):
        """Whether the masks are updated before training step ``step``."""
        return self.begin_step <= step <= self.end_step and (
            (step - self.begin_step) % self.frequency == 0 or step == self.end_step)

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer if self.model.optimizer_built else None
        step = getattr(optimizer, "iterations", 0)
        if self.prunes_at(step):
            prune(self.model, self.sparsity_at(step), scope=self.scope, layers=self.layers)


# --- helpers ------------------------------------------------------------------------------
def _keep(parameters, sparsity):
    """Boolean arrays (one per parameter, on its backend): False for the ``round(sparsity *
    n)`` entries of smallest magnitude over all of ``parameters`` together (n: their total
    size), where already pruned entries count as magnitude 0."""
    xp = parameters[0]._backend.xp
    magnitudes = []
    for parameter in parameters:
        if parameter._backend is not parameters[0]._backend:
            raise ValueError("prune(scope='global'): the weights are on different devices "
                             f"({parameters[0]._backend.name} and {parameter._backend.name})")
        magnitude = xp.abs(parameter.data).ravel()
        mask = pruning_masks.mask_of(parameter)
        magnitudes.append(magnitude if mask is None else magnitude * mask.data.ravel())
    flat = xp.concatenate(magnitudes) if len(magnitudes) > 1 else magnitudes[0]
    count = int(round(sparsity * flat.size))
    keep = xp.ones(flat.size, dtype=bool)
    keep[_stable_argsort(xp, flat)[:count]] = False
    pieces, start = [], 0
    for parameter in parameters:
        piece = keep[start:start + parameter.size].reshape(parameter.shape)
        mask = pruning_masks.mask_of(parameter)
        pieces.append(piece if mask is None else piece & mask.data)  # pruned stays pruned
        start += parameter.size
    return pieces


def _stable_argsort(xp, values):
    # Ties (already pruned zeros) are broken by position on both backends: CuPy's sort is
    # stable and takes no kind= other than its default.
    return xp.argsort(values, kind="stable") if xp.__name__ == "numpy" else xp.argsort(values)


def _weight_names(module):
    for cls, names in PRUNABLE:
        if isinstance(module, cls):
            return names
    return ()


def _chosen_layers(model, layers):
    """``{id(layer)}`` of the prunable layers that ``layers`` names (objects or names)."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        layers = [layers]
    by_name = {getattr(m, "name", None): m for m in model.modules()}
    inside = {id(m) for m in model.modules()}
    chosen = set()
    for item in layers:
        layer = by_name.get(item) if isinstance(item, str) else item
        if layer is None or id(layer) not in inside:
            names = ", ".join(sorted(getattr(m, "name", "?") for m in model.modules()
                                     if _weight_names(m)))
            what = repr(item) if isinstance(item, str) else _label(item)
            raise ValueError(f"prune: the model has no layer {what}; its prunable layers are "
                             f"{names or 'none'}")
        found = [m for m in layer.modules() if _weight_names(m)]
        if not found:
            raise ValueError(f"prune: {_label(layer)} has no weights to prune (prunable: "
                             "Dense, Conv2D, LSTM, GRU, SimpleRNN, Embedding, Bidirectional)")
        chosen.update(id(m) for m in found)
    return chosen


def _fraction(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1), got {value!r}")
    return float(value)


def _step_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"PolynomialDecay expected an integer {name} >= {minimum}, got "
                         f"{value!r}")
    return int(value)


def _label(module):
    name = getattr(module, "name", None)
    return f"{name} ({type(module).__name__})" if isinstance(name, str) else \
        type(module).__name__
