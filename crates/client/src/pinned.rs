//! TLS to a daemon whose certificate is known by its fingerprint (a
//! self-signed one, as `vpd pair` prints it): the certificate is trusted
//! when its SHA-256 matches, and its signatures are still checked.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

/// A TLS stream to `address` (`HOST:PORT`) whose certificate has `fingerprint`.
pub async fn connect(
    address: &str,
    fingerprint: &str,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let tls = PinnedCertificate::new(fingerprint)
        .client_config()
        .map_err(|e| e.to_string())?;
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| format!("{host} is not a host name or address: {e}"))?;
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())
}

#[derive(Debug)]
pub struct PinnedCertificate {
    /// Upper-case hex without separators.
    sha256: String,
    provider: Arc<CryptoProvider>,
}

impl PinnedCertificate {
    /// `fingerprint` as `SHA256:AB:CD:…`, or plain hex in either case.
    pub fn new(fingerprint: &str) -> Self {
        let hex = fingerprint.trim().trim_start_matches("SHA256:");
        Self {
            sha256: hex.replace(':', "").to_ascii_uppercase(),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        }
    }

    /// A client config that trusts only this certificate.
    pub fn client_config(self) -> Result<rustls::ClientConfig, rustls::Error> {
        let provider = self.provider.clone();
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(self))
            .with_no_client_auth())
    }
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen: String = Sha256::digest(end_entity)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        if seen == self.sha256 {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the daemon's certificate has fingerprint {seen}, not the paired {}",
                self.sha256
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
