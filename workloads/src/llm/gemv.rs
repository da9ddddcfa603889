//! Matrix-vector products for decoding on the CPU.
//!
//! Generating one token multiplies each weight matrix by one activation row. A general
//! matrix-multiply kernel packs its operands first, which for a single row costs more than
//! the product; decode is bound by reading the weights once, so the kernel here streams
//! each weight row straight into a dot product, rows split across the rayon pool.

use half::bf16;
use rayon::prelude::*;

/// Rows of the weight matrix handed to one rayon task.
const ROWS_PER_TASK: usize = 32;

/// Weight element types the kernel reads.
pub trait WeightElem: Copy + Send + Sync {
    /// The value as f32.
    fn widen(self) -> f32;
}

impl WeightElem for f32 {
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
}

impl WeightElem for bf16 {
    #[inline(always)]
    fn widen(self) -> f32 {
        // bf16 is the upper half of an f32: widening is a shift, which vectorizes.
        f32::from_bits(u32::from(self.to_bits()) << 16)
    }
}

#[inline(always)]
fn dot<W: WeightElem>(w: &[W], x: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let (wc, wr) = w.as_chunks::<LANES>();
    let (xc, xr) = x.as_chunks::<LANES>();
    for (a, b) in wc.iter().zip(xc) {
        for i in 0..LANES {
            acc[i] += a[i].widen() * b[i];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (a, b) in wr.iter().zip(xr) {
        sum += a.widen() * b;
    }
    sum
}

#[inline(always)]
fn rows_portable<W: WeightElem>(w: &[W], x: &[f32], out: &mut [f32]) {
    let k = x.len();
    for (o, row) in out.iter_mut().zip(w.chunks_exact(k)) {
        *o = dot(row, x);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn rows_avx2<W: WeightElem>(w: &[W], x: &[f32], out: &mut [f32]) {
    rows_portable(w, x, out)
}

fn rows<W: WeightElem>(w: &[W], x: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for (checked above).
        return unsafe { rows_avx2(w, x, out) };
    }
    rows_portable(w, x, out)
}

/// `out[j] = Σ_k w[j, k] · x[k]` for a row-major `w` of `out.len()` rows and `x.len()`
/// columns. Panics if the lengths disagree (callers check shapes first).
pub fn gemv<W: WeightElem>(w: &[W], x: &[f32], out: &mut [f32]) {
    let k = x.len();
    assert_eq!(w.len(), out.len() * k, "gemv: weight is not out x in");
    out.par_chunks_mut(ROWS_PER_TASK)
        .zip(w.par_chunks(ROWS_PER_TASK * k))
        .for_each(|(o, wc)| rows(wc, x, o));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_naive_product_in_f32_and_bf16() {
        let (n, k) = (67, 45);
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7919) % 23) as f32 * 0.125 - 1.0)
            .collect();
        let x: Vec<f32> = (0..k).map(|i| (i % 5) as f32 * 0.5 - 1.0).collect();
        let naive: Vec<f32> = (0..n)
            .map(|j| (0..k).map(|i| w[j * k + i] * x[i]).sum())
            .collect();
        let mut out = vec![0f32; n];
        gemv(&w, &x, &mut out);
        for (a, b) in out.iter().zip(&naive) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        // These values are exact in bf16, so the bf16 path must agree too.
        let wb: Vec<bf16> = w.iter().map(|v| bf16::from_f32(*v)).collect();
        gemv(&wb, &x, &mut out);
        for (a, b) in out.iter().zip(&naive) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
}
