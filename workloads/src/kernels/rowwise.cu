// Row-broadcast elementwise operations on bf16, each one pass over memory where candle's
// broadcast kernels take several (and compute every element's index through the shape and
// strides): a linear layer's bias, its bias and GELU, FLUX's modulation `x × (1 + scale) +
// shift` and its gated residual `res + gate × y`. Values travel as bf16 pairs (32 bits);
// arithmetic is f32. Compiled at run time with NVRTC, so it includes no CUDA header.
//
// Shapes: x is `rows × cols` (contiguous, cols even); a bias is `cols`; a scale, shift or gate
// is `batches × cols`, row r belonging to batch r / rows_per_batch.

typedef unsigned int u32;

__device__ __forceinline__ float lo(u32 v) { return __uint_as_float(v << 16); }
__device__ __forceinline__ float hi(u32 v) { return __uint_as_float(v & 0xffff0000u); }

__device__ __forceinline__ u32 round_bf16(float f) {
    u32 u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (u >> 16) | 0x40u;  // NaN stays NaN
    }
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
    return u >> 16;
}

__device__ __forceinline__ u32 pack(float a, float b) { return round_bf16(a) | (round_bf16(b) << 16); }

// GELU, tanh approximation (candle's `gelu`, PyTorch's approximate="tanh").
__device__ __forceinline__ float gelu(float x) {
    const float k = 0.7978845608028654f;  // √(2/π)
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

#define FOR_PAIRS                                                      \
    const long stride = (long)gridDim.x * blockDim.x;                  \
    for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < pairs; i += stride)

extern "C" __global__ void add_bias(const u32* x, const u32* bias, u32* y, long pairs, int col_pairs) {
    FOR_PAIRS {
        const u32 v = x[i], b = bias[i % col_pairs];
        y[i] = pack(lo(v) + lo(b), hi(v) + hi(b));
    }
}

extern "C" __global__ void add_bias_gelu(const u32* x, const u32* bias, u32* y, long pairs, int col_pairs) {
    FOR_PAIRS {
        const u32 v = x[i], b = bias[i % col_pairs];
        y[i] = pack(gelu(lo(v) + lo(b)), gelu(hi(v) + hi(b)));
    }
}

extern "C" __global__ void modulate(const u32* x, const u32* scale, const u32* shift, u32* y, long pairs,
                                    int col_pairs, long rows_per_batch) {
    FOR_PAIRS {
        const long row = i / col_pairs;
        const long at = (row / rows_per_batch) * col_pairs + i % col_pairs;
        const u32 v = x[i], s = scale[at], t = shift[at];
        y[i] = pack(lo(v) * (1.0f + lo(s)) + lo(t), hi(v) * (1.0f + hi(s)) + hi(t));
    }
}

extern "C" __global__ void gated_residual(const u32* residual, const u32* gate, const u32* x, u32* y,
                                          long pairs, int col_pairs, long rows_per_batch) {
    FOR_PAIRS {
        const long row = i / col_pairs;
        const long at = (row / rows_per_batch) * col_pairs + i % col_pairs;
        const u32 r = residual[i], g = gate[at], v = x[i];
        y[i] = pack(lo(r) + lo(g) * lo(v), hi(r) + hi(g) * hi(v));
    }
}
