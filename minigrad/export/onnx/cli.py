"""``minigrad export MODEL.safetensors MODEL.onnx [--opset N] [--verify]``: a saved model
file to ONNX (see :func:`minigrad.export.onnx.export`)."""

import numpy as np

DESCRIPTION = """Export a model saved by model.save (a .safetensors file) to ONNX, for
onnxruntime and any other ONNX runtime. The graph's input and output are named "input" and
"output" (as minigrad serve names them) and the batch axis is dynamic. --verify runs the file
with onnxruntime on a random batch and prints the largest difference from model.predict."""


def add_arguments(parser):
    """The ``export`` command's arguments, on an ``argparse`` parser."""
    from .exporter import DEFAULT_OPSET, OPSETS

    parser.add_argument("model", help="the model file written by model.save (.safetensors)")
    parser.add_argument("output", help="the .onnx file to write")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                        help=f"the ONNX opset (default {DEFAULT_OPSET}; "
                             f"{OPSETS.start} to {OPSETS[-1]} are tested)")
    parser.add_argument("--verify", action="store_true",
                        help="compare onnxruntime's output with model.predict on a random batch")


def run(args):
    """Export ``args.model`` to ``args.output``; an error is one line on stderr (exit 1)."""
    from ...train import load_model
    from .exporter import export
    from .registry import UnsupportedLayerError

    try:
        model = load_model(args.model, compile=False)
        proto = export(model, args.output, opset=args.opset)
    except (OSError, ValueError, UnsupportedLayerError) as error:
        raise SystemExit(f"minigrad export: {error}") from None
    inputs = ", ".join(f"{i.name} {_shape(i)}" for i in proto.graph.input)
    outputs = ", ".join(f"{o.name} {_shape(o)}" for o in proto.graph.output)
    print(f"wrote {args.output}: opset {args.opset}, {len(proto.graph.node)} nodes; "
          f"inputs {inputs}; outputs {outputs}")
    if args.verify:
        print(f"largest |onnxruntime - predict| on a random batch of 4: "
              f"{verify(model, args.output):.3g}")


def verify(model, path, batch=4, seed=0):
    """The largest absolute difference between onnxruntime's outputs for the file ``path``
    (basic graph optimizations) and ``model.predict`` on one random batch (token ids 1 for
    integer inputs)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # basic optimizations only: the default level fuses an int8 model's dequantized weights
    # into integer kernels that quantize the activations too, which differs from minigrad's
    # int8 predict by ~1e-3 and would hide a wrong graph behind that noise
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    feeds = {}
    for spec in session.get_inputs():
        shape = [batch] + [d if isinstance(d, int) else 7 for d in spec.shape[1:]]
        if "int" in spec.type:
            feeds[spec.name] = np.ones(shape, dtype=np.int64 if "64" in spec.type else np.int32)
        else:
            dtype = np.float64 if "double" in spec.type else np.float32
            feeds[spec.name] = rng.normal(size=shape).astype(dtype)
    got = session.run(None, feeds)
    values = list(feeds.values())
    expected = model.predict(values[0] if len(values) == 1 else values, verbose=0)
    expected = list(expected.values()) if isinstance(expected, dict) else \
        expected if isinstance(expected, (list, tuple)) else [expected]
    return max(float(np.max(np.abs(g - np.asarray(e)))) for g, e in zip(got, expected))


def _shape(value_info):
    dims = [d.dim_param or str(d.dim_value) for d in value_info.type.tensor_type.shape.dim]
    return f"({', '.join(dims)})"
