"""Every collective of minigrad.distributed on a real MPI world of ``argv[1]`` ranks.

Each rank checks the results itself (it can compute every rank's share, since the data of rank
q is seeded by q) and fails with an AssertionError, which init's hook turns into an abort of the
whole job; at the end each rank prints "rank R ok".
"""

import os
import sys

import numpy as np

import minigrad as mg
import minigrad.distributed as dist

world = dist.init()
rank, ranks = world.rank, world.size
assert ranks == int(sys.argv[1]) and world.is_distributed(), (ranks, sys.argv)
assert world.local_size == ranks and world.local_rank == rank   # one machine here
assert dist.is_root() == (rank == 0) and dist.rank() == rank and dist.size() == ranks
assert dist.init() is world
expected_timeout = {"none": None, "600": 600.0}[os.environ["MINIGRAD_DISTRIBUTED_TIMEOUT"]]
assert world.comm.timeout == expected_timeout, world.comm.timeout


def same_everywhere(array):
    """True when ``array`` holds the same bits on every rank."""
    bits = np.ascontiguousarray(array).view(np.uint8).astype(np.int64)
    return np.array_equal(dist.allreduce_array(bits, "max"), dist.allreduce_array(bits, "min"))


# --- small things: objects and metrics -----------------------------------------------------
got = dist.broadcast_object({"seed": 7, "sent_by": rank, "shape": (2, 3)} if rank == 1 else None,
                            root=1)
assert got == {"seed": 7, "sent_by": 1, "shape": [2, 3]}, got
assert dist.allreduce_array(rank + 1) == ranks * (ranks + 1) // 2
assert dist.allreduce_array(float(rank), "mean") == (ranks - 1) / 2
assert dist.allreduce_array(np.array([rank, -rank]), "max").tolist() == [ranks - 1, 0]
assert dist.allreduce_array(np.array([rank, -rank]), "min").tolist() == [0, 1 - ranks]
metric = dist.allreduce_array(np.full((2, 2), rank, dtype=np.float32), "sum")
assert metric.dtype == np.float32 and (metric == sum(range(ranks))).all()
dist.barrier()


# --- broadcast_parameters: rank 0's weights everywhere ---------------------------------------
def make_model(seed, batchnorm=True):
    mg.manual_seed(seed)
    layers = [mg.nn.Dense(8, activation="tanh", dtype="float64"), mg.nn.Dense(3, dtype="float64")]
    if batchnorm:                                      # buffers too, for broadcast_parameters
        layers.insert(1, mg.nn.BatchNormalization(dtype="float64"))
    model = mg.nn.Sequential(layers)
    model.build((None, 5))
    return model


def flat(model):
    return np.concatenate([w.ravel() for w in model.get_weights()])


model = make_model(seed=rank)                        # a different start on every rank
parameters_before = [p for p in model.parameters()]
dist.broadcast_parameters(model)
assert np.array_equal(flat(model), flat(make_model(seed=0))), "not rank 0's weights"
assert [p for p in model.parameters()] == parameters_before   # in place: same objects
dist.broadcast_parameters(model.state_dict(), root=ranks - 1)  # a state dict, another root


# --- allreduce_gradients: the average of every rank's gradient -------------------------------
def data(q, samples):
    generator = np.random.default_rng(100 + q)
    return generator.normal(size=(samples, 5)), generator.normal(size=(samples, 3))


def local_gradients(model, q, samples):
    """Rank q's gradients of the mean squared error on its own data (computed anywhere)."""
    x, y = data(q, samples)
    for p in model.parameters():
        p.grad = None
    ((model(mg.tensor(x)) - mg.tensor(y)) ** 2).mean().backward()
    return [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]


samples = [q + 2 for q in range(ranks)]              # uneven shards
everyone = [local_gradients(model, q, samples[q]) for q in range(ranks)]
for weights in (None, "samples"):
    for bucket_bytes in (1, 100, 25 * 2**20):      # one bucket per array .. one for all
        local_gradients(model, rank, samples[rank])
        share = None if weights is None else samples[rank]
        dist.allreduce_gradients(model, bucket_bytes=bucket_bytes, weights=share)
        for i, p in enumerate(model.parameters()):
            if weights is None:
                expected = np.mean([g[i] for g in everyone], axis=0)
            else:
                expected = sum(n * g[i] for n, g in zip(samples, everyone)) / sum(samples)
            np.testing.assert_allclose(p.grad.numpy(), expected, rtol=1e-12, atol=1e-14,
                                       err_msg=f"parameter {i}, bucket_bytes {bucket_bytes}")
            assert same_everywhere(p.grad.numpy())

# a parameter that only the last rank used, in float32 beside float64 ones
extra = mg.nn.Parameter(mg.zeros(4, dtype="float32"))
params = list(model.parameters()) + [extra]
local_gradients(model, rank, samples[rank])
extra.grad = mg.tensor(np.full(4, 3.0, dtype=np.float32)) if rank == ranks - 1 else None
dist.allreduce_gradients(params, bucket_bytes=64)
assert extra.grad is not None and extra.grad.dtype == mg.float32
np.testing.assert_allclose(extra.grad.numpy(), 3.0 / ranks, rtol=1e-6)


# --- DistributedOptimizer: N ranks with batch B step as one process with batch N*B -----------
def train(model, optimizer, shards, steps):
    for step in range(steps):
        x, y = [np.concatenate(parts) for parts in zip(*[data(1000 * step + q, n)
                                                          for q, n in shards])]
        optimizer.zero_grad()
        ((model(mg.tensor(x)) - mg.tensor(y)) ** 2).mean().backward()
        if isinstance(optimizer, dist.DistributedOptimizer):
            optimizer.step(weights=sum(n for _, n in shards))
        else:
            optimizer.step()


for make_optimizer, per_rank in ((lambda ps: mg.optim.SGD(ps, lr=0.1, momentum=0.9), [4] * ranks),
                                 (lambda ps: mg.optim.Adam(ps, lr=0.01), samples)):
    mine = make_model(seed=rank, batchnorm=False)
    dist.broadcast_parameters(mine)
    optimizer = dist.DistributedOptimizer(make_optimizer(mine.parameters()), model=mine)
    train(mine, optimizer, [(rank, per_rank[rank])], steps=5)
    single = make_model(seed=0, batchnorm=False)
    train(single, make_optimizer(single.parameters()), list(enumerate(per_rank)), steps=5)
    np.testing.assert_allclose(flat(mine), flat(single), rtol=0, atol=1e-12)
    assert not np.allclose(flat(mine), flat(make_model(seed=0, batchnorm=False)))  # it moved
    assert same_everywhere(flat(mine))
    assert optimizer.iterations == 5 and optimizer.state_dict()["iterations"] == 5

print(f"rank {rank} ok", flush=True)
