// Memory-read bandwidth of a GPU: every thread sums 16-byte loads over a grid-stride loop, one
// atomic add per warp. Compiled at run time with NVRTC (no CUDA headers).

struct alignas(16) f32x4 {
    float x, y, z, w;
};

extern "C" __global__ void read_sum(const f32x4* __restrict__ x, long n, float* out) {
    float acc = 0.0f;
    const long stride = (long)gridDim.x * blockDim.x;
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const f32x4 v = x[i];
        acc += (v.x + v.y) + (v.z + v.w);
    }
    for (int mask = 16; mask > 0; mask >>= 1) {
        acc += __shfl_xor_sync(0xffffffffu, acc, mask);
    }
    if ((threadIdx.x & 31) == 0) {
        atomicAdd(out, acc);
    }
}
