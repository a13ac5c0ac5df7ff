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

#[test]
fn the_effective_configuration_is_printed_without_its_secrets() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cinemesh"))
        .arg("config")
        // Only these: the test run's own CINEMESH_TEST_* variables are no configuration.
        .env_clear()
        .env("DATABASE_URL", "postgres://cinemesh:db-password@db:5432/cinemesh")
        .env("REDIS_URL", "redis://:redis-password@redis:6379")
        .env("CINEMESH_ADMIN_TOKEN", "admin-token-value")
        .env("CINEMESH_TRACKER_SECRET", "tracker-secret-value")
        .env("CINEMESH_TRACKER_TURN_CREDENTIAL", "turn-credential-value")
        .output()
        .expect("cinemesh runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).expect("UTF-8");
    for secret in
        ["db-password", "redis-password", "admin-token-value", "tracker-secret-value", "turn-credential-value"]
    {
        assert!(!printed.contains(secret), "{secret} was printed:\n{printed}");
    }
    assert!(printed.contains("postgres://cinemesh:<hidden>@db:5432/cinemesh"), "{printed}");
    let config =
        cinemesh_server::Config::load(None, [("CINEMESH_ADMIN_TOKEN".to_owned(), "t0ken".to_owned())]).unwrap();
    assert!(!format!("{config:?}").contains("t0ken"), "nor does a Debug print show them");
}
