//! Subnormal floats, flushed by choice (issue 35): the CPU's flush-to-zero (results that would
//! be subnormal become 0) and denormals-are-zero (subnormal inputs read as 0) modes.
//!
//! Why: at high learning rates the attention's softmax produces probabilities near its exp floor
//! that the row sum's division makes subnormal, the backward carries them into the Q/K/V
//! gradients, and x86 cores handle every subnormal operand of the GEMMs in microcode: runs were
//! up to 9× slower than the same model at low rates (docs/performance.md). Flushing changes the
//! last digits of such runs, so it is a recorded setting (`train.flush_subnormals`, absent =
//! off: every committed row keeps its meaning), not a silent default.
//!
//! The modes are per thread (x86 MXCSR bits 15 and 6; aarch64 FPCR.FZ, bit 24, which does both).
//! New threads inherit the creating thread's mode on Linux, but rayon's pool may already exist,
//! so [`flush_everywhere`] sets this thread and every thread of the global pool (where candle's
//! kernels and gemm's micro-kernels run, `gemm::Parallelism::Rayon`).

/// Whether this CPU architecture has a flush mode lnwarm can set.
pub const SUPPORTED: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

#[cfg(target_arch = "x86_64")]
mod arch {
    /// MXCSR.FTZ (bit 15) and MXCSR.DAZ (bit 6).
    const FLUSH_BITS: u32 = (1 << 15) | (1 << 6);

    fn read() -> u32 {
        let mut csr: u32 = 0;
        // SAFETY: stmxcsr stores the 32-bit MXCSR into the local it points at.
        unsafe {
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags))
        };
        csr
    }

    pub fn set(on: bool) {
        let csr = if on {
            read() | FLUSH_BITS
        } else {
            read() & !FLUSH_BITS
        };
        // SAFETY: ldmxcsr loads a value that differs from the current MXCSR only in FTZ/DAZ,
        // which change rounding of subnormals and nothing the compiler relies on.
        unsafe {
            std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly, preserves_flags))
        };
    }

    pub fn get() -> bool {
        read() & FLUSH_BITS == FLUSH_BITS
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    /// FPCR.FZ: flush subnormal inputs and outputs of single and double precision to zero.
    const FZ: u64 = 1 << 24;

    fn read() -> u64 {
        let fpcr: u64;
        // SAFETY: reads the floating-point control register.
        unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack)) };
        fpcr
    }

    pub fn set(on: bool) {
        let fpcr = if on { read() | FZ } else { read() & !FZ };
        // SAFETY: writes FPCR with only the FZ bit changed.
        unsafe { std::arch::asm!("msr fpcr, {}", in(reg) fpcr, options(nomem, nostack)) };
    }

    pub fn get() -> bool {
        read() & FZ != 0
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod arch {
    pub fn set(_on: bool) {}

    pub fn get() -> bool {
        false
    }
}

/// Flush (or keep) subnormals on the calling thread only.
pub fn set_on_this_thread(on: bool) {
    arch::set(on);
}

/// Whether the calling thread flushes subnormals.
pub fn flushing() -> bool {
    arch::get()
}

/// Flush (or keep) subnormals on this thread and on every thread of rayon's global pool; true
/// when every one of them now has the mode asked for.
pub fn flush_everywhere(on: bool) -> bool {
    set_on_this_thread(on);
    let pool: Vec<bool> = rayon::broadcast(|_| {
        set_on_this_thread(on);
        flushing() == on
    });
    flushing() == on && pool.into_iter().all(|ok| ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest normal f32 halved: subnormal unless flushed. Computed through black_box so
    /// the compiler cannot fold it at build time (where no flush mode applies).
    fn half_of_smallest_normal() -> f32 {
        std::hint::black_box(f32::MIN_POSITIVE) * std::hint::black_box(0.5f32)
    }

    #[test]
    fn flushing_on_this_thread_zeroes_a_subnormal_result() {
        if !SUPPORTED {
            return;
        }
        set_on_this_thread(true);
        assert!(flushing());
        assert_eq!(half_of_smallest_normal(), 0.0);
        set_on_this_thread(false);
        assert!(!flushing());
        assert!(half_of_smallest_normal() > 0.0);
        assert!(half_of_smallest_normal().is_subnormal());
    }
}
