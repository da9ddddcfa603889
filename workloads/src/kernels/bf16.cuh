// bf16 as its 16 bits, shared by bench's CUDA sources: Rust prepends this file to each source
// before NVRTC compiles it (no include path, no CUDA header). A u32 holds a pair of bf16 values,
// the lower column in the low half; arithmetic is f32.

typedef unsigned int u32;
typedef unsigned short bf16_bits;
struct alignas(16) u32x4 {
    u32 x, y, z, w;
};

// The low and high value of a pair.
__device__ __forceinline__ float lo(u32 v) { return __uint_as_float(v << 16); }
__device__ __forceinline__ float hi(u32 v) { return __uint_as_float(v & 0xffff0000u); }

// `f` rounded to the nearest even bf16, in the low 16 bits.
__device__ __forceinline__ u32 round_bf16(float f) {
    u32 u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return (u >> 16) | 0x40u;  // NaN stays NaN
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return u >> 16;
}

// Two floats as a bf16 pair: `a` in the low half.
__device__ __forceinline__ u32 pack(float a, float b) { return round_bf16(a) | (round_bf16(b) << 16); }

