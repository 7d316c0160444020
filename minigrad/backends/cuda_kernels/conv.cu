// im2col and its adjoint col2im for channels-last images: the GPU side of
// Backend.im2col / col2im (minigrad/backends/cpu_kernels/conv.py has the same loops).
//
// x is (N, H, W, C); cols is (N*OH*OW, kh*kw*C), row (n*OH + oh)*OW + ow, column (i*kw + j)*C + c
// holding x[n, oh*sh - pad_top + i*dh, ow*sw - pad_left + j*dw, c], or 0 in the padding.
//
// Both kernels are gathers with one thread per element they write, so no two threads write the
// same place (no atomics, deterministic). Consecutive threads handle consecutive channels, so
// reads and writes of a warp are contiguous.

// One thread per element of cols.
template <typename T>
__device__ void im2col(const T* __restrict__ x, T* __restrict__ cols, long long n_images,
                       long long height, long long width, long long channels, long long kh,
                       long long kw, long long sh, long long sw, long long dh, long long dw,
                       long long pad_top, long long pad_left, long long out_h, long long out_w) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long row_width = kh * kw * channels;
    if (k >= n_images * out_h * out_w * row_width) {
        return;
    }
    long long row = k / row_width, column = k - row * row_width;
    long long cell = column / channels, c = column - cell * channels;
    long long i = cell / kw, j = cell - i * kw;
    long long ow = row % out_w, oh = row / out_w % out_h, n = row / out_w / out_h;
    long long h = oh * sh - pad_top + i * dh, w = ow * sw - pad_left + j * dw;
    bool inside = h >= 0 && h < height && w >= 0 && w < width;
    cols[k] = inside ? x[((n * height + h) * width + w) * channels + c] : T(0);
}

// One thread per element of x (each is written: x need not be zeroed first): the sum of the
// values of cols that im2col read from it. The windows are visited in increasing (oh, ow) --
// i and j decreasing -- the order in which the CPU kernel adds them, so the sums are the same
// to the last bit.
template <typename T>
__device__ void col2im(const T* __restrict__ cols, T* __restrict__ x, long long n_images,
                       long long height, long long width, long long channels, long long kh,
                       long long kw, long long sh, long long sw, long long dh, long long dw,
                       long long pad_top, long long pad_left, long long out_h, long long out_w) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_images * height * width * channels) {
        return;
    }
    long long c = k % channels, w = k / channels % width, h = k / channels / width % height;
    long long n = k / channels / width / height;
    T sum = T(0);
    for (long long i = kh - 1; i >= 0; --i) {
        long long top = h + pad_top - i * dh;  // = oh * sh for the window whose cell i is h
        if (top < 0 || top % sh != 0 || top / sh >= out_h) {
            continue;
        }
        long long oh = top / sh;
        for (long long j = kw - 1; j >= 0; --j) {
            long long left = w + pad_left - j * dw;
            if (left < 0 || left % sw != 0 || left / sw >= out_w) {
                continue;
            }
            long long row = (n * out_h + oh) * out_w + left / sw;
            sum += cols[row * kh * kw * channels + (i * kw + j) * channels + c];
        }
    }
    x[k] = sum;
}

// The entry points, one per dtype (CuPy's RawModule looks them up by these names).
extern "C" __global__ void im2col_f32(const float* __restrict__ in, float* __restrict__ out,
                                     long long n_images, long long height, long long width,
                                     long long channels, long long kh, long long kw, long long sh,
                                     long long sw, long long dh, long long dw, long long pad_top,
                                     long long pad_left, long long out_h, long long out_w) {
    im2col<float>(in, out, n_images, height, width, channels, kh, kw, sh, sw, dh, dw, pad_top,
                  pad_left, out_h, out_w);
}

extern "C" __global__ void im2col_f64(const double* __restrict__ in, double* __restrict__ out,
                                     long long n_images, long long height, long long width,
                                     long long channels, long long kh, long long kw, long long sh,
                                     long long sw, long long dh, long long dw, long long pad_top,
                                     long long pad_left, long long out_h, long long out_w) {
    im2col<double>(in, out, n_images, height, width, channels, kh, kw, sh, sw, dh, dw, pad_top,
                   pad_left, out_h, out_w);
}

extern "C" __global__ void col2im_f32(const float* __restrict__ in, float* __restrict__ out,
                                     long long n_images, long long height, long long width,
                                     long long channels, long long kh, long long kw, long long sh,
                                     long long sw, long long dh, long long dw, long long pad_top,
                                     long long pad_left, long long out_h, long long out_w) {
    col2im<float>(in, out, n_images, height, width, channels, kh, kw, sh, sw, dh, dw, pad_top,
                  pad_left, out_h, out_w);
}

extern "C" __global__ void col2im_f64(const double* __restrict__ in, double* __restrict__ out,
                                     long long n_images, long long height, long long width,
                                     long long channels, long long kh, long long kw, long long sh,
                                     long long sw, long long dh, long long dw, long long pad_top,
                                     long long pad_left, long long out_h, long long out_w) {
    col2im<double>(in, out, n_images, height, width, channels, kh, kw, sh, sw, dh, dw, pad_top,
                   pad_left, out_h, out_w);
}
