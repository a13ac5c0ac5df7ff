//! Rate limits: an HTB class on the egress of one veth end, with a byte-limited FIFO as its queue.
//!
//! Uplink = egress of the host's end (router WAN, server); downlink = egress of the core's end.
//! HTB counts whole Ethernet frames (IP packet + 14 bytes), so calibration counts the same.

use crate::netns;

/// Bytes of the smallest queue, whatever the rate: two full frames.
const MIN_QUEUE_BYTES: u64 = 2 * 1514;
/// Bucket depth: 2 ms at the rate, at least a few frames, so timers never starve the link.
const BURST_SECS: f64 = 0.002;
const MIN_BURST_BYTES: u64 = 4 * 1514;

/// `tc` argument lists that put `dev` at `mbit` with a queue of `buffer_ms` (replace: also a change).
pub fn limit_commands(dev: &str, mbit: f64, buffer_ms: f64) -> Vec<Vec<String>> {
    let bits = (mbit * 1e6).round() as u64;
    let bytes_per_sec = bits as f64 / 8.0;
    let queue = ((bytes_per_sec * buffer_ms / 1000.0) as u64).max(MIN_QUEUE_BYTES);
    let burst = ((bytes_per_sec * BURST_SECS) as u64).max(MIN_BURST_BYTES);
    let words = |s: String| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    vec![
        words(format!("qdisc replace dev {dev} root handle 1: htb default 10")),
        words(format!(
            "class replace dev {dev} parent 1: classid 1:10 htb rate {bits}bit ceil {bits}bit burst {burst}b cburst {burst}b"
        )),
        words(format!("qdisc replace dev {dev} parent 1:10 handle 10: bfifo limit {queue}")),
    ]
}

/// Sets the rate of `dev` in `ns`: `None` removes any limit.
pub fn apply(ns: &str, dev: &str, mbit: Option<f64>, buffer_ms: f64) -> anyhow::Result<()> {
    match mbit {
        Some(mbit) => {
            let commands = limit_commands(dev, mbit, buffer_ms);
            for (i, args) in commands.iter().enumerate() {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                match netns::tc(ns, &args) {
                    // HTB cannot "change" its root qdisc; one already there is the one we want.
                    Err(_) if i == 0 && has_htb_root(ns, dev) => {}
                    other => {
                        other?;
                    }
                }
            }
            Ok(())
        }
        None => {
            // Fails when there is no limit to remove: that is the wanted state.
            let _ = netns::tc(ns, &["qdisc", "del", "dev", dev, "root"]);
            Ok(())
        }
    }
}

fn has_htb_root(ns: &str, dev: &str) -> bool {
    netns::tc(ns, &["qdisc", "show", "dev", dev]).is_ok_and(|out| out.contains("qdisc htb 1: root"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_an_htb_class_with_a_queue_of_buffer_ms() {
        let cmds = limit_commands("eth0", 5.0, 100.0);
        assert_eq!(cmds[0].join(" "), "qdisc replace dev eth0 root handle 1: htb default 10");
        assert!(cmds[1].join(" ").contains("rate 5000000bit ceil 5000000bit burst 6056b"), "{:?}", cmds[1]);
        // 5 Mbit/s for 100 ms = 62500 bytes.
        assert_eq!(cmds[2].join(" "), "qdisc replace dev eth0 parent 1:10 handle 10: bfifo limit 62500");
    }

    #[test]
    fn tiny_rates_still_queue_two_frames() {
        let cmds = limit_commands("eth0", 0.01, 10.0);
        assert!(cmds[2].join(" ").ends_with("limit 3028"));
    }
}
