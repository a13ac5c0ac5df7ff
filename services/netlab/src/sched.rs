//! Scheduling of the timing-critical threads: the shapers and the RTT probes.
//!
//! netem would release packets from a kernel timer; a userspace shaper competes with every other
//! task for the CPU. On a 2-core machine shared with builds, normal (even nice -10) threads woke
//! up to several ms late, which showed as RTT tails (p95 +7 ms over a 40 ms profile). Real-time
//! FIFO priority makes them preempt ordinary tasks at once; the kernel's real-time throttling
//! (95 % of each second by default) bounds what a runaway thread could take. Set with `chrt`
//! (util-linux) because the standard library has no sched_setscheduler and this workspace
//! forbids unsafe code.

/// The FIFO priority used: above ordinary tasks, below the kernel's own threaded interrupts (50).
pub const PRIORITY: u32 = 10;
const NICE: i32 = -10;

/// Gives the calling thread real-time priority, or at least nice -10; returns whether it got
/// real time. Threads it spawns afterwards inherit this.
pub fn timing_critical() -> bool {
    let tid = rustix::thread::gettid().as_raw_nonzero().get();
    let realtime = std::process::Command::new("chrt")
        .args(["--fifo", "--pid", &PRIORITY.to_string(), &tid.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !realtime {
        let _ = rustix::process::setpriority_process(None, NICE);
    }
    realtime
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_gets_real_time_priority_as_root_or_nice_otherwise() {
        let got = std::thread::spawn(timing_critical).join().unwrap();
        if rustix::process::geteuid().is_root() {
            assert!(got, "root should get SCHED_FIFO through chrt");
        }
    }
}
