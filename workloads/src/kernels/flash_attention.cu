// Attention without the scores in memory (FlashAttention-2's forward pass): softmax(Q Kᵀ · scale) V
// for bf16 Q, K, V with a head dimension of 128, f32 accumulation, on tensor cores (mma.sync
// m16n8k16, sm_80 and later).
//
// A block of 4 (or 8) warps takes 64 (or 128) query rows of one head; each warp owns 16 of
// them. Keys and values stream through shared memory 64 rows at a time. Per tile a warp computes its 16 × 64 scores
// in registers, folds them into a running max and sum per row (online softmax), and adds the
// tile's probabilities times its values to a 16 × 128 accumulator, rescaled when the max grows.
// Nothing of size queries × keys is ever written.
//
// Grouped heads: query head h reads key/value head h / (heads / kv_heads). Causal: query row r
// is at position offset + r and sees keys 0..=offset + r. Every tensor is addressed by its own
// batch, head and row strides (in elements; the head dimension is contiguous), so a KV cache
// preallocated for more positions is read in place.
//
// Compiled at run time with NVRTC after bf16.cuh (bf16 as its 16 bits), with no CUDA header.
// Two kernels differ only in rows per block; the engine checks them against plain attention at
// load and uses the first that agrees.

#define HEAD_DIM 128
#define BLOCK_N 64
// Shared-memory rows are padded by 8 elements (16 bytes) so that the 8 rows a fragment load
// touches fall in different banks.
#define ROW (HEAD_DIM + 8)
#define NEG_INF (__int_as_float(0xff800000))

// c (16×8, f32) += a (16×16, bf16, row-major) · b (16×8, bf16, column-major).
__device__ __forceinline__ void mma(float* c, const u32* a, const u32* b) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Four 8×8 bf16 matrices from shared memory, transposed: lanes 8i..8i+7 give the row
// addresses of matrix i; each lane receives, per matrix, the elements (2t, g) and (2t+1, g)
// of it (g = lane / 4, t = lane % 4).
__device__ __forceinline__ void ldmatrix_x4_trans(u32* r, const bf16_bits* p) {
    u32 address = (u32)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
}

__device__ __forceinline__ u32 load_pair(const bf16_bits* p, bool inside) {
    return inside ? *(const u32*)p : 0u;
}

// Four 8×8 bf16 matrices from shared memory as stored: lanes 8i..8i+7 give the row addresses of
// matrix i; each lane receives, per matrix, the elements (g, 2t) and (g, 2t+1).
__device__ __forceinline__ void ldmatrix_x4(u32* r, const bf16_bits* p) {
    u32 address = (u32)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
}

// 16 bytes from global to shared memory without passing through registers (cp.async, sm_80);
// `inside` false writes zeros and reads nothing.
__device__ __forceinline__ void copy_async_16(bf16_bits* dst, const bf16_bits* src, bool inside) {
    u32 address = (u32)__cvta_generic_to_shared(dst);
    int bytes = inside ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(address), "l"(src),
                 "r"(bytes));
}

__device__ __forceinline__ void copy_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::);
}

__device__ __forceinline__ void copy_async_wait_all() {
    asm volatile("cp.async.wait_group 0;\n" ::: "memory");
}

// 2^x with the special-function unit (-inf gives 0).
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

// Starts copying rows n0..n0 + BLOCK_N of a key or value matrix into `tile` (rows past `len`
// become zeros); every thread of the block takes part.
template <int THREADS_T>
__device__ __forceinline__ void load_tile_async(bf16_bits* tile, const bf16_bits* src, long row_stride,
                                                int n0, int len, int tid) {
#pragma unroll
    for (int i = tid; i < BLOCK_N * (HEAD_DIM / 8); i += THREADS_T) {
        const int r = i / (HEAD_DIM / 8);
        const int c = (i % (HEAD_DIM / 8)) * 8;
        const bool inside = n0 + r < len;
        copy_async_16(tile + r * ROW + c, inside ? src + (long)(n0 + r) * row_stride + c : src,
                      inside);
    }
    copy_async_commit();
}

// The global-memory latency is hidden: keys and values arrive by cp.async while the tensor
// cores work (the values of a tile during its scores, the next tile's keys during its P·V).
// Keys reach the tensor cores by ldmatrix, values by ldmatrix.trans; the mask is applied only on
// tiles that need it, and the softmax works on raw scores with the scale folded into one
// multiply-add before exp2. WARPS warps take 16 query rows each. `scale_log2` must be positive
// (it is 1/√d · log2 e).
template <int WARPS>
__device__ __forceinline__ void attention_pipelined(
    const bf16_bits* __restrict__ q, const bf16_bits* __restrict__ k,
    const bf16_bits* __restrict__ v, bf16_bits* __restrict__ o, int heads, int kv_heads,
    int q_len, int kv_len, long q_batch, long q_head, long q_row, long k_batch, long k_head,
    long k_row, long v_batch, long v_head, long v_row, long o_batch, long o_head, long o_row,
    float scale_log2, int causal, int offset) {
    constexpr int ROWS = 16 * WARPS;
    constexpr int THREADS_T = 32 * WARPS;
    __shared__ alignas(16) bf16_bits ks[BLOCK_N * ROW];
    __shared__ alignas(16) bf16_bits vs[BLOCK_N * ROW];

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;
    const int g = lane >> 2;
    const int t = lane & 3;
    const int block_m = gridDim.x - 1 - blockIdx.x;
    const int h = blockIdx.y;
    const int b = blockIdx.z;
    const int kvh = h / (heads / kv_heads);
    const bf16_bits* qb = q + b * q_batch + h * q_head;
    const bf16_bits* kb = k + b * k_batch + kvh * k_head;
    const bf16_bits* vb = v + b * v_batch + kvh * v_head;
    bf16_bits* ob = o + b * o_batch + h * o_head;

    const int first_row = block_m * ROWS;
    const int r_lo = first_row + warp * 16 + g;
    const int r_hi = r_lo + 8;
    const bool lo_in = r_lo < q_len;
    const bool hi_in = r_hi < q_len;

    int kv_end = kv_len;
    if (causal) {
        kv_end = min(kv_len, offset + min(q_len, first_row + ROWS));
    }
    if (kv_end > 0) {
        load_tile_async<THREADS_T>(ks, kb, k_row, 0, kv_len, tid);
    }

    u32 qa[HEAD_DIM / 16][4];
#pragma unroll
    for (int kk = 0; kk < HEAD_DIM / 16; ++kk) {
        const int c = kk * 16 + 2 * t;
        qa[kk][0] = load_pair(qb + r_lo * q_row + c, lo_in);
        qa[kk][1] = load_pair(qb + r_hi * q_row + c, hi_in);
        qa[kk][2] = load_pair(qb + r_lo * q_row + c + 8, lo_in);
        qa[kk][3] = load_pair(qb + r_hi * q_row + c + 8, hi_in);
    }

    float acc[HEAD_DIM / 8][4];
#pragma unroll
    for (int j = 0; j < HEAD_DIM / 8; ++j) {
        acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
    }
    // Running max of the raw scores and this thread's share of the running sum, per row.
    float m_lo = NEG_INF, m_hi = NEG_INF, l_lo = 0.0f, l_hi = 0.0f;

    for (int n0 = 0; n0 < kv_end; n0 += BLOCK_N) {
        copy_async_wait_all();
        __syncthreads();  // this tile's keys are in; every warp is done with the last values
        load_tile_async<THREADS_T>(vs, vb, v_row, n0, kv_len, tid);

        float s[BLOCK_N / 8][4];
#pragma unroll
        for (int j = 0; j < BLOCK_N / 8; ++j) {
            s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
#pragma unroll
            for (int kk = 0; kk < HEAD_DIM / 16; kk += 2) {
                // Keys j*8..j*8+7, head columns kk*16..kk*16+31, as two B fragments.
                u32 r[4];
                ldmatrix_x4(r, ks + (j * 8 + (lane & 7)) * ROW + kk * 16 + (lane >> 3) * 8);
                u32 b0[2] = {r[0], r[1]};
                u32 b1[2] = {r[2], r[3]};
                mma(s[j], qa[kk], b0);
                mma(s[j], qa[kk + 1], b1);
            }
        }

        // Only the tile that ends past the keys, and under a causal mask the tiles reaching
        // past the block's first row, hide anything.
        const bool masked =
            n0 + BLOCK_N > kv_len || (causal && n0 + BLOCK_N - 1 > offset + first_row);
        if (masked) {
#pragma unroll
            for (int j = 0; j < BLOCK_N / 8; ++j) {
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int key = n0 + j * 8 + 2 * t + (e & 1);
                    const int row = e < 2 ? r_lo : r_hi;
                    if (key >= kv_len || (causal && key > offset + row)) {
                        s[j][e] = NEG_INF;
                    }
                }
            }
        }
        float mx_lo = NEG_INF, mx_hi = NEG_INF;
#pragma unroll
        for (int j = 0; j < BLOCK_N / 8; ++j) {
            mx_lo = fmaxf(mx_lo, fmaxf(s[j][0], s[j][1]));
            mx_hi = fmaxf(mx_hi, fmaxf(s[j][2], s[j][3]));
        }
#pragma unroll
        for (int mask = 1; mask <= 2; mask <<= 1) {
            mx_lo = fmaxf(mx_lo, __shfl_xor_sync(0xffffffffu, mx_lo, mask));
            mx_hi = fmaxf(mx_hi, __shfl_xor_sync(0xffffffffu, mx_hi, mask));
        }
        const float new_lo = fmaxf(m_lo, mx_lo);
        const float new_hi = fmaxf(m_hi, mx_hi);
        // In log2 units; a row that has seen only masked keys subtracts 0.
        const float base_lo = new_lo == NEG_INF ? 0.0f : new_lo * scale_log2;
        const float base_hi = new_hi == NEG_INF ? 0.0f : new_hi * scale_log2;
        const float alpha_lo = fast_exp2(m_lo * scale_log2 - base_lo);
        const float alpha_hi = fast_exp2(m_hi * scale_log2 - base_hi);
        m_lo = new_lo;
        m_hi = new_hi;
        float sum_lo = 0.0f, sum_hi = 0.0f;
#pragma unroll
        for (int j = 0; j < BLOCK_N / 8; ++j) {
            s[j][0] = fast_exp2(fmaf(s[j][0], scale_log2, -base_lo));
            s[j][1] = fast_exp2(fmaf(s[j][1], scale_log2, -base_lo));
            s[j][2] = fast_exp2(fmaf(s[j][2], scale_log2, -base_hi));
            s[j][3] = fast_exp2(fmaf(s[j][3], scale_log2, -base_hi));
            sum_lo += s[j][0] + s[j][1];
            sum_hi += s[j][2] + s[j][3];
        }
        l_lo = l_lo * alpha_lo + sum_lo;
        l_hi = l_hi * alpha_hi + sum_hi;
#pragma unroll
        for (int j = 0; j < HEAD_DIM / 8; ++j) {
            acc[j][0] *= alpha_lo;
            acc[j][1] *= alpha_lo;
            acc[j][2] *= alpha_hi;
            acc[j][3] *= alpha_hi;
        }

        copy_async_wait_all();
        __syncthreads();  // this tile's values are in; every warp is done with its keys
        if (n0 + BLOCK_N < kv_end) {
            load_tile_async<THREADS_T>(ks, kb, k_row, n0 + BLOCK_N, kv_len, tid);
        }

#pragma unroll
        for (int kk = 0; kk < BLOCK_N / 16; ++kk) {
            u32 pa[4] = {pack(s[2 * kk][0], s[2 * kk][1]), pack(s[2 * kk][2], s[2 * kk][3]),
                         pack(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                         pack(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
            for (int dj = 0; dj < HEAD_DIM / 8; dj += 2) {
                const int m = lane >> 3;
                const int key = kk * 16 + (m & 1) * 8 + (lane & 7);
                const int col = (dj + (m >> 1)) * 8;
                u32 r[4];
                ldmatrix_x4_trans(r, vs + key * ROW + col);
                u32 b0[2] = {r[0], r[1]};
                u32 b1[2] = {r[2], r[3]};
                mma(acc[dj], pa, b0);
                mma(acc[dj + 1], pa, b1);
            }
        }
    }

#pragma unroll
    for (int mask = 1; mask <= 2; mask <<= 1) {
        l_lo += __shfl_xor_sync(0xffffffffu, l_lo, mask);
        l_hi += __shfl_xor_sync(0xffffffffu, l_hi, mask);
    }
    const float inv_lo = l_lo > 0.0f ? 1.0f / l_lo : 0.0f;
    const float inv_hi = l_hi > 0.0f ? 1.0f / l_hi : 0.0f;
#pragma unroll
    for (int j = 0; j < HEAD_DIM / 8; ++j) {
        const int c = j * 8 + 2 * t;
        if (lo_in) {
            *(u32*)(ob + r_lo * o_row + c) = pack(acc[j][0] * inv_lo, acc[j][1] * inv_lo);
        }
        if (hi_in) {
            *(u32*)(ob + r_hi * o_row + c) = pack(acc[j][2] * inv_hi, acc[j][3] * inv_hi);
        }
    }
}

#define ARGS                                                                                     \
    const bf16_bits *q, const bf16_bits *k, const bf16_bits *v, bf16_bits *o, int heads,         \
        int kv_heads, int q_len, int kv_len, long q_batch, long q_head, long q_row,              \
        long k_batch, long k_head, long k_row, long v_batch, long v_head, long v_row,            \
        long o_batch, long o_head, long o_row, float scale_log2, int causal, int offset
#define PASS                                                                                     \
    q, k, v, o, heads, kv_heads, q_len, kv_len, q_batch, q_head, q_row, k_batch, k_head, k_row, \
        v_batch, v_head, v_row, o_batch, o_head, o_row, scale_log2, causal, offset

// 4 warps, 64 query rows a block; at most 168 registers a thread so that 3 blocks share an SM.
extern "C" __global__ void __launch_bounds__(128, 3) flash_attention_pipelined(ARGS) {
    attention_pipelined<4>(PASS);
}

// 8 warps, 128 query rows a block: each key and value tile serves twice the rows.
extern "C" __global__ void __launch_bounds__(256, 1) flash_attention_pipelined_wide(ARGS) {
    attention_pipelined<8>(PASS);
}
