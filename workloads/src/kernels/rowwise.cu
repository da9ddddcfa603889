// Row-broadcast elementwise operations on bf16, each one pass over memory where candle's
// broadcast kernels take several (and compute every element's index through the shape and
// strides): a linear layer's bias, its bias and GELU, FLUX's modulation `x × (1 + scale) +
// shift` and its gated residual `res + gate × y`. Values travel as bf16 pairs (32 bits);
// arithmetic is f32. Compiled at run time with NVRTC after bf16.cuh, with no CUDA header.
//
// Shapes: x is `rows × cols` (contiguous, cols a multiple of 8, every operand starting on a
// 16-byte boundary); a bias is `cols`; a scale, shift or gate is `batches × cols`, row r
// belonging to batch r / rows_per_batch.

// GELU, tanh approximation (candle's `gelu`, PyTorch's approximate="tanh").
__device__ __forceinline__ float gelu(float x) {
    const float k = 0.7978845608028654f;  // √(2/π)
    return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}

// Each thread owns one 16-byte chunk (8 columns) of a row and walks rows blockIdx.y,
// blockIdx.y + gridDim.y, …: its bias (or its batch's scale and shift) stays in registers, and
// no index needs a 64-bit division. Rows are `chunks` chunks wide (cols / 8).

#define FOR_ROWS                                                    \
    const int c = blockIdx.x * blockDim.x + threadIdx.x;            \
    if (c >= chunks) {                                              \
        return;                                                     \
    }                                                               \
    for (int r = blockIdx.y; r < rows; r += gridDim.y)

// f(a, b) on each of the 8 bf16 pairs' halves of two chunks.
#define MAP2(out, a, b, F)                                                        \
    out.x = pack(F(lo(a.x), lo(b.x)), F(hi(a.x), hi(b.x)));                       \
    out.y = pack(F(lo(a.y), lo(b.y)), F(hi(a.y), hi(b.y)));                       \
    out.z = pack(F(lo(a.z), lo(b.z)), F(hi(a.z), hi(b.z)));                       \
    out.w = pack(F(lo(a.w), lo(b.w)), F(hi(a.w), hi(b.w)))
#define MAP3(out, a, b, c, F)                                                                \
    out.x = pack(F(lo(a.x), lo(b.x), lo(c.x)), F(hi(a.x), hi(b.x), hi(c.x)));                \
    out.y = pack(F(lo(a.y), lo(b.y), lo(c.y)), F(hi(a.y), hi(b.y), hi(c.y)));                \
    out.z = pack(F(lo(a.z), lo(b.z), lo(c.z)), F(hi(a.z), hi(b.z), hi(c.z)));                \
    out.w = pack(F(lo(a.w), lo(b.w), lo(c.w)), F(hi(a.w), hi(b.w), hi(c.w)))

// The operations, as types the kernel templates take.
struct Plus {
    __device__ static float f(float v, float b) { return v + b; }
};
struct PlusGelu {
    __device__ static float f(float v, float b) { return gelu(v + b); }
};
struct Modulated {
    __device__ static float f(float v, float s, float t) { return v * (1.0f + s) + t; }
};
struct Gated {
    __device__ static float f(float r, float g, float v) { return r + g * v; }
};

// y = Op(x, bias), the bias one row of chunks.
template <typename Op>
__device__ __forceinline__ void bias_rows(const u32x4* __restrict__ x, const u32x4* __restrict__ bias,
                                          u32x4* __restrict__ y, int rows, int chunks) {
    FOR_ROWS {
        const u32x4 b = bias[c];
        const long i = (long)r * chunks + c;
        const u32x4 v = x[i];
        u32x4 out;
        MAP2(out, v, b, Op::f);
        y[i] = out;
    }
}

// y = Op(first, second, third): `first` a row of its own, `second` its batch's row, `third`
// its own row or (THIRD_PER_ROW false) its batch's.
template <typename Op, bool THIRD_PER_ROW>
__device__ __forceinline__ void per_batch_rows(const u32x4* __restrict__ first,
                                               const u32x4* __restrict__ second,
                                               const u32x4* __restrict__ third, u32x4* __restrict__ y,
                                               int rows, int chunks, int rows_per_batch) {
    FOR_ROWS {
        const int at = (r / rows_per_batch) * chunks + c;
        const long i = (long)r * chunks + c;
        const u32x4 u = first[i], v = second[at], w = third[THIRD_PER_ROW ? i : at];
        u32x4 out;
        MAP3(out, u, v, w, Op::f);
        y[i] = out;
    }
}

extern "C" __global__ void add_bias(const u32x4* x, const u32x4* bias, u32x4* y, int rows, int chunks) {
    bias_rows<Plus>(x, bias, y, rows, chunks);
}

extern "C" __global__ void add_bias_gelu(const u32x4* x, const u32x4* bias, u32x4* y, int rows,
                                         int chunks) {
    bias_rows<PlusGelu>(x, bias, y, rows, chunks);
}

// x × (1 + scale) + shift.
extern "C" __global__ void modulate(const u32x4* x, const u32x4* scale, const u32x4* shift, u32x4* y,
                                    int rows, int chunks, int rows_per_batch) {
    per_batch_rows<Modulated, false>(x, scale, shift, y, rows, chunks, rows_per_batch);
}

// residual + gate × x.
extern "C" __global__ void gated_residual(const u32x4* residual, const u32x4* gate, const u32x4* x,
                                          u32x4* y, int rows, int chunks, int rows_per_batch) {
    per_batch_rows<Gated, true>(residual, gate, x, y, rows, chunks, rows_per_batch);
}
