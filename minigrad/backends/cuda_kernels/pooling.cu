// Max and average pooling of channels-last images, forward and backward: the GPU side of
// Backend.max_pool2d / max_pool2d_backward / avg_pool2d / avg_pool2d_backward.
//
// x is (N, H, W, C), the output (N, OH, OW, C). A pool_h x pool_w window moves by (sh, sw) over
// the image padded by pad_top rows and pad_left columns; window (oh, ow) starts at image row
// oh*sh - pad_top and column ow*sw - pad_left. Cells in the padding never win a max and are
// left out of an average.
//
// Every kernel has one thread per element it writes (forward: per output value; backward: per
// input value, gathering from the windows that contain it), so no two threads write the same
// place: no atomics, and the sums are made in a fixed order -- the CPU backend's.

// One thread per output value: the window's maximum and its position i*pool_w + j. Ties go to
// the first cell in row-major order; a NaN wins (and a later NaN wins over an earlier one), as
// in the CPU kernel (minigrad/backends/cpu_kernels/pooling.py).
template <typename T>
__device__ void max_pool2d_forward(const T* __restrict__ x, T* __restrict__ out,
                                   int* __restrict__ argmax, long long n_images,
                                   long long height, long long width, long long channels,
                                   long long pool_h, long long pool_w, long long sh,
                                   long long sw, long long pad_top, long long pad_left,
                                   long long out_h, long long out_w) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_images * out_h * out_w * channels) {
        return;
    }
    long long c = k % channels, ow = k / channels % out_w, oh = k / channels / out_w % out_h;
    long long n = k / channels / out_w / out_h;
    long long h0 = oh * sh - pad_top, w0 = ow * sw - pad_left;
    T best = T(0);
    int where = 0;
    bool first = true;
    for (long long i = 0; i < pool_h; ++i) {
        long long h = h0 + i;
        if (h < 0 || h >= height) {
            continue;
        }
        for (long long j = 0; j < pool_w; ++j) {
            long long w = w0 + j;
            if (w < 0 || w >= width) {
                continue;
            }
            T v = x[((n * height + h) * width + w) * channels + c];
            if (first || v > best || v != v) {  // v != v: NaN
                best = v;
                where = (int)(i * pool_w + j);
                first = false;
            }
        }
    }
    out[k] = best;
    argmax[k] = where;
}

// One thread per input value: the sum of the gradients of the windows it won. The windows that
// contain it are visited in increasing (oh, ow), the CPU kernel's order.
template <typename T>
__device__ void max_pool2d_backward(const T* __restrict__ grad, const int* __restrict__ argmax,
                                    T* __restrict__ grad_x, long long n_images,
                                    long long height, long long width, long long channels,
                                    long long pool_h, long long pool_w, long long sh,
                                    long long sw, long long pad_top, long long pad_left,
                                    long long out_h, long long out_w) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_images * height * width * channels) {
        return;
    }
    long long c = k % channels, w = k / channels % width, h = k / channels / width % height;
    long long n = k / channels / width / height;
    T sum = T(0);
    for (long long i = pool_h - 1; i >= 0; --i) {  // i decreasing: oh increasing
        long long top = h + pad_top - i;             // = oh * sh if cell i of window oh is h
        if (top < 0 || top % sh != 0 || top / sh >= out_h) {
            continue;
        }
        for (long long j = pool_w - 1; j >= 0; --j) {
            long long left = w + pad_left - j;
            if (left < 0 || left % sw != 0 || left / sw >= out_w) {
                continue;
            }
            long long o = ((n * out_h + top / sh) * out_w + left / sw) * channels + c;
            if (argmax[o] == i * pool_w + j) {
                sum += grad[o];
            }
        }
    }
    grad_x[k] = sum;
}

// How many cells of window (oh, ow) lie inside the image: rows inside times columns inside.
__device__ inline long long cells_inside(long long oh, long long ow, long long height,
                                         long long width, long long pool_h, long long pool_w,
                                         long long sh, long long sw, long long pad_top,
                                         long long pad_left) {
    long long top = oh * sh - pad_top, left = ow * sw - pad_left;
    long long rows = (top + pool_h < height ? top + pool_h : height) - (top > 0 ? top : 0);
    long long columns = (left + pool_w < width ? left + pool_w : width) - (left > 0 ? left : 0);
    return rows * columns;
}

// One thread per output value: the sum of the window's cells inside the image, in row-major
// order, divided by their number.
template <typename T>
__device__ void avg_pool2d_forward(const T* __restrict__ x, T* __restrict__ out,
                                   long long n_images, long long height, long long width,
                                   long long channels, long long pool_h, long long pool_w,
                                   long long sh, long long sw, long long pad_top,
                                   long long pad_left, long long out_h, long long out_w) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_images * out_h * out_w * channels) {
        return;
    }
    long long c = k % channels, ow = k / channels % out_w, oh = k / channels / out_w % out_h;
    long long n = k / channels / out_w / out_h;
    long long h0 = oh * sh - pad_top, w0 = ow * sw - pad_left;
    T sum = T(0);
    for (long long i = 0; i < pool_h; ++i) {
        long long h = h0 + i;
        if (h < 0 || h >= height) {
            continue;
        }
        for (long long j = 0; j < pool_w; ++j) {
            long long w = w0 + j;
            if (w >= 0 && w < width) {
                sum += x[((n * height + h) * width + w) * channels + c];
            }
        }
    }
    T count = T(cells_inside(oh, ow, height, width, pool_h, pool_w, sh, sw, pad_top, pad_left));
    out[k] = sum / count;
}

// One thread per input value: the sum over the windows that contain it of the window's
// gradient divided by its number of cells. The windows are visited in increasing (i, j), the
// order in which the CPU backend adds them.
template <typename T>
__device__ void avg_pool2d_backward(const T* __restrict__ grad, T* __restrict__ grad_x,
                                    long long n_images, long long height, long long width,
                                    long long channels, long long pool_h, long long pool_w,
                                    long long sh, long long sw, long long pad_top,
                                    long long pad_left, long long out_h, long long out_w) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_images * height * width * channels) {
        return;
    }
    long long c = k % channels, w = k / channels % width, h = k / channels / width % height;
    long long n = k / channels / width / height;
    T sum = T(0);
    for (long long i = 0; i < pool_h; ++i) {
        long long top = h + pad_top - i;
        if (top < 0 || top % sh != 0 || top / sh >= out_h) {
            continue;
        }
        long long oh = top / sh;
        for (long long j = 0; j < pool_w; ++j) {
            long long left = w + pad_left - j;
            if (left < 0 || left % sw != 0 || left / sw >= out_w) {
                continue;
            }
            long long ow = left / sw;
            T count = T(cells_inside(oh, ow, height, width, pool_h, pool_w, sh, sw, pad_top,
                                     pad_left));
            sum += grad[((n * out_h + oh) * out_w + ow) * channels + c] / count;
        }
    }
    grad_x[k] = sum;
}

// The entry points, one per dtype (CuPy's RawModule looks them up by these names).
extern "C" __global__ void max_pool2d_forward_f32(
    const float* __restrict__ x, float* __restrict__ out, int* __restrict__ argmax,
    long long n_images, long long height, long long width, long long channels, long long pool_h,
    long long pool_w, long long sh, long long sw, long long pad_top, long long pad_left,
    long long out_h, long long out_w) {
    max_pool2d_forward<float>(x, out, argmax, n_images, height, width, channels, pool_h, pool_w,
                              sh, sw, pad_top, pad_left, out_h, out_w);
}

extern "C" __global__ void max_pool2d_forward_f64(
    const double* __restrict__ x, double* __restrict__ out, int* __restrict__ argmax,
    long long n_images, long long height, long long width, long long channels, long long pool_h,
    long long pool_w, long long sh, long long sw, long long pad_top, long long pad_left,
    long long out_h, long long out_w) {
    max_pool2d_forward<double>(x, out, argmax, n_images, height, width, channels, pool_h,
                               pool_w, sh, sw, pad_top, pad_left, out_h, out_w);
}

extern "C" __global__ void max_pool2d_backward_f32(
    const float* __restrict__ grad, const int* __restrict__ argmax, float* __restrict__ grad_x,
    long long n_images, long long height, long long width, long long channels, long long pool_h,
    long long pool_w, long long sh, long long sw, long long pad_top, long long pad_left,
    long long out_h, long long out_w) {
    max_pool2d_backward<float>(grad, argmax, grad_x, n_images, height, width, channels, pool_h,
                               pool_w, sh, sw, pad_top, pad_left, out_h, out_w);
}

extern "C" __global__ void max_pool2d_backward_f64(
    const double* __restrict__ grad, const int* __restrict__ argmax, double* __restrict__ grad_x,
    long long n_images, long long height, long long width, long long channels, long long pool_h,
    long long pool_w, long long sh, long long sw, long long pad_top, long long pad_left,
    long long out_h, long long out_w) {
    max_pool2d_backward<double>(grad, argmax, grad_x, n_images, height, width, channels, pool_h,
                                pool_w, sh, sw, pad_top, pad_left, out_h, out_w);
}

extern "C" __global__ void avg_pool2d_forward_f32(
    const float* __restrict__ x, float* __restrict__ out, long long n_images, long long height,
    long long width, long long channels, long long pool_h, long long pool_w, long long sh,
    long long sw, long long pad_top, long long pad_left, long long out_h, long long out_w) {
    avg_pool2d_forward<float>(x, out, n_images, height, width, channels, pool_h, pool_w, sh, sw,
                              pad_top, pad_left, out_h, out_w);
}

extern "C" __global__ void avg_pool2d_forward_f64(
    const double* __restrict__ x, double* __restrict__ out, long long n_images, long long height,
    long long width, long long channels, long long pool_h, long long pool_w, long long sh,
    long long sw, long long pad_top, long long pad_left, long long out_h, long long out_w) {
    avg_pool2d_forward<double>(x, out, n_images, height, width, channels, pool_h, pool_w, sh, sw,
                               pad_top, pad_left, out_h, out_w);
}

extern "C" __global__ void avg_pool2d_backward_f32(
    const float* __restrict__ grad, float* __restrict__ grad_x, long long n_images,
    long long height, long long width, long long channels, long long pool_h, long long pool_w,
    long long sh, long long sw, long long pad_top, long long pad_left, long long out_h,
    long long out_w) {
    avg_pool2d_backward<float>(grad, grad_x, n_images, height, width, channels, pool_h, pool_w,
                               sh, sw, pad_top, pad_left, out_h, out_w);
}

extern "C" __global__ void avg_pool2d_backward_f64(
    const double* __restrict__ grad, double* __restrict__ grad_x, long long n_images,
    long long height, long long width, long long channels, long long pool_h, long long pool_w,
    long long sh, long long sw, long long pad_top, long long pad_left, long long out_h,
    long long out_w) {
    avg_pool2d_backward<double>(grad, grad_x, n_images, height, width, channels, pool_h, pool_w,
                                sh, sw, pad_top, pad_left, out_h, out_w);
}
