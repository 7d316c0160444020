"""Numba kernels for max pooling on channels-last images: the forward that also records which
cell of each window won, and the backward that sends each gradient to that cell.

An image batch is (N, H, W, C); a pool_h x pool_w window moves by (sh, sw) over the image,
which is padded by pad_top rows and pad_left columns (cells in the padding never win).
``argmax`` holds, per output value, the winner's position inside its window, ``i*pool_w + j``.
"""

from numba import njit


@njit(cache=True, nogil=True)
def max_pool2d_forward(x, pool_h, pool_w, sh, sw, pad_top, pad_left, out, argmax):
    """Fill ``out`` (N, OH, OW, C) with the window maxima of ``x`` and ``argmax`` (int32, same
    shape) with their positions.

    Ties go to the first cell in row-major order and a NaN wins over any number, as in
    PyTorch. Every window must contain at least one cell of the image.
    """
    n_images, height, width, channels = x.shape
    out_h, out_w = out.shape[1], out.shape[2]
    for n in range(n_images):
        for oh in range(out_h):
            h0 = oh * sh - pad_top
            for ow in range(out_w):
                w0 = ow * sw - pad_left
                best, where = out[n, oh, ow], argmax[n, oh, ow]  # (C,) views
                first = True
                for i in range(pool_h):
                    h = h0 + i
                    if h < 0 or h >= height:
                        continue
                    for j in range(pool_w):
                        w = w0 + j
                        if w < 0 or w >= width:
                            continue
                        k = i * pool_w + j
                        cell = x[n, h, w]
                        if first:
                            best[:] = cell
                            where[:] = k
                            first = False
                            continue
                        for c in range(channels):  # branch-free, so that it vectorizes
                            v = cell[c]
                            take = v > best[c] or v != v  # v != v: NaN
                            best[c] = v if take else best[c]
                            where[c] = k if take else where[c]
    return out


@njit(cache=True, nogil=True)
def max_pool2d_backward(grad, argmax, pool_w, sh, sw, pad_top, pad_left, grad_x):
    """Add each value of ``grad`` (N, OH, OW, C) to the cell of ``grad_x`` (N, H, W, C, zero
    on entry) that won its window; overlapping windows add up."""
    n_images, out_h, out_w, channels = grad.shape
    for n in range(n_images):
        for oh in range(out_h):
            h0 = oh * sh - pad_top
            for ow in range(out_w):
                w0 = ow * sw - pad_left
                g, where = grad[n, oh, ow], argmax[n, oh, ow]
                for c in range(channels):
                    k = where[c]
                    grad_x[n, h0 + k // pool_w, w0 + k % pool_w, c] += g[c]
    return grad_x


@njit(cache=True, nogil=True)
def max_pool2d_backward_tiled(grad, argmax, pool_h, pool_w, grad_x):
    """:func:`max_pool2d_backward` for windows that tile the image (strides equal to the pool
    size, no padding), the common case: every cell of ``grad_x`` is written -- the gradient
    at each window's winner, 0 elsewhere -- so it need not be zeroed first, and the loop has
    no scattered writes."""
    n_images, out_h, out_w, channels = grad.shape
    height, width = grad_x.shape[1], grad_x.shape[2]
    for n in range(n_images):
        for oh in range(out_h):
            for ow in range(out_w):
                g, where = grad[n, oh, ow], argmax[n, oh, ow]
                for i in range(pool_h):
                    for j in range(pool_w):
                        k = i * pool_w + j
                        cell = grad_x[n, oh * pool_h + i, ow * pool_w + j]
                        for c in range(channels):
                            cell[c] = g[c] if where[c] == k else 0
        # rows and columns that no window covers (H or W not a multiple of the pool size)
        for h in range(height):
            first_w = 0 if h >= out_h * pool_h else out_w * pool_w
            for w in range(first_w, width):
                grad_x[n, h, w, :] = 0
    return grad_x

