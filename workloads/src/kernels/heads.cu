// Attention heads out of a projection, in one pass each: a (batch, tokens, heads, 128) bf16 view
// with any batch, token and head strides (the projection's output, sliced) is written contiguous,
// either as it is (`gather`) or RMS-normalized with a learned scale and rotated by the rotary
// embedding (`norm_rope`). candle does the same in three or four passes, the first a strided
// copy that computes every element's index through the shape.
//
// One warp a head row: each lane holds 4 of the 128 values (two rotary pairs), read and written
// as 8 bytes. Rotary cosines and sines have one row per (token, head), 64 columns (pairs
// (2i, 2i+1) rotate by angle i, candle's `rope_i`). Compiled at run time with NVRTC after
// bf16.cuh, with no CUDA header.

#define HEAD_DIM 128

struct alignas(8) u32x2 {
    u32 x, y;
};

// Where head row `row` (over batch × tokens × heads, heads fastest) starts in the view, and its
// (token, head) index for the rotary tables.
__device__ __forceinline__ long source(long row, int tokens, int heads, long sb, long sl, long sh,
                                       long* rotary_row) {
    const long h = row % heads;
    const long l = (row / heads) % tokens;
    const long b = row / ((long)heads * tokens);
    *rotary_row = l * heads + h;
    return b * sb + l * sl + h * sh;
}

extern "C" __global__ void gather(const unsigned short* x, unsigned short* out, long rows, int tokens,
                                  int heads, long sb, long sl, long sh) {
    const long row = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= rows) {
        return;
    }
    const int lane = threadIdx.x & 31;
    long unused;
    const long at = source(row, tokens, heads, sb, sl, sh, &unused);
    *(u32x2*)(out + row * HEAD_DIM + lane * 4) = *(const u32x2*)(x + at + lane * 4);
}

extern "C" __global__ void norm_rope(const unsigned short* x, const unsigned short* scale,
                                     const unsigned short* cos, const unsigned short* sin,
                                     unsigned short* out, long rows, int tokens, int heads, long sb,
                                     long sl, long sh, float eps) {
    const long row = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= rows) {
        return;
    }
    const int lane = threadIdx.x & 31;
    long rotary_row;
    const long at = source(row, tokens, heads, sb, sl, sh, &rotary_row);
    const u32x2 v = *(const u32x2*)(x + at + lane * 4);
    float e0 = lo(v.x), e1 = hi(v.x), e2 = lo(v.y), e3 = hi(v.y);

    float squares = e0 * e0 + e1 * e1 + e2 * e2 + e3 * e3;
#pragma unroll
    for (int mask = 16; mask >= 1; mask >>= 1) {
        squares += __shfl_xor_sync(0xffffffffu, squares, mask);
    }
    const float r = rsqrtf(squares / HEAD_DIM + eps);
    const u32x2 s = *(const u32x2*)(scale + lane * 4);
    e0 *= r * lo(s.x);
    e1 *= r * hi(s.x);
    e2 *= r * lo(s.y);
    e3 *= r * hi(s.y);

    // Pairs 2·lane and 2·lane + 1 of this (token, head).
    const u32 c = *(const u32*)(cos + rotary_row * (HEAD_DIM / 2) + lane * 2);
    const u32 n = *(const u32*)(sin + rotary_row * (HEAD_DIM / 2) + lane * 2);
    const float c0 = lo(c), c1 = hi(c), s0 = lo(n), s1 = hi(n);
    u32x2 y;
    y.x = pack(e0 * c0 - e1 * s0, e0 * s0 + e1 * c0);
    y.y = pack(e2 * c1 - e3 * s1, e2 * s1 + e3 * c1);
    *(u32x2*)(out + row * HEAD_DIM + lane * 4) = y;
}
