//! Network namespaces: creating and deleting them, running `ip`, `tc` and `iptables-restore` in
//! them, and moving a thread into one (a socket opened by that thread stays in that namespace).

use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

/// Where `ip netns add` mounts named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// Runs `program args`, feeding `stdin`; returns stdout. The error names the command and quotes
/// its stderr.
pub fn run(program: &str, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).with_context(|| format!("writing to {program}"))?;
    }
    let out = child.wait_with_output().with_context(|| format!("waiting for {program}"))?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `ip args` in namespace `ns` (`None`: the caller's namespace).
pub fn ip(ns: Option<&str>, args: &[&str]) -> anyhow::Result<String> {
    match ns {
        Some(ns) => run("ip", &[&["-n", ns], args].concat(), None),
        None => run("ip", args, None),
    }
}

pub fn tc(ns: &str, args: &[&str]) -> anyhow::Result<String> {
    run("tc", &[&["-n", ns], args].concat(), None)
}

/// Replaces the tables named in `rules` (iptables-restore input) in `ns`, atomically.
pub fn iptables_restore(ns: &str, rules: &str) -> anyhow::Result<()> {
    run("ip", &["netns", "exec", ns, "iptables-restore"], Some(rules)).map(|_| ())
}

pub fn add(name: &str) -> anyhow::Result<()> {
    ip(None, &["netns", "add", name]).map(|_| ())
}

/// Deletes a namespace; its links go with it (and a veth's other end in another namespace).
pub fn delete(name: &str) -> anyhow::Result<()> {
    ip(None, &["netns", "delete", name]).map(|_| ())
}

/// Names of all named namespaces.
pub fn list() -> anyhow::Result<Vec<String>> {
    let out = ip(None, &["netns", "list"])?;
    Ok(out.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect())
}

/// Processes running in `ns`.
pub fn pids(ns: &str) -> Vec<i32> {
    ip(None, &["netns", "pids", ns])
        .map(|out| out.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Moves the calling thread into `ns`. Sockets it opens afterwards belong to `ns` for good.
pub fn enter(ns: &str) -> anyhow::Result<()> {
    let path = format!("{NETNS_DIR}/{ns}");
    let file = File::open(&path).with_context(|| format!("opening {path}: no namespace {ns}"))?;
    move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network))
        .with_context(|| format!("setns into {ns}"))?;
    Ok(())
}

/// Runs `f` on a thread inside `ns` and returns its result.
pub fn within<T: Send>(ns: &str, f: impl FnOnce() -> anyhow::Result<T> + Send) -> anyhow::Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                enter(ns)?;
                f()
            })
            .join()
            .unwrap_or_else(|_| bail!("a thread working in {ns} panicked"))
    })
}

/// Writes sysctls (`net/ipv4/ip_forward` style keys) inside `ns`: /proc/sys/net shows the
/// namespace of the thread that opens it.
pub fn sysctls(ns: &str, settings: &[(&str, &str)]) -> anyhow::Result<()> {
    within(ns, || {
        for (key, value) in settings {
            let path = format!("/proc/sys/{key}");
            std::fs::write(&path, value).with_context(|| format!("writing {value} to {path} in {ns}"))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_command_names_itself_and_quotes_stderr() {
        let err = run("sh", &["-c", "echo oops >&2; exit 3"], None).unwrap_err().to_string();
        assert!(err.contains("sh -c") && err.contains("oops"), "{err}");
    }

    #[test]
    fn stdin_reaches_the_command() {
        assert_eq!(run("cat", &[], Some("hello")).unwrap(), "hello");
    }
}
