//! SIGINT / SIGTERM: finish the current update, checkpoint, write a partial result, exit.
//!
//! The handler only records the first signal (an atomic store is async-signal-safe); the trainer
//! polls `requested()` between updates. A second SIGINT (Ctrl-C pressed twice) exits at once
//! (`_exit(130)`), for a user who does not want to wait for the checkpoint; a repeated SIGTERM
//! is ignored (see `on_signal`).

use std::sync::atomic::{AtomicI32, Ordering};

static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Route SIGINT and SIGTERM to the handler (the binary calls it for commands that train).
#[cfg(unix)]
pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int);
    // SAFETY: installs a handler that only touches an atomic and calls _exit, both
    // async-signal-safe.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM] {
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
    let first = RECEIVED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    // A second Ctrl-C means "now". A repeated SIGTERM does not: Slurm signals every process of
    // a job while a batch script may forward the same signal, and both must let the checkpoint
    // finish (Slurm's SIGKILL follows after KillWait anyway).
    if first.is_err() && sig == libc::SIGINT {
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
