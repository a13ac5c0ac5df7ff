//! HTTPS served by the binary itself, for the one-binary user who gives
//! friends a link: a page from any address but localhost needs a secure
//! context for Web Crypto, the camera and the microphone. A certificate chain
//! and its private key, both PEM files, from `[server] tls_cert` and `tls_key`,
//! read once at start-up (restart after renewing them).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS settings for a certificate chain and key; errors name the file and what is wrong with it.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<ServerConfig> {
    let chain_pem = std::fs::read(cert).with_context(|| format!("server.tls_cert: reading {}", cert.display()))?;
    let chain = CertificateDer::pem_slice_iter(&chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("server.tls_cert: {} is not a PEM certificate chain", cert.display()))?;
    if chain.is_empty() {
        bail!("server.tls_cert: {} holds no certificate", cert.display());
    }
    let key_pem = std::fs::read(key).with_context(|| format!("server.tls_key: reading {}", key.display()))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .with_context(|| format!("server.tls_key: {} holds no PEM private key", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("server.tls_cert and server.tls_key do not make a usable pair")?;
    // The server speaks HTTP/1.1 only (WebSockets included).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// A self-signed certificate and key for 127.0.0.1, made with the openssl command.
    fn self_signed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let status = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .args(["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl runs (apt-get install openssl)");
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        (cert, key)
    }

    #[test]
    fn a_certificate_and_its_key_make_a_config() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path());
        let config = server_config(&cert, &key).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn missing_garbled_or_mismatched_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed(dir.path());
        let other = tempfile::tempdir().unwrap();
        let (_, other_key) = self_signed(other.path());
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        let missing = dir.path().join("missing.pem");
        let cases = [
            (missing.as_path(), key.as_path(), "server.tls_cert: reading"),
            (garbage.as_path(), key.as_path(), "holds no certificate"),
            (cert.as_path(), garbage.as_path(), "server.tls_key: "),
            (cert.as_path(), missing.as_path(), "server.tls_key: reading"),
            (cert.as_path(), other_key.as_path(), "do not make a usable pair"),
        ];
        for (cert, key, expected) in cases {
            let error = format!("{:#}", server_config(cert, key).unwrap_err());
            assert!(error.contains(expected), "{cert:?} {key:?}: {error}");
        }
    }
}
