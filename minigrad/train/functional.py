"""``Functional``: a model that is a graph of layers, made by Keras's functional API::

    inputs = keras.Input(shape=(784,))
    x = keras.layers.Dense(64, activation="relu")(inputs)
    outputs = keras.layers.Dense(10)(x)
    model = keras.Model(inputs, outputs)          # a Functional

Calling layers on ``keras.Input`` placeholders records :class:`~minigrad.nn.layers.input_layer.Node`
s (see that module); this model sorts them from the inputs to the outputs once, registers each
layer once (a layer called twice shares its weights) and replays the calls on real batches,
handing masks on as :class:`~minigrad.nn.Sequential` does. Several inputs and outputs are lists
(or dicts by name) of tensors, in ``fit``/``evaluate``/``predict`` lists of arrays.
The architecture saves as JSON (:meth:`Functional.get_architecture`,
:func:`from_architecture`), never as pickled code.
"""


from ..autograd.tensor import Tensor
from ..nn import losses as losses_module
from ..nn.container import attach_mask, call_with_mask, output_mask, takes_mask
from ..nn.layers.input_layer import KerasTensor
from ..nn.module import Layer
from ..nn.naming import unique_layer_name
from ..nn.serialization import deserialize, serialize
from . import batches as batching
from . import metrics as metrics_module
from . import structures
from .model import Model


class Outputs(list):
    """The outputs of a model with several: a list of tensors that also answers ``shape`` (a
    tuple of shapes), ``detach()`` and ``numpy()`` (a list of arrays) for the training loop."""

    @property
    def shape(self):
        return tuple(tuple(t.shape) for t in self)

    def detach(self):
        return Outputs(t.detach() for t in self)

    def numpy(self):
        return [t.numpy() for t in self]


class OutputDict(dict):
    """The outputs of a model whose outputs were given as a dict: by name, with ``shape``,
    ``detach()`` and ``numpy()`` as :class:`Outputs`."""

    @property
    def shape(self):
        return tuple(tuple(t.shape) for t in self.values())

    def detach(self):
        return OutputDict((k, t.detach()) for k, t in self.items())

    def numpy(self):
        return {k: t.numpy() for k, t in self.items()}


def _check_symbolic(structure, what):
    for tensor in structures.leaves(structure):
        if not isinstance(tensor, KerasTensor):
            raise TypeError(f"Model({what}=...) takes keras.Input tensors and layer outputs "
                            f"made from them, got {type(tensor).__name__}")


def _sorted_nodes(inputs, outputs):
    """The nodes between ``inputs`` and ``outputs``, each after the nodes it reads from."""
    order, state = [], {}
    input_ids = {id(t) for t in inputs}
    stack = [(t, False) for t in reversed(outputs)]
    while stack:
        tensor, expanded = stack.pop()
        if id(tensor) in input_ids:
            continue
        node = tensor.node
        if node is None:
            raise ValueError(f"Graph disconnected: {tensor!r} is a keras.Input that is not among "
                             "the model's inputs, but the outputs depend on it")
        if expanded:
            if state.get(id(node)) != "done":
                state[id(node)] = "done"
                order.append(node)
            continue
        if state.get(id(node)):
            continue
        state[id(node)] = "seen"
        stack.append((tensor, True))
        stack.extend((t, False) for t in reversed(node.flat_inputs))
    return order


class Functional(Model):
    """A model made of layers called on ``keras.Input`` tensors: ``Model(inputs, outputs)``
    (``inputs``/``outputs``: one symbolic tensor, a list, or a dict by name).

    Input: as the model was made with -- one tensor (N, ...), a list of them (or as many
    positional arguments), or a dict by input name. Output: one tensor, or a list (a dict)
    for several.

    >>> inputs = mg.nn.Input(shape=(4,))
    >>> hidden = mg.nn.Dense(8, activation="relu")(inputs)
    >>> model = mg.Model(inputs, mg.nn.Dense(2)(hidden))
    >>> model(mg.ones(3, 4)).shape
    (3, 2)
    """

    def __init__(self, inputs, outputs, name=None, trainable=True):
        super().__init__()
        _check_symbolic(inputs, "inputs")
        _check_symbolic(outputs, "outputs")
        self.name = name or unique_layer_name("Functional")
        self._input_structure, self._output_structure = inputs, outputs
        self.inputs, self.outputs = structures.leaves(inputs), structures.leaves(outputs)
        self._nodes = _sorted_nodes(self.inputs, self.outputs)
        input_layers = []
        for tensor in self.inputs:
            layer = getattr(tensor, "input_layer", None)
            if layer is None or tensor.node is not None:
                raise ValueError(f"Model inputs must be keras.Input tensors, got {tensor!r} "
                                 "(a layer's output)")
            input_layers.append(layer)
        seen = {}
        for layer in input_layers + [node.layer for node in self._nodes]:
            if id(layer) in {id(l) for l in seen.values()}:
                continue
            label = getattr(layer, "name", None) or f"module_{len(seen)}"
            if label in seen:
                raise ValueError(f'The name "{label}" is used by 2 layers of the model; all '
                                 "layer names must be unique")
            seen[label] = layer
            self._modules[label] = layer
        if not trainable:
            for parameter in self.parameters():
                parameter.requires_grad = False
        self.input_names = [layer.name for layer in input_layers]
        self.output_names = self._name_outputs()

    def _name_outputs(self):
        if isinstance(self._output_structure, dict):
            return list(self._output_structure)
        names = []
        for tensor in self.outputs:
            layer = tensor.node.layer if tensor.node is not None else tensor.input_layer
            name = getattr(layer, "name", "output")
            names.append(name if name not in names else f"{name}_{len(names)}")
        return names

    # --- what it is -------------------------------------------------------------------------
    @property
    def layers(self):
        """The layers, input layers first, each once (as Keras's ``model.layers``)."""
        return list(self._modules.values())

    @property
    def built(self):
        """Always True: calling the layers on ``keras.Input`` built them."""
        return True

    @property
    def input_shape(self):
        shapes = [tuple(t.shape) for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [tuple(t.shape) for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input_dtype(self):
        """The dtype of the first input when it is not a float (token ids), else None."""
        dtype = self.inputs[0].dtype
        return None if dtype.kind == "f" else dtype

    def build(self, input_shape=None, dtype=None):
        """Nothing to do: the layers were built by the calls on ``keras.Input``."""

    # --- calling ----------------------------------------------------------------------------
    def _bind(self, args):
        """The real input tensors, in the order of ``self.inputs``."""
        if len(args) == 1 and len(self.inputs) > 1:
            if not isinstance(args[0], (list, tuple, dict)):
                raise ValueError(f"{self.name} takes {len(self.inputs)} input(s) "
                                 f"{self.input_names} (a list, or a dict by name), got one "
                                 f"{type(args[0]).__name__}")
            args = args[0]
            if isinstance(args, dict):
                missing = [n for n in self._input_keys() if n not in args]
                if missing:
                    raise ValueError(f"{self.name}: no value for inputs {missing}; got keys "
                                     f"{sorted(args)}")
                args = [args[n] for n in self._input_keys()]
        elif len(args) == 1 and isinstance(args[0], dict):
            args = [args[0][n] for n in self._input_keys()]
        elif len(args) == 1 and isinstance(args[0], (list, tuple)) and len(args[0]) == 1:
            args = args[0]
        args = list(args)
        if len(args) != len(self.inputs):
            raise ValueError(f"{self.name} takes {len(self.inputs)} input(s) "
                             f"{self.input_names}, got {len(args)}")
        backend, float_dtype = self.backend_and_dtype()
        values = []
        for tensor, value in zip(self.inputs, args):
            if not isinstance(value, Tensor):
                value = batching.to_tensor(value, backend, float_dtype)
            expected = tensor.shape[1:]
            if len(value.shape) != len(tensor.shape) or any(
                    e is not None and e != g for e, g in zip(expected, value.shape[1:])):
                shape = ", ".join("None" if d is None else str(d) for d in expected)
                raise ValueError(f"{self.name}: input {tensor.input_layer.name!r} expected shape "
                                 f"(N, {shape}), got {tuple(value.shape)}")
            values.append(value)
        return values

    def _input_keys(self):
        if isinstance(self._input_structure, dict):
            return list(self._input_structure)
        return self.input_names

    def forward(self, *args):
        values = {id(t): (v, None) for t, v in zip(self.inputs, self._bind(args))}
        for node in self._nodes:
            _run_node(node, values)
        # Each output carries its mask, where losses and metrics read it.
        results = [attach_mask(*values[id(t)]) for t in self.outputs]
        if isinstance(self._output_structure, dict):
            return OutputDict(zip(self._output_structure, results))
        if isinstance(self._output_structure, (list, tuple)):
            return Outputs(results)
        return results[0]

    # --- several outputs in compile / fit ---------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, **kwargs):
        """As :meth:`minigrad.train.Model.compile`; with several outputs, ``loss`` is one loss
        for all, a list (one per output) or a dict by output name, ``loss_weights`` weighs them
        in the sum that is minimized, and ``metrics`` is a list or dict with an entry (a metric
        or list of metrics) per output, logged as ``<output>_<metric>`` after each output's own loss
        ``<output>_loss`` (Keras 3's names);
        ``weighted_metrics`` likewise (a taken name becomes ``<output>_weighted_<metric>``)."""
        if len(self.outputs) == 1 or loss is None:
            if isinstance(loss, (list, tuple)) and len(loss) == 1:
                loss = loss[0]
            if isinstance(loss, dict):
                loss = loss[self.output_names[0]]
            if isinstance(metrics, dict):
                metrics = metrics.get(self.output_names[0])
            if isinstance(weighted_metrics, dict):
                weighted_metrics = weighted_metrics.get(self.output_names[0])
            return super().compile(optimizer, loss=loss, metrics=metrics,
                                   weighted_metrics=weighted_metrics, **kwargs)
        losses = self._per_output(loss, "loss", required=True)
        weights = self._per_output(loss_weights, "loss_weights", default=1.0)
        def wrap(value):
            specs = self._per_output(value, "metrics", default=None)
            return [OutputMetric(spec, i, self.output_names[i], losses[i])
                    for i, spec_list in enumerate(specs)
                    for spec in (spec_list if isinstance(spec_list, (list, tuple))
                                 else [spec_list] if spec_list is not None else [])]

        own_losses = [OutputLoss(i, name, loss)  # <output>_loss, first (Keras 3's logs)
                      for i, (name, loss) in enumerate(zip(self.output_names, losses))]
        super().compile(optimizer, loss=MultiOutputLoss(losses, weights),
                        metrics=own_losses + wrap(metrics),
                        weighted_metrics=wrap(weighted_metrics), **kwargs)
        self._loss_identifier = loss
        config = {"optimizer": optimizer, "loss": loss, "metrics": metrics,
                  "loss_weights": loss_weights}
        if weighted_metrics is not None:
            config["weighted_metrics"] = weighted_metrics
        self._compile_config = _describe(config)

    def _per_output(self, value, what, required=False, default=None):
        count = len(self.outputs)
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(self.output_names))
            if unknown:
                raise ValueError(f"compile({what}=...) names outputs {unknown}; the model's "
                                 f"outputs are {self.output_names}")
            values = [value.get(name, default) for name in self.output_names]
        elif isinstance(value, (list, tuple)) and what != "metrics" or \
                (what == "metrics" and isinstance(value, (list, tuple)) and len(value) == count
                 and all(isinstance(v, (list, tuple)) or v is None for v in value)):
            if len(value) != count:
                raise ValueError(f"compile({what}=...) has {len(value)} entries for "
                                 f"{count} outputs {self.output_names}")
            values = list(value)
        elif what == "metrics" and value is not None:
            values = [list(value)] * count  # the same metrics for every output
        else:
            values = [value if value is not None else default] * count
        if required and any(v is None for v in values):
            raise ValueError(f"compile() needs a loss for every output {self.output_names}")
        return values

    # --- saving -----------------------------------------------------------------------------
    def get_architecture(self):
        """``{"class_name": "Functional", "config": {...}}``: the layers' configs, the calls
        (which layer on which tensors) and the inputs and outputs, all JSON. A tensor is
        ``["input", name]`` or ``["node", position, output_index]``."""
        if type(self) is not Functional:
            return super().get_architecture()
        refs = {id(t): ["input", t.input_layer.name] for t in self.inputs}
        nodes = []
        for position, node in enumerate(self._nodes):
            if not isinstance(node.layer, Layer):
                raise TypeError(f"save() stores functional models of minigrad.nn layers; "
                                f"{getattr(node.layer, 'name', '')} ({type(node.layer).__name__})"
                                " is not one: use save_weights() and rebuild the model in code")
            nodes.append({"layer": node.layer.name, "inputs": _refs(node.inputs, refs),
                          "args": list(node.args), "kwargs": dict(node.kwargs)})
            for index, tensor in enumerate(node.outputs):
                refs[id(tensor)] = ["node", position, index]
        return {"class_name": "Functional",
                "config": {"name": self.name,
                           "layers": [serialize(layer) for layer in self.layers],
                           "nodes": nodes,
                           "inputs": _refs(self._input_structure, refs),
                           "outputs": _refs(self._output_structure, refs)}}


def _describe(value):
    """compile()'s arguments as JSON (names and configs), or None if one is an object or
    function without a config (then a loaded model comes back uncompiled)."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, dict):
        described = {k: _describe(v) for k, v in value.items()}
        return None if any(v is None and value[k] is not None for k, v in
                           described.items()) else described
    if isinstance(value, (list, tuple)):
        described = [_describe(v) for v in value]
        return None if any(d is None and v is not None for d, v in
                           zip(described, value)) else described
    get_config = getattr(value, "get_config", None)
    return None if get_config is None else {"class_name": type(value).__name__,
                                            "config": get_config()}


def _refs(structure, refs):
    if isinstance(structure, dict):
        return {"dict": {k: refs[id(v)] for k, v in structure.items()}}
    if isinstance(structure, (list, tuple)):
        return {"list": [refs[id(v)] for v in structure]}
    return refs[id(structure)]


def from_architecture(architecture):
    """The :class:`Functional` that :meth:`Functional.get_architecture` described (new
    weights; the layers are made only from ``minigrad.nn`` classes)."""
    config = architecture["config"]
    layers = {}
    for spec in config["layers"]:
        layer = deserialize(spec)
        layers[layer.name] = layer
    tensors = {}

    def lookup(ref):
        if isinstance(ref, dict) and "dict" in ref:
            return {k: lookup(v) for k, v in ref["dict"].items()}
        if isinstance(ref, dict) and "list" in ref:
            return [lookup(v) for v in ref["list"]]
        if ref[0] == "input":
            return layers[ref[1]].output
        return tensors[(ref[1], ref[2])]

    for position, node in enumerate(config["nodes"]):
        outputs = layers[node["layer"]](lookup(node["inputs"]), *node["args"], **node["kwargs"])
        for index, tensor in enumerate(structures.leaves(outputs)):
            tensors[(position, index)] = tensor
    return Functional(lookup(config["inputs"]), lookup(config["outputs"]), name=config["name"])


def _run_node(node, values):
    """Call ``node``'s layer on the real values of its inputs, storing (tensor, mask) of each
    output in ``values``."""
    layer = node.layer
    if isinstance(node.inputs, (list, tuple)) or node.args or node.kwargs:
        pairs = [values[id(t)] for t in node.flat_inputs]
        xs = [v for v, _ in pairs] if isinstance(node.inputs, (list, tuple)) else pairs[0][0]
        masks = [m for _, m in pairs] if isinstance(node.inputs, (list, tuple)) else pairs[0][1]
        kwargs = dict(node.kwargs)
        if takes_mask(layer) and masks is not None and \
                "mask" not in kwargs and not isinstance(masks, list):
            kwargs["mask"] = masks
        output = layer(xs, *node.args, **kwargs)
        if getattr(layer, "compute_mask", None) is not None or not isinstance(masks, list):
            mask = output_mask(layer, xs, masks)
        else:
            mask = None
    else:
        output, mask = call_with_mask(layer, *values[id(node.inputs)])
    outputs = structures.leaves(output)
    for index, (tensor, value) in enumerate(zip(node.outputs, outputs)):
        values[id(tensor)] = (value, mask if index == 0 else None)


class MultiOutputLoss(losses_module.Loss):
    """The loss of a model with several outputs: ``sum(weight_i * loss_i(y_true[i],
    y_pred[i]))`` (Keras's total loss)."""

    def __init__(self, losses, weights):
        super().__init__(name="loss")
        self.losses = [losses_module.get(loss) for loss in losses]
        self.weights = [float(w) for w in weights]

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true = structures.leaves(y_true)
        if len(y_true) != len(self.losses):
            raise ValueError(f"a model with {len(self.losses)} outputs needs a list of "
                             f"{len(self.losses)} targets, got {len(y_true)}")
        total = None
        for loss, weight, target, prediction in zip(self.losses, self.weights, y_true,
                                                     structures.leaves(y_pred)):
            value = loss(target, prediction, sample_weight=sample_weight) * weight
            total = value if total is None else total + value
        return total


class OutputLoss(metrics_module.Mean):
    """The loss of one output alone (unweighted), logged as ``<output>_loss`` as Keras 3 does:
    the mean over the samples of the batches' losses."""

    def __init__(self, index, output_name, loss):
        super().__init__(name=f"{output_name}_loss")
        self.index, self.loss = index, losses_module.get(loss)

    def update_state(self, y_true, y_pred, sample_weight=None):
        prediction = structures.leaves(y_pred)[self.index]
        value = self.loss(structures.leaves(y_true)[self.index], prediction,
                          sample_weight=sample_weight)
        super().update_state(float(value.item()), sample_weight=len(prediction))


class OutputMetric(metrics_module.Metric):
    """A metric of one output of a model with several, named ``<output>_<metric>``."""

    def __init__(self, spec, index, output_name, loss):
        self.spec, self.index, self.loss = spec, index, loss
        self.output_name = output_name  # for Keras's <output>_weighted_<metric>
        self.inner = None
        label = spec if isinstance(spec, str) else getattr(spec, "name", "metric")
        super().__init__(name=f"{output_name}_{label}")

    def update_state(self, y_true, y_pred, sample_weight=None):
        prediction = structures.leaves(y_pred)[self.index]
        if self.inner is None:
            self.inner = metrics_module.get(self.spec, loss=self.loss,
                                            output_shape=tuple(prediction.shape))
        self.inner.update_state(structures.leaves(y_true)[self.index], prediction,
                                sample_weight=sample_weight)

    def result(self):
        return self.inner.result() if self.inner is not None else 0.0

    def reset_state(self):
        if self.inner is not None:
            self.inner.reset_state()
