// Causal softmax over attention scores, fused: one read of each visible score, one write of
// every probability; the masked future is written as 0 without being read.
//
// Scores are rows of `cols` keys; row r belongs to query (r % queries), at position
// offset + (r % queries), which sees keys 0..=offset + (r % queries). Compiled at run time with
// NVRTC, so it includes no CUDA header: bf16 is handled as its 16 bits.
// One block per row; a pass computes the row's max and sum together (online softmax), a second
// writes exp(x - max) / sum. Accumulation is in f32.

#define NEG_INF (__int_as_float(0xff800000))

__device__ __forceinline__ float from_bf16(unsigned short h) {
    return __uint_as_float(((unsigned int)h) << 16);
}

__device__ __forceinline__ unsigned short to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (unsigned short)((u >> 16) | 0x40u);  // NaN stays NaN
    }
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
    return (unsigned short)(u >> 16);
}

__device__ __forceinline__ float load(const unsigned short* p, long i) { return from_bf16(p[i]); }
__device__ __forceinline__ float load(const float* p, long i) { return p[i]; }
__device__ __forceinline__ void store(unsigned short* p, long i, float v) { p[i] = to_bf16(v); }
__device__ __forceinline__ void store(float* p, long i, float v) { p[i] = v; }

// (max, sum) pairs combined: sum of exp(x - max) over both halves.
__device__ __forceinline__ void combine(float& m, float& s, float m2, float s2) {
    float mx = fmaxf(m, m2);
    float a = (m == NEG_INF) ? 0.0f : s * __expf(m - mx);
    float b = (m2 == NEG_INF) ? 0.0f : s2 * __expf(m2 - mx);
    m = mx;
    s = a + b;
}

template <typename T>
__device__ void causal_softmax(const T* x, T* y, int cols, int queries, int offset) {
    __shared__ float shared_m[32];
    __shared__ float shared_s[32];
    const long row = blockIdx.x;
    const int visible = min(cols, (int)(row % queries) + offset + 1);
    const T* xr = x + row * cols;
    T* yr = y + row * cols;

    float m = NEG_INF;
    float s = 0.0f;
    for (int c = threadIdx.x; c < visible; c += blockDim.x) {
        float v = load(xr, c);
        if (v > m) {
            s = (m == NEG_INF) ? 1.0f : s * __expf(m - v) + 1.0f;
            m = v;
        } else {
            s += __expf(v - m);
        }
    }
    for (int mask = 16; mask > 0; mask >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, mask);
        float s2 = __shfl_xor_sync(0xffffffffu, s, mask);
        combine(m, s, m2, s2);
    }
    const int warp = threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    const int warps = (blockDim.x + 31) / 32;
    if (lane == 0) {
        shared_m[warp] = m;
        shared_s[warp] = s;
    }
    __syncthreads();
    if (warp == 0) {
        m = lane < warps ? shared_m[lane] : NEG_INF;
        s = lane < warps ? shared_s[lane] : 0.0f;
        for (int mask = 16; mask > 0; mask >>= 1) {
            float m2 = __shfl_xor_sync(0xffffffffu, m, mask);
            float s2 = __shfl_xor_sync(0xffffffffu, s, mask);
            combine(m, s, m2, s2);
        }
        if (lane == 0) {
            shared_m[0] = m;
            shared_s[0] = s;
        }
    }
    __syncthreads();
    const float row_max = shared_m[0];
    const float inv_sum = 1.0f / shared_s[0];
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        float p = c < visible ? __expf(load(xr, c) - row_max) * inv_sum : 0.0f;
        store(yr, c, p);
    }
}

extern "C" __global__ void causal_softmax_bf16(
    const unsigned short* x, unsigned short* y, int cols, int queries, int offset) {
    causal_softmax(x, y, cols, queries, offset);
}

extern "C" __global__ void causal_softmax_f32(
    const float* x, float* y, int cols, int queries, int offset) {
    causal_softmax(x, y, cols, queries, offset);
}
