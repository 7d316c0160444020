"""Memory-bound passes over a large array a block at a time, the blocks shared out over the
backend's threads (``Backend.run_shares``): each block, and what a pass makes from it, is
still in the cache for the pass's next step, and on the CPU every core takes a share.

A backend without ``cache_block_bytes`` (a GPU) gets one block of the whole array: one
launch of each kernel, as without blocks. The passes never set NumPy's BLAS to one thread
themselves (``take_blas=False``): they use minigrad's threads where a convolution already did.
"""


def blocks(backend, count, item_bytes, block_bytes=None):
    """Slices cutting ``count`` items (rows of an array, or values of a flat one) of
    ``item_bytes`` each into blocks of about ``block_bytes`` (by default the backend's
    ``cache_block_bytes``; at least one item a block)."""
    limit = backend.cache_block_bytes if block_bytes is None else block_bytes
    per_block = count if limit is None else max(1, limit // max(1, item_bytes))
    return [slice(start, min(start + per_block, count))
            for start in range(0, count, max(1, per_block))]


def each_block(backend, step, block_slices):
    """``step(block)`` for every block, the blocks shared out over the backend's threads."""
    if len(block_slices) == 1:  # a small array: no threads to share it out over
        step(block_slices[0])
        return
    backend.run_shares(lambda share: [step(block) for block in share], block_slices,
                       take_blas=False)


def sum_over_blocks(backend, partial, block_slices):
    """The sums over the blocks of ``partial(block)``, a tuple of arrays, each thread adding
    up its share first."""
    def share_total(share):
        total = None
        for block in share:
            part = partial(block)
            total = part if total is None else tuple(t + p for t, p in zip(total, part))
        return total

    if len(block_slices) == 1:  # a small array: no threads to share it out over
        return share_total(block_slices)
    totals = [t for t in backend.run_shares(share_total, block_slices, take_blas=False)
              if t is not None]
    return tuple(sum(parts[1:], parts[0]) for parts in zip(*totals))


def flat_views(backend, *arrays):
    """1-D views of C-contiguous arrays to go through in blocks; None (the whole arrays at
    once) when one is not C-contiguous, or when the first fits in one block (a small array:
    the blocks' bookkeeping would cost more than the pass)."""
    limit = backend.cache_block_bytes
    if limit is None or arrays[0].nbytes <= limit:
        return None
    if not all(a.flags.c_contiguous for a in arrays):
        return None
    return [a.reshape(-1) for a in arrays]
