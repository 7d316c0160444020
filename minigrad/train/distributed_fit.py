"""``fit`` under ``mpiexec -n N`` (or ``srun``): data-parallel training with no change to the
script.

When the process was started by an MPI launcher with more than one rank, ``Model.fit`` makes a
:class:`DistributedFit` and calls it at a few hook points; otherwise ``fit`` runs as it always
did and ``mpi4py`` is never imported. What it does (``docs/distributed.rst``):

- the parameters are broadcast from rank 0 once the layers are built;
- epoch order: one permutation shared by all ranks (the ``seed`` is rank 0's); global batch
  ``k`` holds ``N * batch_size`` samples and rank ``r`` trains on slice ``r`` of it, so ``N``
  ranks with batch ``B`` take the steps of one process with batch ``N * B``; an iterable of
  batches (a DataLoader) is shared out ``N`` batches a step, rank ``r`` taking the ``r``-th;
- after every backward pass the gradients are averaged, weighted by each rank's sample count
  (a rank with no sample in the last, short batch still takes part, with weight 0);
- the epoch's loss and metrics, and the validation figures, are reduced over every rank's
  samples, so they equal a single process's; only rank 0 prints and writes files;
- Dropout draws other masks on each rank; BatchNormalization normalizes with each rank's own
  batch statistics (as DDP without SyncBatchNorm) and keeps rank 0's moving statistics, copied
  to every rank at the end of each epoch (as DDP's ``broadcast_buffers``);
- an exception on any rank ends the whole job (``MPI_Abort``), since the other ranks would
  otherwise wait in the next collective for ever.
"""

import copy
import itertools
import os
import sys
import traceback

import numpy as np

from .. import distributed
from . import structures

#: Set to 0 to train alone even when started by an MPI launcher.
SWITCH = "MINIGRAD_DISTRIBUTED"


def launched():
    """True when a launcher (mpiexec, mpirun, srun) started this process as one of several
    ranks (:func:`minigrad.distributed.launched_by_mpi`), unless ``MINIGRAD_DISTRIBUTED=0``."""
    if os.environ.get(SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return distributed.launched_by_mpi()


def for_this_process():
    """A :class:`DistributedFit` when this process is one of several ranks, else None (and
    then MPI is never started)."""
    if not launched():
        return None
    world = distributed.init()
    return DistributedFit(world, distributed) if world.size > 1 else None


def writes_files(model):
    """Whether this process writes files and prints for ``model``'s fit: True alone or on
    rank 0 (``ModelCheckpoint``, ``CSVLogger``, ``BackupAndRestore`` ask it)."""
    run = getattr(model, "_distributed_fit", None)
    return run is None or run.rank == 0


class DistributedFit:
    """The distributed side of one ``fit`` call on this rank (see the module docstring)."""

    def __init__(self, world, distributed):
        self.world, self.distributed = world, distributed
        self.rank, self.size = int(world.rank), int(world.size)

    # --- before training --------------------------------------------------------------------
    def shared_seed(self, seed):
        """``seed`` as rank 0 has it (drawn there when None), so that every rank shuffles the
        same way."""
        if seed is None and self.rank == 0:
            seed = int(np.random.default_rng().integers(2 ** 62))
        return self.distributed.broadcast_object(seed, root=0)

    def shard_training(self, source):
        """This rank's share of the training batches: of arrays cut into global batches of
        ``N * batch_size`` (``fit`` made them so), slice ``r`` of each; of an iterable of
        batches (a DataLoader, a PyDataset, a generator), batch ``r`` of each group of ``N``."""
        if not hasattr(source, "x"):
            return RankOfEachGroup(source, self.rank, self.size)
        count = structures.batch_length(source.x)
        if count < self.size:
            raise ValueError(f"fit under mpiexec needs at least one sample per rank: {count} "
                             f"samples for {self.size} ranks")
        return RankSlices(source, self.rank, self.size)

    def shard_validation(self, validation_data):
        """Rank ``r``'s contiguous part of validation arrays ``(x, y, sample_weight)``; the
        whole of them on every rank when they are fewer than the ranks or an iterable."""
        x = validation_data[0]
        arrays = hasattr(x, "shape") or structures.is_structure(x)
        if not arrays or structures.batch_length(x) < self.size:
            self.validation_sharded = False
            return validation_data
        self.validation_sharded = True
        count = structures.batch_length(x)
        low, high = _bounds(count, self.rank, self.size)
        return tuple(None if a is None else structures.map_structure(lambda v: v[low:high], a)
                     for a in validation_data)

    def start(self, model):
        """Rank 0's weights (and buffers) on every rank, once the layers are built."""
        self.distributed.broadcast_parameters(model, root=0)

    def seed_dropout_per_rank(self, model):
        """Other dropout masks on each rank: rank 0 keeps its streams (it draws as a single
        process would); rank ``r`` continues from ``(a draw of its stream, r)``."""
        if self.rank == 0:
            return
        from ..backends import registry
        state = registry.get_rng_state()
        state["cpu"] = _stream_state(_draw(state["cpu"]), self.rank)
        if "cuda_dropout" in state:  # the GPU's dropout key, offset by the rank
            key, offset = state["cuda_dropout"]
            state["cuda_dropout"] = [(int(key) + 7919 * self.rank) % 2 ** 63, offset]
        registry.set_rng_state(state)
        for module in model.modules():
            generator = getattr(module, "generator", None)
            if hasattr(generator, "set_state") and getattr(generator, "seed", None) is not None:
                position = generator.get_state()  # None before its first draw
                generator.set_state(_stream_state(
                    generator.seed if position is None else _draw(position), self.rank))

    def callbacks_of_this_rank(self, callbacks):
        """The callbacks this rank runs: those that only write files (``root_only``) run on
        rank 0 alone. Notes whether one of them has batch hooks (which may stop training on
        one rank): only then do the ranks agree on stopping after every batch."""
        from .callbacks import Callback  # (callbacks.py imports this module)
        self.agree_each_batch = any(
            getattr(type(c), hook, None) is not getattr(Callback, hook)
            for c in callbacks or () for hook in ("on_train_batch_begin", "on_train_batch_end"))
        if self.rank == 0 or callbacks is None:
            return callbacks
        return [c for c in callbacks if not getattr(c, "root_only", False)]

    # --- every step -------------------------------------------------------------------------
    def average_gradients(self, model, loss, count):
        """Replace this rank's gradients by the average over all ranks, each rank's weighted
        by its ``count`` samples. A non-finite local loss makes the average non-finite
        everywhere, so that every rank skips (TerminateOnNaN) or applies the same step."""
        params = [p for p in model.parameters() if p.requires_grad]
        for param in params:
            if param.grad is None:  # unused this step: zeros, as every rank sends each one
                param.grad = _zeros_like(param)
        if loss is not None and params and not np.isfinite(loss.item()):
            params[0].grad.data[...] = np.nan
        self.distributed.allreduce_gradients(params, average=True, weights=count)

    def step_without_samples(self, model):
        """This rank's part of a step in which it got no sample (the last global batch is
        shorter than the ranks): no forward pass, zero gradients of weight 0 in the average,
        then the same optimizer step as the others."""
        model.optimizer.zero_grad()
        for param in model.parameters():
            if param.requires_grad:
                param.grad = _zeros_like(param)
        self.average_gradients(model, None, 0)
        if getattr(model, "_guard_nonfinite", False) and not all(
                bool(np.isfinite(np.asarray(_host(p.grad.data))).all())
                for p in model.parameters() if p.grad is not None):
            model.skipped_nonfinite_update = model.stop_training = True
            return
        model.optimizer.step()

    def agree_to_stop(self, stop):
        """True on every rank when a callback on any rank asked to stop after this batch (a
        tiny allreduce, left out when no callback has batch hooks: then only epoch-end
        callbacks, which see the same logs everywhere, and the non-finite check, whose
        gradients are the same everywhere, stop training)."""
        if not getattr(self, "agree_each_batch", True):
            return stop
        flag = np.array([1.0 if stop else 0.0])
        return bool(np.asarray(self.distributed.allreduce_array(flag, op="max"))[0] > 0)

    # --- end of an epoch --------------------------------------------------------------------
    def epoch_logs(self, model, state):
        """The epoch's loss and metrics over the samples of every rank (the per-batch figures
        before were this rank's own)."""
        loss_mean, metrics = self.reduced([state.loss_mean] + list(state.metrics))
        self.copy_buffers_from_root(model)  # validation and checkpoints see one model
        return {"loss": loss_mean.result(), **model._metric_logs(metrics)}

    def validation_logs(self, model, loss_mean, metrics, logs):
        """Validation figures over every rank's part of the validation data."""
        if not getattr(self, "validation_sharded", False):
            return logs
        loss_mean, metrics = self.reduced([loss_mean] + list(metrics))
        return {"loss": loss_mean.result(), **model._metric_logs(metrics)}

    def reduced(self, metrics):
        """Copies of ``metrics`` whose counts are summed over the ranks (one message for all);
        returns (first, rest)."""
        copies = [copy.deepcopy(m) for m in metrics]
        slots = [slot for m in copies for slot in _state_slots(m)]
        values = [np.asarray(_host(getattr(owner, name)), dtype=np.float64).ravel()
                  for owner, name in slots]
        flat = np.concatenate(values) if values else np.zeros(0)
        total = np.asarray(self.distributed.allreduce_array(flat, op="sum"), dtype=np.float64)
        offset = 0
        for (owner, name), value in zip(slots, values):
            old = getattr(owner, name)
            new = total[offset:offset + value.size]
            offset += value.size
            if isinstance(old, np.ndarray):
                setattr(owner, name, new.reshape(old.shape).astype(old.dtype))
            else:
                setattr(owner, name, type(old)(new[0]) if isinstance(old, (int, float))
                        else new.reshape(np.shape(old)))
        return copies[0], copies[1:]

    def copy_buffers_from_root(self, model):
        """Rank 0's buffers (BatchNormalization's moving statistics) on every rank."""
        buffers = dict(model.named_buffers())
        if buffers:
            self.distributed.broadcast_parameters(buffers, root=0)

    # --- failure ----------------------------------------------------------------------------
    def abort(self, exc):
        """End every rank of the job: this one cannot reach the next collective, where the
        others would wait for ever. The error is printed first, with the rank."""
        # the error in the first line: the launcher may cut the traceback short when it ends
        # the job
        print(f"[rank {self.rank}/{self.size}] fit failed ({type(exc).__name__}: {exc}); "
              f"aborting the MPI job:", file=sys.stderr)
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        sys.stderr.flush()
        self.world.comm.abort(f"rank {self.rank} of {self.size} failed in fit: "
                              f"{type(exc).__name__}: {exc}", 1)


class RankSlices:
    """Rank ``rank``'s slice of each batch of ``source`` (an ``ArrayBatches`` or
    ``StructuredBatches``): a batch of ``m`` samples is cut into ``size`` slices that differ
    by at most one sample; a slice may be empty (``m < size``)."""

    one_shot = False

    def __init__(self, source, rank, size):
        self.source, self.rank, self.size = source, rank, size
        self.x = source.x  # fit builds lazy layers from the first samples

    def __len__(self):
        return len(self.source)

    def __iter__(self):
        return self.iter_from(0)

    def iter_from(self, step):
        for batch in self.source.iter_from(step):
            low, high = _bounds(structures.batch_length(batch[0]), self.rank, self.size)
            yield tuple(None if a is None else structures.map_structure(
                lambda v: v[low:high], a) for a in batch)


class RankOfEachGroup:
    """The batches of an iterable source (``IterableBatches``, ``SequenceBatches``) shared out:
    each step takes the next ``size`` batches of the source, rank ``rank`` the one at its
    place, or an empty batch when the source ends inside the group. Every rank must read the
    same batches in the same order (a DataLoader seeded alike on every rank)."""

    def __init__(self, source, rank, size):
        self.source, self.rank, self.size = source, rank, size
        self.one_shot = getattr(source, "one_shot", False)

    def batch_count(self):
        """Steps in a pass: the source's batches divided by the ranks, rounded up."""
        count = self.source.batch_count()
        return None if count is None else -(-count // self.size)

    def __iter__(self):
        batches = iter(self.source)
        while True:
            group = list(itertools.islice(batches, self.size))
            if not group:
                return
            yield group[self.rank] if self.rank < len(group) else tuple(
                None if a is None else structures.map_structure(lambda v: v[:0], a)
                for a in group[0])

    def iter_from(self, step):
        return itertools.islice(iter(self), step, None)

    def on_epoch_end(self):
        hook = getattr(self.source, "on_epoch_end", None)
        if callable(hook):
            hook()


def _bounds(count, rank, size):
    """[low, high) of rank ``rank``'s share of ``count`` items cut in ``size`` near-equal parts."""
    return count * rank // size, count * (rank + 1) // size


def _draw(state):
    """A number drawn from a copy of the stream at ``state`` (the stream itself is left
    alone), to seed a stream of its own from where that one is."""
    stream = np.random.default_rng()
    stream.bit_generator.state = state
    return int(stream.integers(2 ** 62))


def _stream_state(seed, rank):
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(rank)])).bit_generator.state


def _host(value):
    """A NumPy view of a NumPy or CuPy array (or a number)."""
    get = getattr(value, "get", None)
    return get() if callable(get) and not isinstance(value, np.ndarray) else value


def _zeros_like(param):
    from ..autograd.tensor import Tensor
    return Tensor._make(param._backend.xp.zeros_like(param.data), param._backend)


def _state_slots(metric):
    """(object, attribute) of each count a metric keeps: the numbers and arrays its
    ``reset_state`` assigns (configuration such as thresholds is left out), also inside
    metrics it holds (``"accuracy"`` picks one when it sees the first batch)."""
    assigned = []

    class Tracing(type(metric)):
        def __setattr__(self, name, value):
            assigned.append(name)
            object.__setattr__(self, name, value)

    probe = copy.deepcopy(metric)  # reset_state may reset metrics it holds
    probe.__class__ = Tracing
    probe.reset_state()
    slots = [(metric, name) for name in dict.fromkeys(assigned)
             if isinstance(getattr(metric, name, None), (int, float, np.number, np.ndarray))
             and not isinstance(getattr(metric, name), bool)]
    for name, value in sorted(vars(metric).items()):
        if hasattr(value, "reset_state") and hasattr(value, "result"):
            slots += _state_slots(value)
    return slots
