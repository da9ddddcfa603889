// Attention heads out of a projection, in one pass each: a (batch, tokens, heads, 128) bf16 view
// with any batch, token and head strides (the projection's output, sliced), or two such views
// joined along the tokens, is written contiguous, either as it is (`gather`) or RMS-normalized
// with a learned scale (one per view) and rotated by the rotary embedding (`norm_rope`). candle does the same in three or four passes, the first a strided
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

// Where head row `row` of the output (batch × tokens × heads, heads fastest) starts: the first
// `first_tokens` tokens of each batch come from the first view (strides fb, fl, fh), the rest
// from the second (sb, sl, sh), so two streams' heads are joined as they are written. Also
// which view it is in, and the row's (token, head) index into the rotary tables, which cover
// the joined tokens.
__device__ __forceinline__ long source(long row, int tokens, int first_tokens, int heads, long fb,
                                       long fl, long fh, long sb, long sl, long sh, bool* second,
                                       long* rotary_row) {
    const long h = row % heads;
    const long l = (row / heads) % tokens;
    const long b = row / ((long)heads * tokens);
    *rotary_row = l * heads + h;
    *second = l >= first_tokens;
    return *second ? b * sb + (l - first_tokens) * sl + h * sh : b * fb + l * fl + h * fh;
}

extern "C" __global__ void gather(const unsigned short* first, const unsigned short* second,
                                  unsigned short* out, long rows, int tokens, int first_tokens,
                                  int heads, long fb, long fl, long fh, long sb, long sl, long sh) {
    const long row = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= rows) {
        return;
    }
    const int lane = threadIdx.x & 31;
    long unused;
    bool in_second;
    const long at = source(row, tokens, first_tokens, heads, fb, fl, fh, sb, sl, sh, &in_second,
                           &unused);
    const unsigned short* x = in_second ? second : first;
    *(u32x2*)(out + row * HEAD_DIM + lane * 4) = *(const u32x2*)(x + at + lane * 4);
}

extern "C" __global__ void norm_rope(const unsigned short* first, const unsigned short* second,
                                     const unsigned short* first_scale,
                                     const unsigned short* second_scale, const unsigned short* cos,
                                     const unsigned short* sin, unsigned short* out, long rows,
                                     int tokens, int first_tokens, int heads, long fb, long fl,
                                     long fh, long sb, long sl, long sh, float eps) {
    const long row = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= rows) {
        return;
    }
    const int lane = threadIdx.x & 31;
    long rotary_row;
    bool in_second;
    const long at = source(row, tokens, first_tokens, heads, fb, fl, fh, sb, sl, sh, &in_second,
                           &rotary_row);
    const unsigned short* x = in_second ? second : first;
    const unsigned short* scale = in_second ? second_scale : first_scale;
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
