"""The MLP 784-512-512-10 through the layer API: ``mg.Sequential`` of ``Dense`` layers with a
loss object and ``mg.optim.SGD`` against ``torch.nn.Sequential`` with ``nn.Linear``,
``F.cross_entropy`` and ``torch.optim.SGD``, from the same weights. Times (a') one training
step at batch 128 and (i) inference at batch 1000, on the CPU or on a GPU."""

import numpy as np

from .harness import Result, compare_training, median_time, on, synchronizers
from .mlp import BATCH, LEARNING_RATE, SIZES, TARGET_RATIOS, _initial_weights

INFERENCE_BATCH = 1000


def minigrad_model(weights, device="cpu"):
    import minigrad as mg
    from minigrad import nn

    layers = [nn.Dense(SIZES[1], activation="relu", input_shape=(SIZES[0],)),
              nn.Dense(SIZES[2], activation="relu"), nn.Dense(SIZES[3])]
    model = mg.Sequential(layers)
    names = [f"{i}.{part}" for i in range(3) for part in ("kernel", "bias")]
    model.load_state_dict(dict(zip(names, weights)))
    return model.to(device)


def torch_model(weights, device="cpu"):
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
                                torch.nn.Linear(SIZES[1], SIZES[2]), torch.nn.ReLU(),
                                torch.nn.Linear(SIZES[2], SIZES[3]))
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for layer, kernel, bias in zip(linears, weights[0::2], weights[1::2]):
            layer.weight.copy_(torch.from_numpy(kernel.T.copy()))
            layer.bias.copy_(torch.from_numpy(bias))
    return model.to(device)


def minigrad_train_step(weights, x, y, device="cpu"):
    import minigrad as mg

    model = minigrad_model(weights, device)
    optimizer = mg.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = mg.nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    inputs, labels = mg.tensor(x, device=device), mg.tensor(y, device=device)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(labels, model(inputs))
        loss.backward()
        optimizer.step()
        return loss

    return step


def torch_train_step(weights, x, y, device="cpu"):
    import torch

    model = torch_model(weights, device)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    inputs, labels = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()
        return loss

    return step


def run(repeats=30, device="cpu"):
    rng = np.random.default_rng(0)
    weights = _initial_weights(rng)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    ours = minigrad_train_step(weights, x, y, device)
    theirs = torch_train_step(weights, x, y, device)
    return compare_training(f"(a') MLP via layers+loss+optim, train step, b128{on(device)}",
                            ours, theirs, TARGET_RATIOS[device], repeats=repeats, device=device)


def run_inference(repeats=30, device="cpu"):
    import torch

    import minigrad as mg

    rng = np.random.default_rng(0)
    weights = _initial_weights(rng)
    x = rng.standard_normal((INFERENCE_BATCH, SIZES[0])).astype(np.float32)
    ours, theirs = minigrad_model(weights, device), torch_model(weights, device).eval()
    inputs, torch_inputs = mg.tensor(x, device=device), torch.from_numpy(x).to(device)

    def minigrad_infer():
        with mg.no_grad():
            return ours(inputs)

    def torch_infer():
        with torch.no_grad():
            return theirs(torch_inputs)

    np.testing.assert_allclose(minigrad_infer().numpy(), torch_infer().cpu().numpy(),
                               rtol=1e-4, atol=1e-4)
    ours_sync, torch_sync = synchronizers(device)
    return Result(f"(i) MLP inference, batch 1000{on(device)}",
                  median_time(minigrad_infer, repeats=repeats, synchronize=ours_sync),
                  median_time(torch_infer, repeats=repeats, synchronize=torch_sync),
                  TARGET_RATIOS[device])
