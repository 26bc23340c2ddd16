//! TLS toward clients and toward backends (rustls), and the stream type both sides use.
//!
//! MySQL switches to TLS in the middle of the handshake: the client sends a short SSLRequest
//! packet, then both sides run the TLS handshake on the same socket, then the login goes on
//! encrypted. So a connection starts as a plain `Stream` and is upgraded in place.
//!
//! The certificates are read when the configuration is loaded (at start and on every reload),
//! so a bad or missing file is reported like any other configuration error and the running
//! setup stays; a reload also picks up renewed certificate files.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::config::{BackendTls, Tls};

/// The TLS material built from `[tls]`.
pub struct TlsSetup {
    /// Present when `cert` and `key` are configured: clients may switch to TLS.
    pub acceptor: Option<tokio_rustls::TlsAcceptor>,
    /// Refuse clients that do not switch to TLS.
    pub require_client: bool,
    /// Toward backends: how, and with what verification.
    pub backend: BackendTls,
    connector: tokio_rustls::TlsConnector,
    /// False when no `backend_ca` is configured: backend certificates cannot be checked, so
    /// `preferred` encrypts without verifying (like the MySQL client's `--ssl-mode=PREFERRED`).
    pub backend_verified: bool,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup")
            .field("client_tls", &self.acceptor.is_some())
            .field("require_client", &self.require_client)
            .field("backend", &self.backend)
            .field("backend_verified", &self.backend_verified)
            .finish()
    }
}

impl TlsSetup {
    /// No `[tls]` section: plain connections both ways.
    pub fn disabled() -> Self {
        TlsSetup {
            acceptor: None,
            require_client: false,
            backend: BackendTls::Disabled,
            connector: tokio_rustls::TlsConnector::from(unverified_client()),
            backend_verified: false,
        }
    }

    /// Reads the certificate files named in `[tls]`. The error names the file and what is wrong.
    pub fn load(tls: Option<&Tls>) -> Result<Self, String> {
        let Some(t) = tls else {
            return Ok(Self::disabled());
        };
        let acceptor = match (&t.cert, &t.key) {
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert, "tls.cert")?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    format!(
                        "tls.key: cannot read a private key from {}: {e}",
                        key.display()
                    )
                })?;
                let config = rustls::ServerConfig::builder()
                    .with_no_client_auth()
                    .with_single_cert(chain, key)
                    .map_err(|e| format!("tls.cert / tls.key: {e}"))?;
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
            }
            _ => None,
        };
        let (client, backend_verified) = match &t.backend_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in read_certs(ca, "tls.backend_ca")? {
                    roots
                        .add(c)
                        .map_err(|e| format!("tls.backend_ca: {}: {e}", ca.display()))?;
                }
                let config = rustls::ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                (Arc::new(config), true)
            }
            None => (unverified_client(), false),
        };
        Ok(TlsSetup {
            acceptor,
            require_client: t.require_client_tls,
            backend: t.backend_tls,
            connector: tokio_rustls::TlsConnector::from(client),
            backend_verified,
        })
    }

    /// Runs the client side of a TLS handshake with a backend at `address` (host:port; the
    /// host is what its certificate must name when `backend_ca` is set).
    pub async fn connect(&self, tcp: TcpStream, address: &str) -> io::Result<Stream> {
        let name = ServerName::try_from(host_of(address).to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let tls = self.connector.connect(name, tcp).await?;
        Ok(Stream::Tls(Box::new(tls.into())))
    }
}

fn read_certs(path: &std::path::Path, key: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "{key}: cannot read certificates from {}: {e}",
                path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!("{key}: no certificate in {}", path.display()));
    }
    Ok(certs)
}

/// The host part of `host:port`, without IPv6 brackets.
fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

fn unverified_client() -> Arc<rustls::ClientConfig> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

/// Accepts any backend certificate (but still checks the handshake signatures, so the session
/// is encrypted with the key the server holds). Used only without `backend_ca`.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A connection to a client or a backend, plain or TLS.
#[derive(Default)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
    /// Only while being upgraded to TLS; any I/O on it fails.
    #[default]
    Detached,
}

impl Stream {
    /// Upgrades a plain client connection: runs the server side of the TLS handshake.
    pub async fn accept_tls(self, acceptor: &tokio_rustls::TlsAcceptor) -> io::Result<Stream> {
        match self {
            Stream::Plain(tcp) => Ok(Stream::Tls(Box::new(acceptor.accept(tcp).await?.into()))),
            _ => Err(io::Error::other("TLS requested twice")),
        }
    }

    /// The plain socket of a connection that has not switched to TLS.
    pub fn into_tcp(self) -> io::Result<TcpStream> {
        match self {
            Stream::Plain(tcp) => Ok(tcp),
            _ => Err(io::Error::other("TLS requested twice")),
        }
    }

    /// The negotiated cipher suite, for logs and the admin view.
    pub fn cipher(&self) -> Option<&'static str> {
        let suite = match self {
            Stream::Tls(t) => match &**t {
                tokio_rustls::TlsStream::Client(c) => c.get_ref().1.negotiated_cipher_suite(),
                tokio_rustls::TlsStream::Server(s) => s.get_ref().1.negotiated_cipher_suite(),
            },
            _ => None,
        }?;
        suite.suite().as_str()
    }

    /// True when nothing is waiting to be read and the peer has not closed: one read attempt
    /// that must not block. A server that dropped an idle connection shows up as end of stream
    /// or as an unsolicited error packet.
    pub fn is_quiet(&mut self) -> bool {
        let mut probe = [0u8; 64];
        let mut buf = ReadBuf::new(&mut probe);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        matches!(Pin::new(self).poll_read(&mut cx, &mut buf), Poll::Pending)
    }
}

fn detached() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "stream is being upgraded")
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
            Stream::Detached => Poll::Ready(Err(detached())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write(cx, buf),
            Stream::Detached => Poll::Ready(Err(detached())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_flush(cx),
            Stream::Detached => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(&mut **s).poll_shutdown(cx),
            Stream::Detached => Poll::Ready(Ok(())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(&mut **s).poll_write_vectored(cx, bufs),
            Stream::Detached => Poll::Ready(Err(detached())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
            Stream::Detached => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_address() {
        assert_eq!(host_of("127.0.0.1:3306"), "127.0.0.1");
        assert_eq!(host_of("db.example.com:3306"), "db.example.com");
        assert_eq!(host_of("[::1]:3306"), "::1");
    }

    #[test]
    fn missing_files_are_config_errors() {
        let t = Tls {
            cert: Some("/nonexistent/server.pem".into()),
            key: Some("/nonexistent/server.key".into()),
            require_client_tls: false,
            backend_ca: None,
            backend_tls: BackendTls::Preferred,
        };
        let e = TlsSetup::load(Some(&t)).unwrap_err();
        assert!(
            e.contains("tls.cert") && e.contains("/nonexistent/server.pem"),
            "{e}"
        );
    }
}
