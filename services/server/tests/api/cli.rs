//! The binary's configuration helper: `cinemesh config --print-default`
//! prints every key with its documentation, and what it prints parses back
//! to exactly the defaults the server runs with.

#[test]
fn the_printed_default_configuration_parses_back_unchanged() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cinemesh"))
        .args(["config", "--print-default"])
        .output()
        .expect("cinemesh runs");
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).expect("UTF-8");
    let parsed: cinemesh_server::Config = toml::from_str(&printed).expect("the printed defaults parse");
    assert_eq!(parsed, cinemesh_server::Config::default());
    for key in ["bind", "redis_prefix", "resume_grace_secs", "empty_grace_secs", "ice_servers"] {
        let documented = printed
            .lines()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| w[0].trim_start().starts_with('#') && w[1].trim_start().starts_with(&format!("{key} =")));
        assert!(documented, "{key} is printed with a comment above it");
    }
}
