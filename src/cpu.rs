//! What CPU a run ran on, and which SIMD kernels it used: recorded in every result's provenance,
//! because the GEMM (gemm 0.19, through candle) and lnwarm's fused kernels (`multiversion`)
//! pick their kernels by the CPU's features at run time, and another kernel sums in another
//! order: the same config, seed and thread count reproduce bit for bit only on CPUs that select
//! the same kernels.

use serde::{Deserialize, Serialize};

/// The CPU and the kernels it selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuInfo {
    /// `/proc/cpuinfo` "model name" (empty where unknown).
    pub model: String,
    /// `/proc/cpuinfo` "cpu family" (x86: 23 = Zen 1–2, 25 = Zen 3–4, 26 = Zen 5, 6 = Intel Core).
    pub family: Option<u32>,
    /// The widest SIMD level of the CPU that lnwarm's kernels tell apart: `avx512f`, `avx2+fma`,
    /// `sse2` (x86-64), or the architecture's name elsewhere. The GEMM dispatches to it; the
    /// fused kernels use at most `avx2+fma` (multiversion's "simd" preset has no AVX-512
    /// target), so on an `avx512f` CPU they run their AVX2 clone. The value still names the
    /// kernels a run used: each level selects one GEMM kernel and one fused-kernel clone.
    pub simd: String,
    /// The matrix-multiply backend of candle's CPU matmul.
    pub gemm: String,
}

impl CpuInfo {
    /// This machine's.
    pub fn detect() -> Self {
        let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |key: &str| {
            text.lines()
                .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        };
        Self {
            model: field("model name").unwrap_or_default(),
            family: field("cpu family").and_then(|f| f.parse().ok()),
            simd: simd_level().to_string(),
            gemm: "gemm 0.19 (runtime dispatch, x86-v4 kernels enabled)".to_string(),
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn simd_level() -> &'static str {
    if std::arch::is_x86_feature_detected!("avx512f") {
        "avx512f"
    } else if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        "avx2+fma"
    } else {
        "sse2"
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn simd_level() -> &'static str {
    std::env::consts::ARCH
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_machine_is_described() {
        let cpu = super::CpuInfo::detect();
        assert!(!cpu.simd.is_empty());
        if cfg!(target_os = "linux") && cfg!(target_arch = "x86_64") {
            assert!(!cpu.model.is_empty() && cpu.family.is_some(), "{cpu:?}");
        }
    }
}
