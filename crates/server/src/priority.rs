//! Scheduling priority for the threads that keep Raft alive.
//!
//! Heartbeats, votes and ReadIndex rounds must not wait behind client
//! queries: under a CPU storm a starved replication thread or peer transport
//! looks like a dead leader, and the group elects again instead of serving.
//! Those threads ask for nice -10. Without CAP_SYS_NICE the request fails;
//! they then run at the default priority, which is logged once.

use std::sync::atomic::{AtomicBool, Ordering};

const RAFT_NICE: libc::c_int = -10;

/// Raises the calling thread's priority; `role` names it in the log.
pub fn raise_current_thread(role: &str) {
    // SAFETY: gettid and setpriority only read their integer arguments; on
    // Linux, PRIO_PROCESS with a thread id changes that thread alone.
    let raised = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, RAFT_NICE) == 0
    };
    static REPORTED: AtomicBool = AtomicBool::new(false);
    if !raised && !REPORTED.swap(true, Ordering::Relaxed) {
        tracing::info!(
            thread = role,
            error = %std::io::Error::last_os_error(),
            "cannot raise the priority of Raft threads (needs CAP_SYS_NICE); under CPU pressure elections may be spurious"
        );
    }
}
