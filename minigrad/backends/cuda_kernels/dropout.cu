// Inverted dropout: the GPU side of CUDABackend.dropout / dropout_backward.
//
// Element k of a call keeps its value (scaled by 1/keep) when u_k < keep, where u_k in [0, 1) is
// drawn from a counter-based generator: u_k = the top 53 bits of splitmix64's output number
// (offset + k + 1) for the stream ``seed``, that is
//
//     z = seed + (offset + k + 1) * 0x9E3779B97F4A7C15     (mod 2^64)
//     z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;  z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//     u_k = (z ^ (z >> 31)) >> 11, times 2^-53
//
// A thread needs no state but its index, so the mask does not depend on the launch shape, and
// the backend makes each call's mask reproducible by passing the seed of mg.manual_seed and a
// counter of the numbers drawn so far (``offset``).
//
// The forward writes the output and a byte mask (1 kept, 0 dropped), the backward reads the
// mask: 1 byte per element saved rather than the CPU's float scale. Both multiply by the scale
// (1 or 0) / keep computed in the array's dtype, as the CPU backend does, so a given mask gives
// the CPU's result to the bit.

__device__ inline double uniform_at(unsigned long long seed, unsigned long long index) {
    unsigned long long z = seed + (index + 1ULL) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);  // 2^-53
}

// One thread per element: out = x * scale and mask, for n elements.
template <typename T>
__device__ void dropout_forward(const T* __restrict__ x, T* __restrict__ out,
                                unsigned char* __restrict__ mask, long long n,
                                unsigned long long seed, unsigned long long offset, double keep) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n) {
        return;
    }
    bool kept = uniform_at(seed, offset + (unsigned long long)k) < keep;
    mask[k] = kept ? 1 : 0;
    out[k] = x[k] * ((kept ? T(1) : T(0)) / T(keep));
}

// One thread per element: grad_x = grad * scale.
template <typename T>
__device__ void dropout_backward(const T* __restrict__ grad,
                                 const unsigned char* __restrict__ mask, T* __restrict__ grad_x,
                                 long long n, double keep) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n) {
        return;
    }
    grad_x[k] = grad[k] * ((mask[k] ? T(1) : T(0)) / T(keep));
}

// The entry points, one per dtype (CuPy's RawModule looks them up by these names).
extern "C" __global__ void dropout_forward_f32(const float* __restrict__ x,
                                               float* __restrict__ out,
                                               unsigned char* __restrict__ mask, long long n,
                                               unsigned long long seed,
                                               unsigned long long offset, double keep) {
    dropout_forward<float>(x, out, mask, n, seed, offset, keep);
}

extern "C" __global__ void dropout_forward_f64(const double* __restrict__ x,
                                               double* __restrict__ out,
                                               unsigned char* __restrict__ mask, long long n,
                                               unsigned long long seed,
                                               unsigned long long offset, double keep) {
    dropout_forward<double>(x, out, mask, n, seed, offset, keep);
}

extern "C" __global__ void dropout_backward_f32(const float* __restrict__ grad,
                                                const unsigned char* __restrict__ mask,
                                                float* __restrict__ grad_x, long long n,
                                                double keep) {
    dropout_backward<float>(grad, mask, grad_x, n, keep);
}

extern "C" __global__ void dropout_backward_f64(const double* __restrict__ grad,
                                                const unsigned char* __restrict__ mask,
                                                double* __restrict__ grad_x, long long n,
                                                double keep) {
    dropout_backward<double>(grad, mask, grad_x, n, keep);
}
