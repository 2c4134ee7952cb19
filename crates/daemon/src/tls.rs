//! TLS for the TCP listener: required beyond loopback (tokens and
//! transcripts must not cross a network in the clear), optional on it. The
//! certificate is the one configured, or a self-signed one made on first
//! use and kept in `tls/` in the data home; viewports pin its SHA-256
//! fingerprint, which `vpd pair` prints with the code.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::home::{DataHome, write_private};

/// A certificate and key the user gave (PEM files).
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// What serves TLS, and the fingerprint viewports pin.
pub struct Tls {
    acceptor: TlsAcceptor,
    pub fingerprint: String,
}

impl Tls {
    /// The configured certificate, or the home's self-signed one (made now
    /// if there is none yet, naming `hosts`).
    pub fn load(
        home: &DataHome,
        configured: Option<&CertificateFiles>,
        hosts: &[String],
    ) -> Result<Self> {
        let files = match configured {
            Some(files) => files.clone(),
            None => self_signed(home, hosts)?,
        };
        let certs = CertificateDer::pem_file_iter(&files.cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .with_context(|| format!("cannot read the certificate {}", files.cert.display()))?;
        let first = certs
            .first()
            .with_context(|| format!("{} holds no certificate", files.cert.display()))?;
        let fingerprint = fingerprint(first);
        let key = PrivateKeyDer::from_pem_file(&files.key)
            .with_context(|| format!("cannot read the private key {}", files.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("cannot set up TLS")?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .with_context(|| {
                format!(
                    "{} and {} do not make a usable pair",
                    files.cert.display(),
                    files.key.display()
                )
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            fingerprint,
        })
    }

    /// Serve over TLS on `listener` until `stop`: `local` to peers on this
    /// machine, `remote` to the others.
    pub async fn serve(
        self,
        listener: TcpListener,
        local: Router,
        remote: Router,
        stop: CancellationToken,
    ) {
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!("cannot accept a connection: {e}");
                        continue;
                    }
                },
                () = stop.cancelled() => return,
            };
            let _ = stream.set_nodelay(true);
            let acceptor = self.acceptor.clone();
            let router = if peer.ip().is_loopback() {
                &local
            } else {
                &remote
            };
            let service = TowerToHyperService::new(router.clone());
            let stop = stop.clone();
            tokio::spawn(async move {
                // A client that fails the handshake (a plain-HTTP request, a
                // certificate it does not trust) is simply dropped.
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let builder = auto::Builder::new(TokioExecutor::new());
                let connection =
                    builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                tokio::select! {
                    _ = connection => {}
                    () = stop.cancelled() => {}
                }
            });
        }
    }
}

/// `SHA256:AB:CD:…`, as browsers and `openssl x509 -fingerprint -sha256` show it.
pub fn fingerprint(cert: &[u8]) -> String {
    let hex: Vec<String> = Sha256::digest(cert)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("SHA256:{}", hex.join(":"))
}

/// The home's self-signed certificate, made on first use.
fn self_signed(home: &DataHome, hosts: &[String]) -> Result<CertificateFiles> {
    let dir = home.root().join("tls");
    let files = CertificateFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    if files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    names.extend(hosts.iter().cloned());
    names.dedup();
    let made = rcgen::generate_simple_self_signed(names)
        .context("cannot make a self-signed certificate")?;
    write_private(&files.cert, made.cert.pem().as_bytes())
        .with_context(|| format!("cannot write {}", files.cert.display()))?;
    write_private(&files.key, made.signing_key.serialize_pem().as_bytes())
        .with_context(|| format!("cannot write {}", files.key.display()))?;
    tracing::info!("made a self-signed TLS certificate in {}", dir.display());
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let home = DataHome::at(dir.path().join("home"));
        home.ensure().unwrap();
        let first = Tls::load(&home, None, &["10.0.0.5".to_owned()])
            .unwrap()
            .fingerprint;
        assert!(
            first.starts_with("SHA256:") && first.len() == 7 + 32 * 3 - 1,
            "{first}"
        );
        let again = Tls::load(&home, None, &[]).unwrap().fingerprint;
        assert_eq!(first, again);
        let key = std::fs::metadata(dir.path().join("home/tls/key.pem")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }
}
