// The gate math of one time step of an LSTM, a GRU or a simple RNN, forward and backward: the
// GPU side of Backend.lstm_step_forward etc. The contracts (what each argument holds on entry
// and exit, and the formulas) are on those methods in minigrad/backends/base.py; in short:
//
// - rows are (N, U) or (N, G*U) C-contiguous arrays, the G gates side by side; mask is (N,) bool,
//   and a row where it is false skips the step (state carried over, gradient passed through);
// - forward overwrites the gates' pre-activations with the activations backward needs, and
//   backward overwrites those with the gradients of the pre-activations;
// - dh is updated in place, from the gradient reaching h_t to that of h_{t-1} (less the
//   recurrent matrix product, which the caller adds).
//
// One thread per (row n, unit j): it reads and writes element j of each gate of row n and
// nothing else, so the in-place updates never race.
//
// sigmoid(x) = (1 + tanh(x / 2)) / 2 in every dtype: it cannot overflow. (The CPU kernels use a
// rational tanh for float32 and 1 / (1 + exp(-x)) for float64: results agree to rounding.)

__device__ inline float tanh_of(float x) { return tanhf(x); }
__device__ inline double tanh_of(double x) { return tanh(x); }

template <typename T>
__device__ inline T sigmoid_of(T x) {
    return T(0.5) * tanh_of(T(0.5) * x) + T(0.5);
}

// --- LSTM: gates i, f, g (the cell candidate), o -------------------------------------------

template <typename T>
__device__ void lstm_step_forward(T* __restrict__ gates, const T* __restrict__ hu,
                                  const T* __restrict__ h_prev, const T* __restrict__ c_prev,
                                  const bool* __restrict__ mask, T* __restrict__ h,
                                  T* __restrict__ c, long long n_rows, long long units) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_rows * units) {
        return;
    }
    long long n = k / units, j = k - n * units;
    if (!mask[n]) {
        h[k] = h_prev[k];
        c[k] = c_prev[k];
        return;
    }
    T* a = gates + n * 4 * units;
    const T* u = hu + n * 4 * units;
    T i = sigmoid_of(a[j] + u[j]);
    T f = sigmoid_of(a[units + j] + u[units + j]);
    T g = tanh_of(a[2 * units + j] + u[2 * units + j]);
    T o = sigmoid_of(a[3 * units + j] + u[3 * units + j]);
    a[j] = i;
    a[units + j] = f;
    a[2 * units + j] = g;
    a[3 * units + j] = o;
    T c_new = f * c_prev[k] + i * g;
    c[k] = c_new;
    h[k] = o * tanh_of(c_new);
}

template <typename T>
__device__ void lstm_step_backward(T* __restrict__ gates, const T* __restrict__ c,
                                   const T* __restrict__ c_prev, const T* __restrict__ d_out,
                                   T* __restrict__ dh, T* __restrict__ dc,
                                   const bool* __restrict__ mask, long long n_rows,
                                   long long units) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_rows * units) {
        return;
    }
    long long n = k / units, j = k - n * units;
    T* a = gates + n * 4 * units;
    if (!mask[n]) {
        dh[k] += d_out[k];
        a[j] = a[units + j] = a[2 * units + j] = a[3 * units + j] = T(0);
        return;
    }
    T i = a[j], f = a[units + j], g = a[2 * units + j], o = a[3 * units + j];
    T one = T(1);
    T tanh_c = tanh_of(c[k]);
    T dh_total = dh[k] + d_out[k];
    T dc_total = dc[k] + dh_total * o * (one - tanh_c * tanh_c);
    a[j] = dc_total * g * i * (one - i);
    a[units + j] = dc_total * c_prev[k] * f * (one - f);
    a[2 * units + j] = dc_total * i * (one - g * g);
    a[3 * units + j] = dh_total * tanh_c * o * (one - o);
    dc[k] = dc_total * f;
    dh[k] = T(0);
}

// --- GRU (reset_after): gates z (update), r (reset), hh (candidate) ---------------------------

template <typename T>
__device__ void gru_step_forward(T* __restrict__ gates, const T* __restrict__ hu,
                                 const T* __restrict__ recurrent_bias,
                                 const T* __restrict__ h_prev, const bool* __restrict__ mask,
                                 T* __restrict__ rh, T* __restrict__ h, long long n_rows,
                                 long long units) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_rows * units) {
        return;
    }
    long long n = k / units, j = k - n * units;
    if (!mask[n]) {
        h[k] = h_prev[k];
        rh[k] = T(0);
        return;
    }
    T* a = gates + n * 3 * units;
    const T* u = hu + n * 3 * units;
    const T* b = recurrent_bias;
    T z = sigmoid_of(a[j] + u[j] + b[j]);
    T r = sigmoid_of(a[units + j] + u[units + j] + b[units + j]);
    T u_h = u[2 * units + j] + b[2 * units + j];
    T hh = tanh_of(a[2 * units + j] + r * u_h);
    h[k] = z * h_prev[k] + (T(1) - z) * hh;
    rh[k] = u_h;
    a[j] = z;
    a[units + j] = r;
    a[2 * units + j] = hh;
}

template <typename T>
__device__ void gru_step_backward(T* __restrict__ gates, const T* __restrict__ rh,
                                  const T* __restrict__ h_prev, const T* __restrict__ d_out,
                                  T* __restrict__ dh, const bool* __restrict__ mask,
                                  T* __restrict__ d_recurrent, long long n_rows,
                                  long long units) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_rows * units) {
        return;
    }
    long long n = k / units, j = k - n * units;
    T* a = gates + n * 3 * units;
    T* d_u = d_recurrent + n * 3 * units;
    if (!mask[n]) {
        dh[k] += d_out[k];
        a[j] = a[units + j] = a[2 * units + j] = T(0);
        d_u[j] = d_u[units + j] = d_u[2 * units + j] = T(0);
        return;
    }
    T z = a[j], r = a[units + j], hh = a[2 * units + j];
    T one = T(1);
    T dh_total = dh[k] + d_out[k];
    T d_z = dh_total * (h_prev[k] - hh) * z * (one - z);
    T d_a = dh_total * (one - z) * (one - hh * hh);
    T d_r = d_a * rh[k] * r * (one - r);
    a[j] = d_z;
    a[units + j] = d_r;
    a[2 * units + j] = d_a;
    d_u[j] = d_z;
    d_u[units + j] = d_r;
    d_u[2 * units + j] = d_a * r;
    dh[k] = dh_total * z;
}

// --- GRU (reset_after=False): hh = tanh(x_h + (r * h_prev) @ U_h); two kernels each way ------
// The caller runs the product rh @ U_h (forward) and d_a @ U_h^T (backward) between them.

template <typename T>
__device__ void gru_reset_before_gates_forward(T* __restrict__ gates, const T* __restrict__ hu,
                                               const T* __restrict__ h_prev,
                                               const bool* __restrict__ mask,
                                               T* __restrict__ rh, long long n_rows,
                                               long long units) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_rows * units) {
        return;
    }
    long long n = k / units, j = k - n * units;
    if (!mask[n]) {
        rh[k] = T(0);
        return;
    }
    T* a = gates + n * 3 * units;
    const T* u = hu + n * 2 * units;
    T z = sigmoid_of(a[j] + u[j]);
    T r = sigmoid_of(a[units + j] + u[units + j]);
    a[j] = z;
    a[units + j] = r;
    rh[k] = r * h_prev[k];
}

template <typename T>
__device__ void gru_reset_before_candidate_forward(T* __restrict__ gates,
                                                   const T* __restrict__ hu,
                                                   const T* __restrict__ h_prev,
                                                   const bool* __restrict__ mask,
                                                   T* __restrict__ h, long long n_rows,
                                                   long long units) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_rows * units) {
        return;
    }
    long long n = k / units, j = k - n * units;
    if (!mask[n]) {
        h[k] = h_prev[k];
        return;
    }
    T* a = gates + n * 3 * units;
    T z = a[j];
    T hh = tanh_of(a[2 * units + j] + hu[k]);
    a[2 * units + j] = hh;
    h[k] = z * h_prev[k] + (T(1) - z) * hh;
}

template <typename T>
__device__ void gru_reset_before_candidate_backward(T* __restrict__ gates,
                                                    const T* __restrict__ h_prev,
                                                    const T* __restrict__ d_out,
                                                    T* __restrict__ dh,
                                                    const bool* __restrict__ mask,
                                                    long long n_rows, long long units) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_rows * units) {
        return;
    }
    long long n = k / units, j = k - n * units;
    T* a = gates + n * 3 * units;
    if (!mask[n]) {
        dh[k] += d_out[k];
        a[j] = a[units + j] = a[2 * units + j] = T(0);
        return;
    }
    T z = a[j], hh = a[2 * units + j];
    T one = T(1);
    T dh_total = dh[k] + d_out[k];
    a[j] = dh_total * (h_prev[k] - hh) * z * (one - z);
    a[2 * units + j] = dh_total * (one - z) * (one - hh * hh);
    dh[k] = dh_total * z;
}

template <typename T>
__device__ void gru_reset_before_gates_backward(T* __restrict__ gates,
                                                const T* __restrict__ d_rh,
                                                const T* __restrict__ h_prev,
                                                T* __restrict__ dh,
                                                const bool* __restrict__ mask, long long n_rows,
                                                long long units) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_rows * units || !mask[k / units]) {
        return;
    }
    long long n = k / units, j = k - n * units;
    T* a = gates + n * 3 * units;
    T r = a[units + j];
    dh[k] += d_rh[k] * r;
    a[units + j] = d_rh[k] * h_prev[k] * r * (T(1) - r);
}

// --- simple RNN: h = tanh(a) or max(a, 0), a = x @ kernel + bias + h_prev @ recurrent_kernel ---

template <typename T>
__device__ void rnn_step_forward(const T* __restrict__ gates, const T* __restrict__ hu,
                                 const T* __restrict__ h_prev, const bool* __restrict__ mask,
                                 int relu, T* __restrict__ h, long long n_rows,
                                 long long units) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_rows * units) {
        return;
    }
    if (!mask[k / units]) {
        h[k] = h_prev[k];
        return;
    }
    T a = gates[k] + hu[k];
    h[k] = relu ? (T(0) > a ? T(0) : a) : tanh_of(a);  // max(a, 0) as Python's max: NaN stays
}

template <typename T>
__device__ void rnn_step_backward(const T* __restrict__ h, const T* __restrict__ d_out,
                                  T* __restrict__ dh, const bool* __restrict__ mask, int relu,
                                  T* __restrict__ d_gates, long long n_rows, long long units) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_rows * units) {
        return;
    }
    if (!mask[k / units]) {
        dh[k] += d_out[k];
        d_gates[k] = T(0);
        return;
    }
    T dh_total = dh[k] + d_out[k];
    d_gates[k] = relu ? (h[k] > T(0) ? dh_total : T(0)) : dh_total * (T(1) - h[k] * h[k]);
    dh[k] = T(0);
}

// The entry points, one per dtype (CuPy's RawModule looks them up by these names).
extern "C" __global__ void lstm_step_forward_f32(float* __restrict__ gates,
                                                 const float* __restrict__ hu,
                                                 const float* __restrict__ h_prev,
                                                 const float* __restrict__ c_prev,
                                                 const bool* __restrict__ mask,
                                                 float* __restrict__ h, float* __restrict__ c,
                                                 long long n_rows, long long units) {
    lstm_step_forward<float>(gates, hu, h_prev, c_prev, mask, h, c, n_rows, units);
}

extern "C" __global__ void lstm_step_forward_f64(double* __restrict__ gates,
                                                 const double* __restrict__ hu,
                                                 const double* __restrict__ h_prev,
                                                 const double* __restrict__ c_prev,
                                                 const bool* __restrict__ mask,
                                                 double* __restrict__ h, double* __restrict__ c,
                                                 long long n_rows, long long units) {
    lstm_step_forward<double>(gates, hu, h_prev, c_prev, mask, h, c, n_rows, units);
}

extern "C" __global__ void lstm_step_backward_f32(float* __restrict__ gates,
                                                  const float* __restrict__ c,
                                                  const float* __restrict__ c_prev,
                                                  const float* __restrict__ d_out,
                                                  float* __restrict__ dh, float* __restrict__ dc,
                                                  const bool* __restrict__ mask,
                                                  long long n_rows, long long units) {
    lstm_step_backward<float>(gates, c, c_prev, d_out, dh, dc, mask, n_rows, units);
}

extern "C" __global__ void lstm_step_backward_f64(double* __restrict__ gates,
                                                  const double* __restrict__ c,
                                                  const double* __restrict__ c_prev,
                                                  const double* __restrict__ d_out,
                                                  double* __restrict__ dh,
                                                  double* __restrict__ dc,
                                                  const bool* __restrict__ mask,
                                                  long long n_rows, long long units) {
    lstm_step_backward<double>(gates, c, c_prev, d_out, dh, dc, mask, n_rows, units);
}

extern "C" __global__ void gru_step_forward_f32(float* __restrict__ gates,
                                                const float* __restrict__ hu,
                                                const float* __restrict__ recurrent_bias,
                                                const float* __restrict__ h_prev,
                                                const bool* __restrict__ mask,
                                                float* __restrict__ rh, float* __restrict__ h,
                                                long long n_rows, long long units) {
    gru_step_forward<float>(gates, hu, recurrent_bias, h_prev, mask, rh, h, n_rows, units);
}

extern "C" __global__ void gru_step_forward_f64(double* __restrict__ gates,
                                                const double* __restrict__ hu,
                                                const double* __restrict__ recurrent_bias,
                                                const double* __restrict__ h_prev,
                                                const bool* __restrict__ mask,
                                                double* __restrict__ rh, double* __restrict__ h,
                                                long long n_rows, long long units) {
    gru_step_forward<double>(gates, hu, recurrent_bias, h_prev, mask, rh, h, n_rows, units);
}

extern "C" __global__ void gru_step_backward_f32(float* __restrict__ gates,
                                                 const float* __restrict__ rh,
                                                 const float* __restrict__ h_prev,
                                                 const float* __restrict__ d_out,
                                                 float* __restrict__ dh,
                                                 const bool* __restrict__ mask,
                                                 float* __restrict__ d_recurrent,
                                                 long long n_rows, long long units) {
    gru_step_backward<float>(gates, rh, h_prev, d_out, dh, mask, d_recurrent, n_rows, units);
}

extern "C" __global__ void gru_step_backward_f64(double* __restrict__ gates,
                                                 const double* __restrict__ rh,
                                                 const double* __restrict__ h_prev,
                                                 const double* __restrict__ d_out,
                                                 double* __restrict__ dh,
                                                 const bool* __restrict__ mask,
                                                 double* __restrict__ d_recurrent,
                                                 long long n_rows, long long units) {
    gru_step_backward<double>(gates, rh, h_prev, d_out, dh, mask, d_recurrent, n_rows, units);
}

extern "C" __global__ void gru_reset_before_gates_forward_f32(
    float* __restrict__ gates, const float* __restrict__ hu, const float* __restrict__ h_prev,
    const bool* __restrict__ mask, float* __restrict__ rh, long long n_rows, long long units) {
    gru_reset_before_gates_forward<float>(gates, hu, h_prev, mask, rh, n_rows, units);
}

extern "C" __global__ void gru_reset_before_gates_forward_f64(
    double* __restrict__ gates, const double* __restrict__ hu, const double* __restrict__ h_prev,
    const bool* __restrict__ mask, double* __restrict__ rh, long long n_rows, long long units) {
    gru_reset_before_gates_forward<double>(gates, hu, h_prev, mask, rh, n_rows, units);
}

extern "C" __global__ void gru_reset_before_candidate_forward_f32(
    float* __restrict__ gates, const float* __restrict__ hu, const float* __restrict__ h_prev,
    const bool* __restrict__ mask, float* __restrict__ h, long long n_rows, long long units) {
    gru_reset_before_candidate_forward<float>(gates, hu, h_prev, mask, h, n_rows, units);
}

extern "C" __global__ void gru_reset_before_candidate_forward_f64(
    double* __restrict__ gates, const double* __restrict__ hu, const double* __restrict__ h_prev,
    const bool* __restrict__ mask, double* __restrict__ h, long long n_rows, long long units) {
    gru_reset_before_candidate_forward<double>(gates, hu, h_prev, mask, h, n_rows, units);
}

extern "C" __global__ void gru_reset_before_candidate_backward_f32(
    float* __restrict__ gates, const float* __restrict__ h_prev, const float* __restrict__ d_out,
    float* __restrict__ dh, const bool* __restrict__ mask, long long n_rows, long long units) {
    gru_reset_before_candidate_backward<float>(gates, h_prev, d_out, dh, mask, n_rows, units);
}

extern "C" __global__ void gru_reset_before_candidate_backward_f64(
    double* __restrict__ gates, const double* __restrict__ h_prev, const double* __restrict__ d_out,
    double* __restrict__ dh, const bool* __restrict__ mask, long long n_rows, long long units) {
    gru_reset_before_candidate_backward<double>(gates, h_prev, d_out, dh, mask, n_rows, units);
}

extern "C" __global__ void gru_reset_before_gates_backward_f32(
    float* __restrict__ gates, const float* __restrict__ d_rh, const float* __restrict__ h_prev,
    float* __restrict__ dh, const bool* __restrict__ mask, long long n_rows, long long units) {
    gru_reset_before_gates_backward<float>(gates, d_rh, h_prev, dh, mask, n_rows, units);
}

extern "C" __global__ void gru_reset_before_gates_backward_f64(
    double* __restrict__ gates, const double* __restrict__ d_rh, const double* __restrict__ h_prev,
    double* __restrict__ dh, const bool* __restrict__ mask, long long n_rows, long long units) {
    gru_reset_before_gates_backward<double>(gates, d_rh, h_prev, dh, mask, n_rows, units);
}

extern "C" __global__ void rnn_step_forward_f32(const float* __restrict__ gates,
                                                const float* __restrict__ hu,
                                                const float* __restrict__ h_prev,
                                                const bool* __restrict__ mask, int relu,
                                                float* __restrict__ h, long long n_rows,
                                                long long units) {
    rnn_step_forward<float>(gates, hu, h_prev, mask, relu, h, n_rows, units);
}

extern "C" __global__ void rnn_step_forward_f64(const double* __restrict__ gates,
                                                const double* __restrict__ hu,
                                                const double* __restrict__ h_prev,
                                                const bool* __restrict__ mask, int relu,
                                                double* __restrict__ h, long long n_rows,
                                                long long units) {
    rnn_step_forward<double>(gates, hu, h_prev, mask, relu, h, n_rows, units);
}

extern "C" __global__ void rnn_step_backward_f32(const float* __restrict__ h,
                                                 const float* __restrict__ d_out,
                                                 float* __restrict__ dh,
                                                 const bool* __restrict__ mask, int relu,
                                                 float* __restrict__ d_gates, long long n_rows,
                                                 long long units) {
    rnn_step_backward<float>(h, d_out, dh, mask, relu, d_gates, n_rows, units);
}

extern "C" __global__ void rnn_step_backward_f64(const double* __restrict__ h,
                                                 const double* __restrict__ d_out,
                                                 double* __restrict__ dh,
                                                 const bool* __restrict__ mask, int relu,
                                                 double* __restrict__ d_gates, long long n_rows,
                                                 long long units) {
    rnn_step_backward<double>(h, d_out, dh, mask, relu, d_gates, n_rows, units);
}
