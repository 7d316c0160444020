"""Prints the most minor page faults per step of ``fit`` that any rank took, training the
tutorial CNN under MPI (data-parallel, batch 32 per rank): with freed buffers reused from the
heap there are few."""

import resource

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
from minigrad import nn

world = dist.init()
rng = np.random.default_rng(0)
steps, batch = 10, 32
x = rng.random(((steps + 2) * batch * world.size, 32, 32, 3), dtype=np.float32)
y = rng.integers(0, 10, len(x))
model = mg.Sequential([nn.Conv2D(32, 3, activation="relu", input_shape=(32, 32, 3)),
                       nn.MaxPooling2D(), nn.Conv2D(64, 3, activation="relu"),
                       nn.MaxPooling2D(), nn.Conv2D(64, 3, activation="relu"), nn.Flatten(),
                       nn.Dense(64, activation="relu"), nn.Dense(10)])
model.compile(optimizer="sgd", loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True))
warm = 2 * batch * world.size
model.fit(x[:warm], y[:warm], batch_size=batch, verbose=0)  # the heap grows to what a step needs
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
model.fit(x[warm:], y[warm:], batch_size=batch, verbose=0)
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / steps
worst = dist.allreduce_array(np.array([faults]), op="max")  # one line, from rank 0
if world.is_root():
    print(float(np.asarray(worst)[0]), flush=True)
