//! TLS to PostgreSQL with rustls, in libpq's terms: `sslmode` and `sslrootcert` in the
//! store URL mean what they mean to `psql`, so a managed database's documented URL
//! works as written. tokio-postgres knows only disable/prefer/require and no root
//! certificate, so both are taken out of the URL here and the rest is its to parse.

use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::OpenError;

/// libpq's `sslmode`; `prefer` is its default and ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS when the server offers it, unverified (as libpq).
    Prefer,
    /// TLS or nothing; unverified unless `sslrootcert` is given (then as `verify-ca`).
    Require,
    /// The server's certificate chains to a trusted root; any host name.
    VerifyCa,
    /// The chain, and the host name the URL connects to.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                "sslmode `{other}` is not one of disable, prefer, require, verify-ca, verify-full"
            ))
            }
        })
    }
}

/// A store URL read: the driver's config and the TLS to connect with.
pub struct Connection {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
}

/// Reads `url` (`postgres://user:password@host:port/db?sslmode=…&sslrootcert=…`).
/// Errors never hold the URL: it may carry a password.
pub fn connection(url: &str) -> Result<Connection, OpenError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut mode = SslMode::Prefer;
    let mut root_cert = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "sslmode" => {
                mode = value
                    .parse()
                    .map_err(|e: String| OpenError::new("the store URL's sslmode", e))?;
            }
            "sslrootcert" => root_cert = Some(value.into_owned()),
            _ => {
                rest.append_pair(&key, &value);
            }
        }
    }
    let driver_mode = match mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    };
    let rest = rest.finish();
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{rest}")
    };
    let mut config = tokio_postgres::Config::from_str(&url).map_err(|e| {
        OpenError::new(
            "the store URL is not a PostgreSQL URL (postgres://user@host/db)",
            e,
        )
    })?;
    config.ssl_mode(driver_mode);
    let tls = client_config(mode, root_cert.as_deref())?;
    Ok(Connection {
        config,
        tls: MakeRustlsConnect::new(tls),
    })
}

fn client_config(mode: SslMode, root_cert: Option<&str>) -> Result<ClientConfig, OpenError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| OpenError::new("cannot set up TLS", e))?;
    let verify = match (mode, root_cert) {
        (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, None) => Verify::Nothing,
        (SslMode::Require | SslMode::VerifyCa, _) => Verify::Chain,
        (SslMode::VerifyFull, _) => Verify::ChainAndName,
    };
    if verify == Verify::Nothing {
        let verifier = Unverified(provider);
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth());
    }
    let roots = Arc::new(roots(root_cert)?);
    let chain = WebPkiServerVerifier::builder_with_provider(roots, provider)
        .build()
        .map_err(|e| OpenError::new("cannot set up TLS certificate checks", e))?;
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::ChainAndName => chain,
        _ => Arc::new(AnyName(chain)),
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

#[derive(Debug, PartialEq, Eq)]
enum Verify {
    Nothing,
    Chain,
    ChainAndName,
}

/// `sslrootcert`'s certificates (PEM), or the system's trusted roots.
fn roots(root_cert: Option<&str>) -> Result<RootCertStore, OpenError> {
    let mut roots = RootCertStore::empty();
    let Some(path) = root_cert else {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(OpenError::new(
                "no trusted root certificates on this system to check the database's against",
                "set sslrootcert=PATH in the store URL to the CA that signed the server's certificate",
            ));
        }
        return Ok(roots);
    };
    let cannot_read = |e: rustls::pki_types::pem::Error| {
        OpenError::new(format!("cannot read sslrootcert {path}"), e.to_string())
    };
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(path)
        .map_err(cannot_read)?
        .collect::<Result<_, _>>()
        .map_err(cannot_read)?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(OpenError::new(
            format!("sslrootcert {path} holds no certificate"),
            "it must be PEM: -----BEGIN CERTIFICATE-----",
        ));
    }
    Ok(roots)
}

/// `prefer` and `require` as libpq has them: encrypted, the certificate not checked.
/// The handshake's own signatures are still checked, so the session is with the holder
/// of the certificate's key, whoever that is.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signed: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            signed,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signed: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            signed,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the whole check but the host name.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signed: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, signed)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signed: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, signed)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(url: &str) -> tokio_postgres::config::SslMode {
        connection(url).map(|c| c.config.get_ssl_mode()).unwrap()
    }

    #[test]
    fn sslmode_and_sslrootcert_are_read_out_and_the_rest_passed_on() {
        use tokio_postgres::config::SslMode as Driver;
        assert_eq!(
            mode_of("postgres://u@h/db"),
            Driver::Prefer,
            "libpq's default"
        );
        assert_eq!(
            mode_of("postgres://u@h/db?sslmode=disable"),
            Driver::Disable
        );
        assert_eq!(
            mode_of("postgres://u@h/db?sslmode=verify-ca"),
            Driver::Require
        );
        let kept =
            connection("postgres://u@h/db?sslmode=require&application_name=hb&connect_timeout=3")
                .unwrap()
                .config;
        assert_eq!(kept.get_application_name(), Some("hb"));
        assert_eq!(
            kept.get_connect_timeout(),
            Some(&std::time::Duration::from_secs(3))
        );
    }

    #[test]
    fn a_wrong_sslmode_or_root_file_is_named_without_the_url() {
        let url = "postgres://u:secret-password@h/db?sslmode=verify-fully";
        let err = connection(url).err().expect("refused");
        let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(
            text.contains("sslmode `verify-fully` is not one of"),
            "{text}"
        );
        assert!(!text.contains("secret-password"), "{text}");
        let err =
            connection("postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
                .err()
                .expect("refused");
        assert!(
            err.to_string()
                .contains("cannot read sslrootcert /nonexistent/ca.pem"),
            "{err}"
        );
    }
}
