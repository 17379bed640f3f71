//! The certificates behind `serve`'s HTTPS listener.
//!
//! Either the operator brings a certificate and key (`--tls-cert`/`--tls-key`), or `serve` keeps a
//! local CA in the state directory and issues itself a server certificate from it:
//!
//! | file             | what                                              | mode |
//! |------------------|---------------------------------------------------|------|
//! | `ca.pem`         | the CA certificate, for AWS_CA_BUNDLE and friends | 0644 |
//! | `ca-key.pem`     | the CA key; never leaves the directory            | 0600 |
//! | `server.pem`     | the server certificate, issued by the CA          | 0644 |
//! | `server-key.pem` | its key                                           | 0600 |
//!
//! Later starts reuse the CA as it is (the same bytes, so a client that trusts it keeps trusting
//! it) and reissue the server certificate only when it no longer verifies against the CA for every
//! name `serve` answers to, now or a week from now.
//!
//! Several servers may start at once on one directory (the Python suite does): every file is
//! written to a temporary name and then linked or renamed into place, so nobody reads a half-written
//! file, and the first CA key to land wins for everybody.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The CA's common name (the subject that trust stores display).
pub const CA_COMMON_NAME: &str = "bedrock-gates local CA";
const SERVER_COMMON_NAME: &str = "bedrock-gates server";

/// How long a made CA is valid: ten years, so the trust that users configure once lasts.
const CA_LIFETIME: time::Duration = time::Duration::days(3650);
/// How long a server certificate is valid: 397 days, the longest that Apple platforms accept for
/// a TLS server certificate (also from a private CA).
const SERVER_LIFETIME: time::Duration = time::Duration::days(397);
/// A server certificate that expires within this margin is reissued at start.
const RENEW_MARGIN: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no PEM {what} found ({reason})")]
    Pem {
        path: PathBuf,
        what: &'static str,
        reason: String,
    },
    #[error("making a certificate: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("{0}: does not verify against {1} (the CA certificate and its key do not belong together; remove ca.pem and ca-key.pem to make a new CA)")]
    CaMismatch(PathBuf, PathBuf),
    #[error("{key}: this private key does not belong to the certificate in {cert}")]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("{0}")]
    Name(String),
}

/// Where the certificate comes from.
pub enum Source {
    /// A local CA in `dir` (`None`: a fresh temporary directory, removed when the `Tls` is dropped)
    /// and a server certificate from it for `names` (DNS names and IP addresses).
    LocalCa {
        dir: Option<PathBuf>,
        names: Vec<String>,
    },
    /// The operator's certificate chain and key (PEM); no CA is made.
    Provided { cert: PathBuf, key: PathBuf },
}

/// A ready TLS configuration and the files behind it.
pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    /// `ca.pem` of the local CA (none for a provided certificate).
    pub ca: Option<PathBuf>,
    /// The server certificate file.
    pub cert: PathBuf,
    /// Removes the temporary directory on drop.
    _temp: Option<tempfile::TempDir>,
}

/// The names a server certificate covers by default, plus `host` when it names something else
/// than these or an unspecified address (0.0.0.0 and :: are not names a client can verify).
pub fn server_names(host: &str) -> Vec<String> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let unspecified = host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified());
    let known = names.iter().any(|n| n.eq_ignore_ascii_case(host));
    if !host.is_empty() && !unspecified && !known {
        names.push(host.to_string());
    }
    names
}

/// Load or make the certificate and build the server configuration (ALPN h2, http/1.1).
pub fn setup(source: Source) -> Result<Tls, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (chain, key, ca, cert_path, temp) = match source {
        Source::Provided { cert, key } => {
            let chain = read_chain(&cert)?;
            let key_der = read_key(&key)?;
            if let Err(e) =
                rustls::sign::CertifiedKey::from_der(chain.clone(), key_der.clone_key(), &provider)
            {
                return Err(match e {
                    rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch { cert, key },
                    other => TlsError::Rustls(other),
                });
            }
            (chain, key_der, None, cert, None)
        }
        Source::LocalCa { dir, names } => {
            let (dir, temp) = match dir {
                Some(d) => (d, None),
                None => {
                    let t = tempfile::Builder::new()
                        .prefix("bedrock-gates-tls-")
                        .tempdir()
                        .map_err(|e| io_err(std::env::temp_dir(), e))?;
                    (t.path().to_path_buf(), Some(t))
                }
            };
            let files = LocalCa::new(&dir);
            let (chain, key) = files.ensure(&names, &provider)?;
            (chain, key, Some(files.ca), files.server, temp)
        }
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        config: Arc::new(config),
        ca,
        cert: cert_path,
        _temp: temp,
    })
}

fn io_err(path: impl Into<PathBuf>, source: std::io::Error) -> TlsError {
    TlsError::Io {
        path: path.into(),
        source,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| io_err(path, e))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let pem_err = |reason: String| TlsError::Pem {
        path: path.to_path_buf(),
        what: "CERTIFICATE",
        reason,
    };
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(pem_err("the file holds no certificate".into()));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Pem {
        path: path.to_path_buf(),
        what: "PRIVATE KEY",
        reason: e.to_string(),
    })
}

/// The four files of the local CA in one directory.
struct LocalCa {
    dir: PathBuf,
    ca: PathBuf,
    ca_key: PathBuf,
    server: PathBuf,
    server_key: PathBuf,
}

impl LocalCa {
    fn new(dir: &Path) -> LocalCa {
        LocalCa {
            dir: dir.to_path_buf(),
            ca: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            server: dir.join("server.pem"),
            server_key: dir.join("server-key.pem"),
        }
    }

    /// The server chain and key to serve, making or renewing what is missing or stale.
    fn ensure(
        &self,
        names: &[String],
        provider: &Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_err(&self.dir, e))?;
        let ca_key = self.ca_key()?;
        let ca_params = ca_params();
        if !self.ca.exists() {
            let now = time::OffsetDateTime::now_utc();
            let mut params = ca_params.clone();
            params.not_before = now - time::Duration::days(1);
            params.not_after = now + CA_LIFETIME;
            let cert = params.self_signed(&ca_key)?;
            // Another server may have written its own (equivalent: same key, same name) first.
            write_new(&self.ca, cert.pem().as_bytes(), 0o600)?;
        }
        let ca_der =
            CertificateDer::from_pem_slice(&read(&self.ca)?).map_err(|e| TlsError::Pem {
                path: self.ca.clone(),
                what: "CERTIFICATE",
                reason: e.to_string(),
            })?;
        let verifier = verifier(ca_der, provider)?;

        if let Some(pair) = self.current_server(names, &*verifier, provider) {
            return Ok(pair);
        }
        let issuer = Issuer::new(ca_params, &ca_key);
        let key = KeyPair::generate()?;
        let cert = server_params(names)?.signed_by(&key, &issuer)?;
        if !verifies(&*verifier, cert.der(), names, UnixTime::now()) {
            return Err(TlsError::CaMismatch(self.ca.clone(), self.ca_key.clone()));
        }
        write_replace(&self.server_key, key.serialize_pem().as_bytes(), 0o600)?;
        write_replace(&self.server, cert.pem().as_bytes(), 0o600)?;
        Ok((
            vec![cert.der().clone()],
            PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| TlsError::Pem {
                path: self.server_key.clone(),
                what: "PRIVATE KEY",
                reason: e.to_string(),
            })?,
        ))
    }

    /// The CA key: read, or made and linked into place (the first writer wins).
    fn ca_key(&self) -> Result<KeyPair, TlsError> {
        if !self.ca_key.exists() {
            let key = KeyPair::generate()?;
            write_new(&self.ca_key, key.serialize_pem().as_bytes(), 0o600)?;
        }
        restrict(&self.ca_key)?;
        let text = std::fs::read_to_string(&self.ca_key).map_err(|e| io_err(&self.ca_key, e))?;
        KeyPair::from_pem(&text).map_err(|e| TlsError::Pem {
            path: self.ca_key.clone(),
            what: "PRIVATE KEY",
            reason: e.to_string(),
        })
    }

    /// The stored server certificate and key when they still serve: they parse, belong together,
    /// come from this CA and cover every name now and for the renewal margin.
    fn current_server(
        &self,
        names: &[String],
        verifier: &dyn ServerCertVerifier,
        provider: &Arc<rustls::crypto::CryptoProvider>,
    ) -> Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
        let chain = read_chain(&self.server).ok()?;
        let key = read_key(&self.server_key).ok()?;
        rustls::sign::CertifiedKey::from_der(chain.clone(), key.clone_key(), provider).ok()?;
        let now = UnixTime::now();
        let later = UnixTime::since_unix_epoch(Duration::from_secs(now.as_secs()) + RENEW_MARGIN);
        let ok = verifies(verifier, &chain[0], names, now)
            && verifies(verifier, &chain[0], names, later);
        if ok {
            restrict(&self.server_key).ok()?;
        }
        ok.then_some((chain, key))
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn server_params(names: &[String]) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(names.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, SERVER_COMMON_NAME);
    params.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    // A day back: a client whose clock is a little behind still accepts a fresh certificate.
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + SERVER_LIFETIME;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // OpenSSL's strict mode (Python 3.13's default context) wants the authority key identifier.
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn verifier(
    ca: CertificateDer<'static>,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca)?;
    rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map(|v| v as Arc<dyn ServerCertVerifier>)
        .map_err(|e| TlsError::Name(format!("CA certificate: {e}")))
}

fn verifies(
    verifier: &dyn ServerCertVerifier,
    cert: &CertificateDer<'_>,
    names: &[String],
    at: UnixTime,
) -> bool {
    names.iter().all(|n| {
        ServerName::try_from(n.as_str()).is_ok_and(|name| {
            verifier
                .verify_server_cert(cert, &[], &name, &[], at)
                .is_ok()
        })
    })
}

/// Write `bytes` to a fresh temporary file beside `path` with `mode`.
fn write_temp(path: &Path, bytes: &[u8], mode: u32) -> Result<PathBuf, TlsError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".bedrock-gates-");
    // Set at creation (the umask may only narrow it): a key is never readable by others, not
    // even for a moment.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder.tempfile_in(dir).map_err(|e| io_err(dir, e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| io_err(tmp.path(), e))?;
    let (_, p) = tmp.keep().map_err(|e| io_err(path, e.error))?;
    Ok(p)
}

/// Create `path` with `bytes` unless it exists (then keep what is there).
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let tmp = write_temp(path, bytes, mode)?;
    // A hard link creates the name atomically and fails when it exists: of several servers
    // starting at once, exactly one file wins and nobody sees it half-written.
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}

/// Replace `path` with `bytes` atomically.
fn write_replace(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    let tmp = write_temp(path, bytes, mode)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(path, e)
    })
}

/// Keys stay readable by their owner only, also when someone loosened them.
#[cfg(unix)]
fn restrict(path: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
    if meta.permissions().mode() & 0o777 != 0o600 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io_err(path, e))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> Result<(), TlsError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        server_names("127.0.0.1")
    }

    #[test]
    fn server_names_add_only_a_new_specific_host() {
        assert_eq!(server_names("127.0.0.1"), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(server_names("0.0.0.0"), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(server_names("[::]"), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(
            server_names("bedrock.test"),
            ["localhost", "127.0.0.1", "::1", "bedrock.test"]
        );
        assert_eq!(
            server_names("10.1.2.3"),
            ["localhost", "127.0.0.1", "::1", "10.1.2.3"]
        );
    }

    #[test]
    fn first_start_makes_the_files_and_a_restart_reuses_them() {
        let dir = tempfile::tempdir().unwrap();
        let source = || Source::LocalCa {
            dir: Some(dir.path().to_path_buf()),
            names: names(),
        };
        let first = setup(source()).unwrap();
        assert_eq!(
            first.ca.as_deref(),
            Some(dir.path().join("ca.pem").as_path())
        );
        let files = ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem"];
        let before: Vec<Vec<u8>> = files
            .iter()
            .map(|f| std::fs::read(dir.path().join(f)).unwrap())
            .collect();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |f: &str| {
                std::fs::metadata(dir.path().join(f))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777
            };
            assert_eq!(mode("ca-key.pem"), 0o600);
            assert_eq!(mode("server-key.pem"), 0o600);
            assert_eq!(mode("ca.pem"), 0o600);
            assert_eq!(mode("server.pem"), 0o600);
        }
        setup(source()).unwrap();
        let after: Vec<Vec<u8>> = files
            .iter()
            .map(|f| std::fs::read(dir.path().join(f)).unwrap())
            .collect();
        assert_eq!(before, after, "a restart changes no file");
        // no temporary files left behind
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_new_name_reissues_the_server_certificate_from_the_same_ca() {
        let dir = tempfile::tempdir().unwrap();
        let at = |names: Vec<String>| Source::LocalCa {
            dir: Some(dir.path().to_path_buf()),
            names,
        };
        setup(at(names())).unwrap();
        let read = |f: &str| std::fs::read(dir.path().join(f)).unwrap();
        let (ca, server) = (read("ca.pem"), read("server.pem"));
        setup(at(server_names("bedrock.test"))).unwrap();
        assert_eq!(read("ca.pem"), ca, "same CA");
        assert_ne!(read("server.pem"), server, "reissued");
        // and the new certificate verifies for the new name against the old CA
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let v = verifier(CertificateDer::from_pem_slice(&ca).unwrap(), &provider).unwrap();
        let cert = CertificateDer::from_pem_slice(&read("server.pem")).unwrap();
        assert!(verifies(
            &*v,
            &cert,
            &server_names("bedrock.test"),
            UnixTime::now()
        ));
    }

    #[test]
    fn a_server_key_that_does_not_match_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let src = || Source::LocalCa {
            dir: Some(dir.path().to_path_buf()),
            names: names(),
        };
        setup(src()).unwrap();
        let other = KeyPair::generate().unwrap();
        std::fs::write(dir.path().join("server-key.pem"), other.serialize_pem()).unwrap();
        setup(src()).unwrap();
        let chain = read_chain(&dir.path().join("server.pem")).unwrap();
        let key = read_key(&dir.path().join("server-key.pem")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        assert!(rustls::sign::CertifiedKey::from_der(chain, key, &provider).is_ok());
    }

    #[test]
    fn a_ca_certificate_of_another_key_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let src = || Source::LocalCa {
            dir: Some(dir.path().to_path_buf()),
            names: names(),
        };
        setup(src()).unwrap();
        std::fs::write(
            dir.path().join("ca-key.pem"),
            KeyPair::generate().unwrap().serialize_pem(),
        )
        .unwrap();
        std::fs::remove_file(dir.path().join("server.pem")).unwrap();
        let err = setup(src()).err().unwrap().to_string();
        assert!(
            err.contains("remove ca.pem and ca-key.pem to make a new CA"),
            "{err}"
        );
    }

    #[test]
    fn provided_files_that_are_not_pem_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        let key = dir.path().join("k.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "nor a key").unwrap();
        let err = setup(Source::Provided {
            cert: cert.clone(),
            key,
        })
        .err()
        .unwrap()
        .to_string();
        assert_eq!(
            err,
            format!(
                "{}: no PEM CERTIFICATE found (the file holds no certificate)",
                cert.display()
            )
        );
    }

    #[test]
    fn memory_state_uses_a_temporary_directory_removed_on_drop() {
        let tls = setup(Source::LocalCa {
            dir: None,
            names: names(),
        })
        .unwrap();
        let dir = tls.ca.clone().unwrap().parent().unwrap().to_path_buf();
        assert!(dir.join("ca-key.pem").exists());
        drop(tls);
        assert!(!dir.exists());
    }
}
