// Fused optimizer updates over many parameters in one launch ("multi-tensor"): the GPU side of
// CUDABackend.sgd_step / adam_step.
//
// The parameters stay separate arrays. The caller passes, for n tensors, tables of their device
// pointers (params[t], grads[t], and the state buffers such as exp_avg[t]) and starts (n + 1,),
// the running total of their sizes: tensor t holds elements starts[t] .. starts[t+1] - 1 of the
// launch. One thread per element over all the tensors finds its tensor by binary search on
// starts, then updates that element of the parameter and its state in place. So a model's
// update is one launch (per dtype and option set), not a few elementwise kernels per parameter.
//
// The arithmetic is the CPU optimizers' (minigrad/optim/sgd.py, adam.py), step by step and in
// the parameter's dtype: each hyperparameter is rounded to that dtype before it is used, as
// NumPy does with a Python float beside a float32 array. (On a GPU the compiler may fuse a
// multiply and an add, so results agree with the CPU's to rounding.)

__device__ inline float sqrt_of(float x) { return sqrtf(x); }
__device__ inline double sqrt_of(double x) { return sqrt(x); }

// The tensor that element k belongs to: the last t with starts[t] <= k. A tensor of size 0 has
// starts[t] == starts[t + 1] and is never chosen (the one after it is).
__device__ inline long long tensor_of(const long long* __restrict__ starts, long long n_tensors,
                                      long long k) {
    long long low = 0, high = n_tensors - 1;
    while (low < high) {
        long long mid = (low + high + 1) / 2;
        if (starts[mid] <= k) {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    return low;
}

// SGD (PyTorch's): g = grad + wd * w; with momentum, b = g at the first step, else
// b = momentum * b + (1 - dampening) * g, and g = g + momentum * b (Nesterov) or g = b;
// then w = w - lr * g. ``buffers`` is not read when momentum is 0.
template <typename T>
__device__ void sgd_step(T* const* __restrict__ params, const T* const* __restrict__ grads,
                         T* const* __restrict__ buffers, const long long* __restrict__ starts,
                         long long n_tensors, double lr, double weight_decay, double momentum,
                         double dampening_complement, int nesterov, int first_step) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= starts[n_tensors]) {
        return;
    }
    long long t = tensor_of(starts, n_tensors, k), i = k - starts[t];
    T w = params[t][i], g = grads[t][i];
    if (weight_decay != 0.0) {
        g = g + T(weight_decay) * w;
    }
    if (momentum != 0.0) {
        T b = g;
        if (!first_step) {
            b = buffers[t][i] * T(momentum);
            b = b + T(dampening_complement) * g;
        }
        buffers[t][i] = b;
        g = nesterov ? g + T(momentum) * b : b;
    }
    params[t][i] = w - T(lr) * g;
}

// Adam / AdamW (PyTorch's): w = w * decay_factor (AdamW: 1 - lr * wd), or g = grad + wd * w
// (Adam's L2); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g; v_max = max(v_max, v) and v =
// v_max (amsgrad); w = w - step_size * m / (sqrt(v) / bias_correction2_sqrt + eps), where the
// host computed step_size = lr / (1 - b1^t) and bias_correction2_sqrt = sqrt(1 - b2^t).
// ``max_exp_avg_sqs`` is not read without amsgrad.
template <typename T>
__device__ void adam_step(T* const* __restrict__ params, const T* const* __restrict__ grads,
                          T* const* __restrict__ exp_avgs, T* const* __restrict__ exp_avg_sqs,
                          T* const* __restrict__ max_exp_avg_sqs,
                          const long long* __restrict__ starts, long long n_tensors,
                          double beta1, double beta2, double one_minus_beta1,
                          double one_minus_beta2, double eps, double weight_decay,
                          double decay_factor, int decoupled, int amsgrad, double step_size,
                          double bias_correction2_sqrt) {
    long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= starts[n_tensors]) {
        return;
    }
    long long t = tensor_of(starts, n_tensors, k), i = k - starts[t];
    T w = params[t][i], g = grads[t][i];
    if (weight_decay != 0.0) {
        if (decoupled) {
            w = w * T(decay_factor);
        } else {
            g = g + T(weight_decay) * w;
        }
    }
    T m = exp_avgs[t][i] * T(beta1);
    m = m + T(one_minus_beta1) * g;
    T v = exp_avg_sqs[t][i] * T(beta2);
    v = v + T(one_minus_beta2) * g * g;
    exp_avgs[t][i] = m;
    exp_avg_sqs[t][i] = v;
    if (amsgrad) {
        T v_max = max_exp_avg_sqs[t][i];
        v = (v_max > v || v_max != v_max) ? v_max : v;  // NumPy's maximum: a NaN wins
        max_exp_avg_sqs[t][i] = v;
    }
    T denom = sqrt_of(v) / T(bias_correction2_sqrt) + T(eps);
    params[t][i] = w - T(step_size) * (m / denom);
}

// The entry points, one per dtype (CuPy's RawModule looks them up by these names).
extern "C" __global__ void sgd_step_f32(float* const* __restrict__ params,
                                        const float* const* __restrict__ grads,
                                        float* const* __restrict__ buffers,
                                        const long long* __restrict__ starts,
                                        long long n_tensors, double lr, double weight_decay,
                                        double momentum, double dampening_complement,
                                        int nesterov, int first_step) {
    sgd_step<float>(params, grads, buffers, starts, n_tensors, lr, weight_decay, momentum,
                    dampening_complement, nesterov, first_step);
}

extern "C" __global__ void sgd_step_f64(double* const* __restrict__ params,
                                        const double* const* __restrict__ grads,
                                        double* const* __restrict__ buffers,
                                        const long long* __restrict__ starts,
                                        long long n_tensors, double lr, double weight_decay,
                                        double momentum, double dampening_complement,
                                        int nesterov, int first_step) {
    sgd_step<double>(params, grads, buffers, starts, n_tensors, lr, weight_decay, momentum,
                     dampening_complement, nesterov, first_step);
}

extern "C" __global__ void adam_step_f32(
    float* const* __restrict__ params, const float* const* __restrict__ grads,
    float* const* __restrict__ exp_avgs, float* const* __restrict__ exp_avg_sqs,
    float* const* __restrict__ max_exp_avg_sqs, const long long* __restrict__ starts,
    long long n_tensors, double beta1, double beta2, double one_minus_beta1,
    double one_minus_beta2, double eps, double weight_decay, double decay_factor, int decoupled,
    int amsgrad, double step_size, double bias_correction2_sqrt) {
    adam_step<float>(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, starts, n_tensors,
                     beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay,
                     decay_factor, decoupled, amsgrad, step_size, bias_correction2_sqrt);
}

extern "C" __global__ void adam_step_f64(
    double* const* __restrict__ params, const double* const* __restrict__ grads,
    double* const* __restrict__ exp_avgs, double* const* __restrict__ exp_avg_sqs,
    double* const* __restrict__ max_exp_avg_sqs, const long long* __restrict__ starts,
    long long n_tensors, double beta1, double beta2, double one_minus_beta1,
    double one_minus_beta2, double eps, double weight_decay, double decay_factor, int decoupled,
    int amsgrad, double step_size, double bias_correction2_sqrt) {
    adam_step<double>(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, starts, n_tensors,
                      beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay,
                      decay_factor, decoupled, amsgrad, step_size, bias_correction2_sqrt);
}
