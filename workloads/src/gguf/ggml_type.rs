//! ggml's tensor types and their block layouts: how many weights one block holds and how many
//! bytes it takes, for counting the bytes a GGUF's tensors occupy.
//!
//! From ggml's `ggml/src/ggml-common.h` (the `block_*` structs, each with a `static_assert`
//! on its size) and `ggml/src/ggml.c` (`type_traits[]`: `blck_size`, `type_size`); the ids are
//! `enum ggml_type` in `ggml/include/ggml.h`. `QK_K` = 256, `QK4_0` = `QK8_0` = 32, and
//! `ggml_half` is 2 bytes. Ids ggml retired (4, 5: Q4_2, Q4_3; 31–33: Q4_0_4_4, Q4_0_4_8,
//! Q4_0_8_8; 36–38: IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8) are unknown here, as they are to ggml;
//! so are ids ggml added after MXFP4 (39), such as NVFP4 (40): a GGUF that holds one is not
//! costed rather than costed wrong.

/// One ggml type: its name and block layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgmlType {
    /// `enum ggml_type` value.
    pub id: u32,
    /// ggml's name (`q4_K`, `f16`), upper-cased as llama.cpp prints it (`Q4_K`, `F16`).
    pub name: &'static str,
    /// Weights per block.
    pub block_weights: u64,
    /// Bytes per block.
    pub block_bytes: u64,
}

/// (id, name, weights per block, bytes per block), with each block's layout.
const TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    // block_q4_0: d (half) + qs[16] nibbles.
    (2, "Q4_0", 32, 18),
    // block_q4_1: d, m (halves) + qs[16].
    (3, "Q4_1", 32, 20),
    // block_q5_0: d + qh[4] + qs[16].
    (6, "Q5_0", 32, 22),
    // block_q5_1: d, m + qh[4] + qs[16].
    (7, "Q5_1", 32, 24),
    // block_q8_0: d + qs[32].
    (8, "Q8_0", 32, 34),
    // block_q8_1: d, s + qs[32].
    (9, "Q8_1", 32, 36),
    // block_q2_K: scales[16] + qs[64] + d, dmin.
    (10, "Q2_K", 256, 84),
    // block_q3_K: hmask[32] + qs[64] + scales[12] + d.
    (11, "Q3_K", 256, 110),
    // block_q4_K: d, dmin + scales[12] + qs[128].
    (12, "Q4_K", 256, 144),
    // block_q5_K: d, dmin + scales[12] + qh[32] + qs[128].
    (13, "Q5_K", 256, 176),
    // block_q6_K: ql[128] + qh[64] + scales[16] + d.
    (14, "Q6_K", 256, 210),
    // block_q8_K: d (float) + qs[256] + bsums[16] (int16).
    (15, "Q8_K", 256, 292),
    // block_iq2_xxs: d + qs[32] (uint16).
    (16, "IQ2_XXS", 256, 66),
    // block_iq2_xs: d + qs[32] (uint16) + scales[8].
    (17, "IQ2_XS", 256, 74),
    // block_iq3_xxs: d + qs[96].
    (18, "IQ3_XXS", 256, 98),
    // block_iq1_s: d + qs[32] + qh[8] (uint16).
    (19, "IQ1_S", 256, 50),
    // block_iq4_nl: d + qs[16].
    (20, "IQ4_NL", 32, 18),
    // block_iq3_s: d + qs[64] + qh[8] + signs[32] + scales[4].
    (21, "IQ3_S", 256, 110),
    // block_iq2_s: d + qs[64] + qh[8] + scales[8].
    (22, "IQ2_S", 256, 82),
    // block_iq4_xs: d + scales_h (uint16) + scales_l[4] + qs[128].
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    // block_iq1_m: qs[32] + qh[16] + scales[8].
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    // block_tq1_0: qs[48] + qh[4] + d.
    (34, "TQ1_0", 256, 54),
    // block_tq2_0: qs[64] + d.
    (35, "TQ2_0", 256, 66),
    // block_mxfp4: e (uint8) + qs[16].
    (39, "MXFP4", 32, 17),
];

impl GgmlType {
    /// The type with `enum ggml_type` value `id`; none for ids ggml retired or never had.
    pub fn from_id(id: u32) -> Option<Self> {
        TYPES
            .iter()
            .find(|(i, ..)| *i == id)
            .map(|&(id, name, block_weights, block_bytes)| Self {
                id,
                name,
                block_weights,
                block_bytes,
            })
    }

    /// Bytes `weights` weights of this type take; none when they do not fill whole blocks
    /// (ggml requires a row to be a whole number of blocks) or the count overflows.
    pub fn bytes(&self, weights: u64) -> Option<u64> {
        if !weights.is_multiple_of(self.block_weights) {
            return None;
        }
        (weights / self.block_weights).checked_mul(self.block_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_sizes_the_brief_names() {
        let bits = |id| {
            let t = GgmlType::from_id(id).expect("a known type");
            t.block_bytes as f64 * 8.0 / t.block_weights as f64
        };
        // Q4_0 18 B / 32, Q8_0 34 / 32, Q4_K 144 / 256, Q6_K 210 / 256, F16 and BF16 2, F32 4.
        assert_eq!(bits(2), 4.5);
        assert_eq!(bits(8), 8.5);
        assert_eq!(bits(12), 4.5);
        assert_eq!(bits(14), 6.5625);
        assert_eq!((bits(1), bits(30), bits(0)), (16.0, 16.0, 32.0));
        assert_eq!(GgmlType::from_id(4), None);
        assert_eq!(GgmlType::from_id(40), None);
        let q4k = GgmlType::from_id(12).expect("Q4_K");
        assert_eq!(q4k.bytes(4096 * 256), Some(4096 * 144));
        assert_eq!(q4k.bytes(100), None);
    }
}
