// Row scatter-add: target[rows[i], j] += values[i, j], repeated rows added every time.
// The backward of x[index] on the GPU (embedding lookups, label gathers).
// One thread per (i, j) element; atomicAdd makes repeated rows safe.

template <typename T>
__device__ void scatter_add_rows(T* target, const long long* rows, const T* values,
                                 long long n_rows, long long width) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_rows * width) {
        return;
    }
    long long i = k / width;
    long long j = k - i * width;
    atomicAdd(&target[rows[i] * width + j], values[k]);
}

extern "C" __global__ void scatter_add_rows_f32(float* target, const long long* rows,
                                                const float* values, long long n_rows,
                                                long long width) {
    scatter_add_rows<float>(target, rows, values, n_rows, width);
}

extern "C" __global__ void scatter_add_rows_f64(double* target, const long long* rows,
                                                const double* values, long long n_rows,
                                                long long width) {
    scatter_add_rows<double>(target, rows, values, n_rows, width);
}
