//! SIGINT / SIGTERM / SIGHUP: finish the current update, checkpoint, write a partial result, exit.
//!
//! The handler only records the first signal (an atomic store is async-signal-safe); the trainer
//! polls `requested()` between updates. A second SIGINT (Ctrl-C pressed twice) exits at once
//! (`_exit(130)`), for a user who does not want to wait for the checkpoint — unless it comes
//! within `DUPLICATE_MS` of the first: `timeout -s INT` and a terminal deliver one SIGINT to the
//! process and another to its group, and that duplicate must not throw the first one's
//! checkpoint away (issue 33). A repeated SIGTERM is ignored (see `on_signal`). SIGHUP (the
//! terminal closed) is a SIGTERM: checkpoint, partial result, resume hint.

use std::sync::atomic::{AtomicI32, AtomicI64, Ordering};

static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// When the first signal came (CLOCK_MONOTONIC, milliseconds).
static FIRST_MS: AtomicI64 = AtomicI64::new(0);

/// A second SIGINT sooner than this after the first is the same interrupt delivered twice.
pub const DUPLICATE_MS: i64 = 1000;

/// CLOCK_MONOTONIC in milliseconds (clock_gettime is async-signal-safe).
#[cfg(unix)]
fn now_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

/// Route SIGINT and SIGTERM to the handler (the binary calls it for commands that train).
#[cfg(unix)]
pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int);
    // SAFETY: installs a handler that only touches an atomic and calls _exit, both
    // async-signal-safe.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

#[cfg(not(unix))]
pub fn install() {}

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    // SIGHUP stops the run as SIGTERM does (and prints as SIGTERM's exit code 143).
    let sig = if sig == libc::SIGHUP {
        libc::SIGTERM
    } else {
        sig
    };
    let first = RECEIVED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    if first.is_ok() {
        FIRST_MS.store(now_ms(), Ordering::SeqCst);
        return;
    }
    // A second Ctrl-C means "now" — not the same SIGINT delivered twice in a moment. A repeated
    // SIGTERM never does: Slurm signals every process of a job while a batch script may forward
    // the same signal, and both must let the checkpoint finish (Slurm's SIGKILL follows after
    // KillWait anyway).
    let duplicate = now_ms() - FIRST_MS.load(Ordering::SeqCst) < DUPLICATE_MS;
    if sig == libc::SIGINT && !duplicate {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + sig) }
    }
}

/// The signal received since start, if any (SIGINT = 2, SIGTERM = 15).
pub fn requested() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// The conventional name of a signal number, for messages.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}
