"""Functional models (``mg.Model(inputs, outputs)``): graphs with several inputs, outputs and
merge layers export with the model's input and output names."""

import pytest

from .helpers import assert_exports, randomize, vectors

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402

MERGES = [nn.Add, nn.Subtract, nn.Multiply, nn.Average, nn.Maximum, nn.Minimum,
          nn.Concatenate]


@pytest.mark.parametrize("merge", MERGES, ids=lambda cls: cls.__name__)
def test_merge_layers(merge):
    a, b = nn.Input(shape=(3, 4), name="a"), nn.Input(shape=(3, 4), name="b")
    inputs = [nn.Dense(5, activation="tanh")(a), nn.Dense(5)(b)]
    if merge is not nn.Subtract:
        inputs.append(nn.Dense(5, activation="relu")(a))  # three inputs where the layer takes them
    model = randomize(mg.Model([a, b], nn.Dense(2)(merge()(inputs))))
    proto, _ = assert_exports(model, [vectors(2, 3, 4), vectors(2, 3, 4, seed=2)],
                              [vectors(5, 3, 4, seed=3), vectors(5, 3, 4, seed=4)])
    assert [i.name for i in proto.graph.input] == ["a", "b"]


def test_concatenate_along_another_axis():
    a, b = nn.Input(shape=(3, 4)), nn.Input(shape=(2, 4))
    model = randomize(mg.Model([a, b], nn.Concatenate(axis=1)([a, b])))
    assert_exports(model, [vectors(2, 3, 4), vectors(2, 2, 4)])


def test_several_outputs_keep_their_names():
    x = nn.Input(shape=(6,), name="features")
    hidden = nn.Dense(8, activation="relu", name="trunk")(x)
    model = randomize(mg.Model(x, [nn.Dense(3, activation="softmax", name="kind")(hidden),
                                   nn.Dense(1, name="size")(hidden)]))
    proto, _ = assert_exports(model, vectors(2, 6), vectors(7, 6, seed=2))
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["kind", "size"]


def test_dict_outputs_are_named_by_their_keys():
    x = nn.Input(shape=(4,))
    model = randomize(mg.Model(x, {"score": nn.Dense(1)(x), "logits": nn.Dense(3)(x)}))
    proto, _ = assert_exports(model, vectors(3, 4))
    assert [o.name for o in proto.graph.output] == ["score", "logits"]


def test_a_layer_called_twice_shares_its_weights_and_a_model_nests():
    x = nn.Input(shape=(4,))
    shared = nn.Dense(4, activation="tanh")
    inner = mg.Sequential([nn.Dense(3, input_shape=(4,)), nn.ReLU()])
    model = randomize(mg.Model(x, inner(nn.Add()([shared(x), shared(shared(x))]))))
    proto, _ = assert_exports(model, vectors(2, 4), vectors(3, 4, seed=2))
    kernels = [t for t in proto.graph.initializer if t.dims == [4, 4]]
    assert len(kernels) == 1  # stored once, read by each call


def test_names_given_to_export():
    a, b = nn.Input(shape=(2,)), nn.Input(shape=(2,))
    model = randomize(mg.Model([a, b], [nn.Add()([a, b]), nn.Multiply()([a, b])]))
    proto, _ = assert_exports(model, [vectors(2, 2), vectors(2, 2, seed=3)],
                              input_names=["left", "right"], output_names=["sum", "product"])
    assert [i.name for i in proto.graph.input] == ["left", "right"]
    assert [o.name for o in proto.graph.output] == ["sum", "product"]
    with pytest.raises(ValueError, match="output_names needs 2 distinct names"):
        mg.onnx.export(model, None, output_names=["sum"])
