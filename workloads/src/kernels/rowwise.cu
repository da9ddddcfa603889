// Row-broadcast elementwise operations on bf16, each one pass over memory where candle's
// broadcast kernels take several (and compute every element's index through the shape and
// strides): a linear layer's bias, its bias and GELU, FLUX's modulation `x × (1 + scale) +
// shift` (alone, or after a layer norm of the row) and its gated residual `res + gate × y`. Values travel as bf16 pairs (32 bits);
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

// Layer norm of each row (no learned scale or bias: FLUX's), then x × (1 + scale) + shift with
// its batch's scale and shift. One block a row: the row stays in registers (NORM_CHUNKS chunks a
// thread, so rows of up to NORM_THREADS × NORM_CHUNKS × 8 columns) between the two sums, the
// mean and then the variance about it, both in f32 as candle's layer_norm.
#define NORM_THREADS 128
#define NORM_CHUNKS 4

// The sum of every thread's `v` in the block (NORM_THREADS threads), handed to all of them.
__device__ __forceinline__ float block_sum(float v, float* partial) {
#pragma unroll
    for (int mask = 16; mask >= 1; mask >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, mask);
    }
    if ((threadIdx.x & 31) == 0) {
        partial[threadIdx.x / 32] = v;
    }
    __syncthreads();
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < NORM_THREADS / 32; ++w) {
        total += partial[w];
    }
    __syncthreads();  // `partial` is reused by the next sum
    return total;
}

extern "C" __global__ void norm_modulate(const u32x4* x, const u32x4* scale, const u32x4* shift,
                                         u32x4* y, int rows, int chunks, int rows_per_batch,
                                         float eps) {
    __shared__ float partial[NORM_THREADS / 32];
    const int r = blockIdx.x;
    const long row = (long)r * chunks;
    float v[NORM_CHUNKS][8];
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < NORM_CHUNKS; ++k) {
        const int c = threadIdx.x + k * NORM_THREADS;
        if (c < chunks) {
            const u32x4 u = x[row + c];
            const u32 pairs[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
            for (int p = 0; p < 4; ++p) {
                v[k][2 * p] = lo(pairs[p]);
                v[k][2 * p + 1] = hi(pairs[p]);
                sum += v[k][2 * p] + v[k][2 * p + 1];
            }
        }
    }
    const float count = (float)chunks * 8.0f;
    const float mean = block_sum(sum, partial) / count;
    float squares = 0.0f;
#pragma unroll
    for (int k = 0; k < NORM_CHUNKS; ++k) {
        if (threadIdx.x + k * NORM_THREADS < chunks) {
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                const float d = v[k][j] - mean;
                squares += d * d;
            }
        }
    }
    const float inv_std = rsqrtf(block_sum(squares, partial) / count + eps);
    const long at = (long)(r / rows_per_batch) * chunks;
#pragma unroll
    for (int k = 0; k < NORM_CHUNKS; ++k) {
        const int c = threadIdx.x + k * NORM_THREADS;
        if (c < chunks) {
            const u32x4 s = scale[at + c], t = shift[at + c];
            const u32 sp[4] = {s.x, s.y, s.z, s.w}, tp[4] = {t.x, t.y, t.z, t.w};
            u32 out[4];
#pragma unroll
            for (int p = 0; p < 4; ++p) {
                const float a = (v[k][2 * p] - mean) * inv_std * (1.0f + lo(sp[p])) + lo(tp[p]);
                const float b = (v[k][2 * p + 1] - mean) * inv_std * (1.0f + hi(sp[p])) + hi(tp[p]);
                out[p] = pack(a, b);
            }
            y[row + c] = u32x4{out[0], out[1], out[2], out[3]};
        }
    }
}
