// Compile a CUDA kernel file as host C++, so that its kernels run (serially) on the CPU.
//
// The kernels in minigrad/backends/cuda_kernels/ are written so that this is faithful: every
// thread works on its own outputs (no shared memory, no __syncthreads, no warp intrinsics), and
// the only cross-thread operation is atomicAdd. A launch is then a loop over the blocks and the
// threads of each block; the launcher can run the threads in any order (see emulate_launch), so
// a kernel whose result depends on the order of its threads -- a race on the GPU -- shows up as
// a wrong result in the tests.
#pragma once

#include <math.h>
#include <stdint.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

struct uint3 {
    unsigned int x, y, z;
};

struct dim3 {
    unsigned int x, y, z;
};

// The built-in variables of a CUDA thread, set by the launcher before each call.
static thread_local uint3 threadIdx, blockIdx;
static thread_local dim3 blockDim, gridDim;

// Serial execution: no other thread runs in between, so a plain read-modify-write is atomic.
template <typename T>
T atomicAdd(T* address, T value) {
    T old = *address;
    *address = old + value;
    return old;
}

// Run ``body`` once per thread of a grid x block launch. ``shuffle`` = 0 runs the threads in
// order (block by block, x fastest); any other value runs them in a pseudo-random order drawn
// from that seed (a Fisher-Yates shuffle driven by splitmix64).
template <typename Body>
void emulate_launch(dim3 grid, dim3 block, unsigned long long shuffle, Body body) {
    unsigned long long per_block = (unsigned long long)block.x * block.y * block.z;
    unsigned long long total = per_block * grid.x * grid.y * grid.z;
    unsigned long long* order = new unsigned long long[total ? total : 1];
    for (unsigned long long k = 0; k < total; ++k) {
        order[k] = k;
    }
    unsigned long long state = shuffle;
    for (unsigned long long k = total; shuffle != 0 && k > 1; --k) {
        state += 0x9E3779B97F4A7C15ULL;
        unsigned long long z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        unsigned long long swap = z % k, kept = order[k - 1];
        order[k - 1] = order[swap];
        order[swap] = kept;
    }
    gridDim = grid;
    blockDim = block;
    for (unsigned long long k = 0; k < total; ++k) {
        unsigned long long b = order[k] / per_block, t = order[k] % per_block;
        blockIdx = {(unsigned)(b % grid.x), (unsigned)(b / grid.x % grid.y),
                    (unsigned)(b / grid.x / grid.y)};
        threadIdx = {(unsigned)(t % block.x), (unsigned)(t / block.x % block.y),
                     (unsigned)(t / block.x / block.y)};
        body();
    }
    delete[] order;
}
