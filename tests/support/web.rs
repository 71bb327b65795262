//! Plain HTTP/1.1 and TLS clients on loopback, and servers that answer
//! with their own name, shared by the tests that run a real proxy
//! (tests/synapse.rs, tests/pingress_proxy.rs).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub fn request_head(method: &str, host: &str, path: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
}

/// A TLS client that takes any certificate (the proxy's is made by the
/// test) and offers HTTP/1.1 alone.
pub fn tls_client() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| Arc::new(tls_config(Vec::new()))))
}

/// The same client offering HTTP/2 by ALPN, as a gRPC client does.
pub fn h2_client() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| Arc::new(tls_config(vec![b"h2".to_vec()]))))
}

fn tls_config(alpn: Vec<Vec<u8>>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    config.alpn_protocols = alpn;
    config
}

#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
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
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One HTTP/1.1 exchange on loopback: status, Location, body.
pub fn exchange(port: u16, request: &[u8]) -> Reply {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new(), "no connection".into());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    if s.write_all(request).is_err() {
        return (0, String::new(), "write failed".into());
    }
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    parse_reply(&reply)
}

pub fn parse_reply(reply: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(reply).to_string();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let location = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("location")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, location, body.to_string())
}

/// A reply: status, Location, body.
pub type Reply = (u16, String, String);

/// A TLS connection to 127.0.0.1:`port` with `sni` as the server name
/// (any certificate taken): the certificate served (DER) and, when
/// `request` is not empty, the reply to it (status, Location, body). Err
/// when the connection or the handshake fails.
pub fn tls_exchange(port: u16, sni: &str, request: &[u8]) -> Result<(Vec<u8>, Reply), String> {
    let name =
        rustls::pki_types::ServerName::try_from(sni.to_string()).map_err(|e| e.to_string())?;
    let mut conn = rustls::ClientConnection::new(tls_client(), name).map_err(|e| e.to_string())?;
    let mut sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let _ = sock.set_read_timeout(Some(Duration::from_secs(60)));
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)
            .map_err(|e| format!("handshake: {e}"))?;
    }
    let cert = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .ok_or_else(|| "no certificate".to_string())?;
    if request.is_empty() {
        return Ok((cert, (0, String::new(), String::new())));
    }
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(request)
        .map_err(|e| format!("TLS write: {e}"))?;
    let mut reply = Vec::new();
    // A peer that closes without close_notify ends the reply as well.
    let _ = tls.read_to_end(&mut reply);
    Ok((cert, parse_reply(&reply)))
}

/// Serves every connection of `listener` with `answer`, each on its
/// own thread, for as long as the test runs.
pub fn serve_name(listener: TcpListener, name: &str) {
    let name = Arc::new(name.to_string());
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let name = Arc::clone(&name);
            std::thread::spawn(move || answer(conn, &name));
        }
    });
}

/// Answers one connection: a 200 whose body is `name` (none for HEAD);
/// what is not HTTP is closed at once.
fn answer(mut conn: TcpStream, name: &str) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        // Not HTTP (Synapse probes for TLS first): close at once.
        if !got.first().is_some_and(u8::is_ascii_uppercase) || got.len() > 65536 {
            return;
        }
    }
    let head = got.starts_with(b"HEAD ");
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        name.len(),
        if head { "" } else { name }
    );
    let _ = conn.write_all(reply.as_bytes());
}
