// Fused softmax + cross-entropy on logits, forward and backward: the GPU side of
// Backend.softmax_cross_entropy / sparse_softmax_cross_entropy and their backwards.
//
// x is (R, C) logits, one row per sample, classes last. As on the CPU, the log-softmax is taken
// from the shifted logits, log_softmax_k = (x_k - m) - log(sum_j exp(x_j - m)) with m the row's
// maximum, so that logits of 1e4 lose no precision; the forward keeps m and log_sum =
// log(sum_j exp(x_j - m)) per row (not the (R, C) softmax), and the loss is
//
//     sparse (integer labels):        log_sum - (x[label] - m)
//     dense (targets t, e.g. one-hot): sum_k t_k (log_sum - (x_k - m))
//
// The backward recomputes softmax_k = exp((x_k - m) - log_sum) from what the forward kept:
//
//     sparse: dx_k = g * (softmax_k - [k == label])
//     dense:  dx_k = g * (softmax_k * sum(t) - t_k)
//
// with g the gradient of the row's loss. The forwards run one thread per row (a row is read
// three times, from cache: fine for the class counts of classifiers); the backwards one thread
// per element.

__device__ inline float exp_of(float x) { return expf(x); }
__device__ inline double exp_of(double x) { return exp(x); }
__device__ inline float log_of(float x) { return logf(x); }
__device__ inline double log_of(double x) { return log(x); }

// The row's maximum m and log(sum(exp(row - m))). A NaN anywhere makes m NaN.
template <typename T>
__device__ void shift_and_log_sum(const T* row, long long classes, T* m, T* log_sum) {
    T top = row[0];
    for (long long k = 1; k < classes; ++k) {
        top = (row[k] > top || row[k] != row[k]) ? row[k] : top;
    }
    T sum = T(0);
    for (long long k = 0; k < classes; ++k) {
        sum += exp_of(row[k] - top);
    }
    *m = top;
    *log_sum = log_of(sum);
}

// One thread per row: loss[r], shift[r] = m and log_sum[r] (each (R,)).
template <typename T>
__device__ void sparse_forward(const T* __restrict__ x, const long long* __restrict__ labels,
                               T* __restrict__ loss, T* __restrict__ shift,
                               T* __restrict__ log_sum, long long rows, long long classes) {
    long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) {
        return;
    }
    const T* row = x + r * classes;
    T m, l;
    shift_and_log_sum(row, classes, &m, &l);
    shift[r] = m;
    log_sum[r] = l;
    loss[r] = l - (row[labels[r]] - m);
}

// One thread per element of dx (R, C); g is (R,).
template <typename T>
__device__ void sparse_backward(const T* __restrict__ x, const T* __restrict__ shift,
                                const T* __restrict__ log_sum,
                                const long long* __restrict__ labels, const T* __restrict__ g,
                                T* __restrict__ dx, long long rows, long long classes) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= rows * classes) {
        return;
    }
    long long r = k / classes, c = k - r * classes;
    T one_hot = c == labels[r] ? T(1) : T(0);
    dx[k] = g[r] * (exp_of((x[k] - shift[r]) - log_sum[r]) - one_hot);
}

// One thread per row: loss[r], shift[r], log_sum[r] and t_sum[r] = sum(t[r]) (each (R,)); t is
// (R, C).
template <typename T>
__device__ void dense_forward(const T* __restrict__ x, const T* __restrict__ t,
                              T* __restrict__ loss, T* __restrict__ shift,
                              T* __restrict__ log_sum, T* __restrict__ t_sum, long long rows,
                              long long classes) {
    long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) {
        return;
    }
    const T* row = x + r * classes;
    const T* target = t + r * classes;
    T m, l;
    shift_and_log_sum(row, classes, &m, &l);
    T total = T(0), weight = T(0);
    for (long long k = 0; k < classes; ++k) {
        total += target[k] * (l - (row[k] - m));  // t_k * -log_softmax_k
        weight += target[k];
    }
    loss[r] = total;
    shift[r] = m;
    log_sum[r] = l;
    t_sum[r] = weight;
}

// One thread per element of dx (R, C); g and t_sum are (R,).
template <typename T>
__device__ void dense_backward(const T* __restrict__ x, const T* __restrict__ shift,
                               const T* __restrict__ log_sum, const T* __restrict__ t,
                               const T* __restrict__ t_sum,
                               const T* __restrict__ g, T* __restrict__ dx, long long rows,
                               long long classes) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= rows * classes) {
        return;
    }
    long long r = k / classes;
    dx[k] = g[r] * (exp_of((x[k] - shift[r]) - log_sum[r]) * t_sum[r] - t[k]);
}

// The entry points, one per dtype (CuPy's RawModule looks them up by these names).
extern "C" __global__ void sparse_softmax_cross_entropy_f32(
    const float* __restrict__ x, const long long* __restrict__ labels, float* __restrict__ loss,
    float* __restrict__ shift, float* __restrict__ log_sum, long long rows, long long classes) {
    sparse_forward<float>(x, labels, loss, shift, log_sum, rows, classes);
}

extern "C" __global__ void sparse_softmax_cross_entropy_backward_f32(
    const float* __restrict__ x, const float* __restrict__ shift,
    const float* __restrict__ log_sum, const long long* __restrict__ labels,
    const float* __restrict__ g, float* __restrict__ dx, long long rows, long long classes) {
    sparse_backward<float>(x, shift, log_sum, labels, g, dx, rows, classes);
}

extern "C" __global__ void softmax_cross_entropy_f32(
    const float* __restrict__ x, const float* __restrict__ t, float* __restrict__ loss,
    float* __restrict__ shift, float* __restrict__ log_sum, float* __restrict__ t_sum,
    long long rows, long long classes) {
    dense_forward<float>(x, t, loss, shift, log_sum, t_sum, rows, classes);
}

extern "C" __global__ void softmax_cross_entropy_backward_f32(
    const float* __restrict__ x, const float* __restrict__ shift,
    const float* __restrict__ log_sum, const float* __restrict__ t,
    const float* __restrict__ t_sum, const float* __restrict__ g, float* __restrict__ dx,
    long long rows, long long classes) {
    dense_backward<float>(x, shift, log_sum, t, t_sum, g, dx, rows, classes);
}

extern "C" __global__ void sparse_softmax_cross_entropy_f64(
    const double* __restrict__ x, const long long* __restrict__ labels, double* __restrict__ loss,
    double* __restrict__ shift, double* __restrict__ log_sum, long long rows, long long classes) {
    sparse_forward<double>(x, labels, loss, shift, log_sum, rows, classes);
}

extern "C" __global__ void sparse_softmax_cross_entropy_backward_f64(
    const double* __restrict__ x, const double* __restrict__ shift,
    const double* __restrict__ log_sum, const long long* __restrict__ labels,
    const double* __restrict__ g, double* __restrict__ dx, long long rows, long long classes) {
    sparse_backward<double>(x, shift, log_sum, labels, g, dx, rows, classes);
}

extern "C" __global__ void softmax_cross_entropy_f64(
    const double* __restrict__ x, const double* __restrict__ t, double* __restrict__ loss,
    double* __restrict__ shift, double* __restrict__ log_sum, double* __restrict__ t_sum,
    long long rows, long long classes) {
    dense_forward<double>(x, t, loss, shift, log_sum, t_sum, rows, classes);
}

extern "C" __global__ void softmax_cross_entropy_backward_f64(
    const double* __restrict__ x, const double* __restrict__ shift,
    const double* __restrict__ log_sum, const double* __restrict__ t,
    const double* __restrict__ t_sum, const double* __restrict__ g, double* __restrict__ dx,
    long long rows, long long classes) {
    dense_backward<double>(x, shift, log_sum, t, t_sum, g, dx, rows, classes);
}
