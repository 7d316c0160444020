"""Numba kernels for convolution: im2col and its adjoint col2im, on channels-last images.

An image batch is (N, H, W, C). For a kh x kw kernel, ``im2col`` writes one row per output
pixel (n, oh, ow) holding the kh*kw*C input values its window sees, ordered (i, j, c) -- the
order of a kernel (kh, kw, C, F) reshaped to (kh*kw*C, F), so that a convolution is one matrix
product ``cols @ kernel.reshape(-1, F)``. Cells of the window that fall in the padding read 0.

``col2im`` is the adjoint (the backward of im2col): each row's values are added back to the
pixels they were read from, so a pixel seen by several windows receives the sum.

The loops are serial and ``nogil``: the convolution runs them on a block of images at a time,
on minigrad's own threads (``minigrad/backends/cpu_threads.py``), one block per call. A Numba
``parallel=True`` region inside each kernel cost more than it saved on the 2-core machines we
measured (about 8 ms per call with the OpenMP threading layer, 0.1 ms with workqueue, for
kernels of 0.2-5 ms; the layer is chosen once per process, so a library cannot pick it).
"""

from numba import njit


@njit(cache=True, nogil=True)
def im2col(x, kh, kw, sh, sw, dh, dw, pad_top, pad_left, out_h, out_w, cols):
    """Fill ``cols`` (N*out_h*out_w, kh*kw*C) from ``x`` (N, H, W, C, C-contiguous).

    Row ``(n*out_h + oh)*out_w + ow``, column ``(i*kw + j)*C + c`` holds
    ``x[n, oh*sh - pad_top + i*dh, ow*sw - pad_left + j*dw, c]``, or 0 outside the image.

    Without dilation along the width, a window's row i inside the image is kw*C consecutive
    values of ``x``, copied as one run (for a 3-channel image a loop of 9 instead of three
    loops of 3, which is what made the first layer's im2col slow).
    """
    n_images, height, width, channels = x.shape
    run = kw * channels
    rows = x.reshape((n_images, height, width * channels))
    for n in range(n_images):
        for oh in range(out_h):
            for ow in range(out_w):
                row = (n * out_h + oh) * out_w + ow
                w0 = ow * sw - pad_left
                whole = dw == 1 and w0 >= 0 and w0 + kw <= width
                for i in range(kh):
                    h = oh * sh - pad_top + i * dh
                    inside_h = 0 <= h < height
                    if whole:
                        if inside_h:
                            source = rows[n, h, w0 * channels:w0 * channels + run]
                            for t in range(run):
                                cols[row, i * run + t] = source[t]
                        else:
                            for t in range(run):
                                cols[row, i * run + t] = 0
                        continue
                    for j in range(kw):
                        w = w0 + j * dw
                        start = (i * kw + j) * channels
                        if inside_h and 0 <= w < width:
                            for c in range(channels):
                                cols[row, start + c] = x[n, h, w, c]
                        else:
                            for c in range(channels):
                                cols[row, start + c] = 0
    return cols


@njit(cache=True, nogil=True)
def col2im(cols, kh, kw, sh, sw, dh, dw, pad_top, pad_left, out_h, out_w, x):
    """Add each value of ``cols`` back into ``x`` (N, H, W, C, C-contiguous) where im2col read
    it from.

    ``x`` must be zero on entry (it is returned, holding the sums). Values that im2col took
    from the padding are dropped. A window row inside the image is added as one run of kw*C
    values, as in :func:`im2col`.
    """
    n_images, height, width, channels = x.shape
    run = kw * channels
    rows = x.reshape((n_images, height, width * channels))
    for n in range(n_images):
        for oh in range(out_h):
            for ow in range(out_w):
                row = (n * out_h + oh) * out_w + ow
                w0 = ow * sw - pad_left
                whole = dw == 1 and w0 >= 0 and w0 + kw <= width
                for i in range(kh):
                    h = oh * sh - pad_top + i * dh
                    if h < 0 or h >= height:
                        continue
                    if whole:
                        target = rows[n, h, w0 * channels:w0 * channels + run]
                        for t in range(run):
                            target[t] += cols[row, i * run + t]
                        continue
                    for j in range(kw):
                        w = w0 + j * dw
                        if w < 0 or w >= width:
                            continue
                        start = (i * kw + j) * channels
                        for c in range(channels):
                            x[n, h, w, c] += cols[row, start + c]
    return x
