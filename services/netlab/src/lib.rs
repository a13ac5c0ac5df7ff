//! An emulated internet of home networks on one machine, for tests and benchmarks with real
//! browsers behind real NATs.
//!
//! A lab is a set of network namespaces: an "internet" core (a bridge), a server on it with a
//! capped link, and homes, each a router namespace that NATs for one or more client namespaces.
//! Rates are HTB on veth egress; delay, jitter and loss come from a userspace shaper fed by
//! NFQUEUE (this kernel has no netem). Nothing connects to the root namespace.
//!
//! One job per file: [`names`] (run ids, host names), [`profile`] (the TOML profiles),
//! [`topology`] (the plan: addresses and links), [`nat`] (iptables rules), [`rates`] (HTB),
//! [`nfqueue`] (the netlink queue protocol), [`delay`] (the delay line), [`shaper`] (its
//! threads), [`sched`] (real-time priority), [`lab`] (building and changing a lab), [`state`]
//! (the state file), [`cleanup`] (dead labs), [`preflight`], [`probe`] and [`bulk`] (measuring
//! tools), [`calibrate`] and [`report`] (calibration), [`control`] (the control socket),
//! [`driver`] (`netlab up`), [`cli`].

pub mod bulk;
pub mod calibrate;
pub mod cleanup;
pub mod cli;
pub mod control;
pub mod delay;
pub mod driver;
pub mod lab;
pub mod names;
pub mod nat;
pub mod netns;
pub mod nfqueue;
pub mod preflight;
pub mod probe;
pub mod profile;
pub mod rates;
pub mod report;
pub mod sched;
pub mod shaper;
pub mod state;
pub mod topology;
