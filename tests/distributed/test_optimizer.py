"""DistributedOptimizer: step() averages over the ranks first, so N ranks with batch B take the
steps of one process with batch N*B; everything else is the wrapped optimizer's."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.distributed import DistributedOptimizer, run_ranks


def model_and_data(ranks, per_rank):
    mg.manual_seed(0)
    models = []
    for _ in range(ranks + 1):                     # one per rank, and the single process's
        model = mg.nn.Sequential([mg.nn.Dense(6, activation="tanh", dtype="float64"),
                                  mg.nn.Dense(2, dtype="float64")])
        model.build((None, 4))
        models.append(model)
    for model in models[1:]:
        model.set_weights(models[0].get_weights())
    generator = np.random.default_rng(1)
    x = generator.normal(size=(sum(per_rank), 4))
    y = generator.normal(size=(sum(per_rank), 2))
    return models, x, y


def loss(model, x, y):
    return ((model(mg.tensor(x)) - mg.tensor(y)) ** 2).mean()


@pytest.mark.parametrize("make, per_rank", [
    (lambda ps: mg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True), [3, 3, 3]),
    (lambda ps: mg.optim.Adam(ps, lr=0.05), [1, 4, 2])])        # uneven: weighted
def test_n_ranks_step_as_one_process_with_the_whole_batch(make, per_rank):
    ranks = len(per_rank)
    models, x, y = model_and_data(ranks, per_rank)
    starts = np.cumsum([0] + per_rank)
    steps = 6

    def work(comm):
        model = models[comm.rank]
        optimizer = DistributedOptimizer(make(model.parameters()), model=model, comm=comm)
        part = slice(starts[comm.rank], starts[comm.rank + 1])
        for _ in range(steps):
            optimizer.zero_grad()
            loss(model, x[part], y[part]).backward()
            optimizer.step(weights=per_rank[comm.rank])
        return model.get_weights()

    results = run_ranks(ranks, work)
    single = models[-1]
    optimizer = make(single.parameters())
    for _ in range(steps):
        optimizer.zero_grad()
        loss(single, x, y).backward()
        optimizer.step()
    for weights in results:
        for got, want in zip(weights, single.get_weights()):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert not np.allclose(results[0][0], model_and_data(ranks, per_rank)[0][0].get_weights()[0])


def test_everything_but_step_is_the_wrapped_optimizers():
    model = mg.nn.Dense(2)
    model.build((None, 3))
    inner = mg.optim.Adam(model.parameters(), lr=0.01)
    optimizer = DistributedOptimizer(inner)
    assert optimizer.param_groups is inner.param_groups and optimizer.lr == 0.01
    optimizer.lr = 0.5                                  # sets the wrapped one's
    assert inner.lr == 0.5 and "lr" not in vars(optimizer)
    (model(mg.ones(4, 3)) ** 2).mean().backward()
    optimizer.step()                                    # a world of one: Adam's step alone
    assert inner.iterations == optimizer.iterations == 1
    state = optimizer.state_dict()
    assert state["iterations"] == 1 and set(state) == set(inner.state_dict())
    optimizer.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    optimizer.load_state_dict(state)
    assert "Adam" in repr(optimizer)


def test_only_optimizers_are_wrapped():
    with pytest.raises(TypeError, match="expected an optimizer .* got Dense"):
        DistributedOptimizer(mg.nn.Dense(2))
