//! The certificates and keys a control plane needs, generated fresh for each
//! instance: a CA, the apiserver's serving certificate, client certificates
//! for an admin (`system:masters`) and for kube-controller-manager, and the
//! service-account signing key.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// File paths of the generated material, all PEM.
#[derive(Debug, Clone)]
pub struct Pki {
    /// CA certificate: trusted for serving and as the client CA.
    pub ca_cert: PathBuf,
    /// CA key, kept so kube-controller-manager can sign CSRs if asked.
    pub ca_key: PathBuf,
    /// kube-apiserver serving certificate and key.
    pub serving_cert: PathBuf,
    /// Key of [`Pki::serving_cert`].
    pub serving_key: PathBuf,
    /// Client certificate of the admin user, in group `system:masters`.
    pub admin_cert: PathBuf,
    /// Key of [`Pki::admin_cert`].
    pub admin_key: PathBuf,
    /// Client certificate of `system:kube-controller-manager`.
    pub controller_manager_cert: PathBuf,
    /// Key of [`Pki::controller_manager_cert`].
    pub controller_manager_key: PathBuf,
    /// Service-account token signing key.
    pub service_account_key: PathBuf,
    /// Its public half, which the apiserver verifies tokens with. A separate
    /// file because the apiserver does not derive it from a PKCS#8 key.
    pub service_account_pub: PathBuf,
}

/// The admin user's name, as RBAC sees it.
pub const ADMIN_USER: &str = "crdforge-admin";

impl Pki {
    /// Generates everything into `dir`. ECDSA P-256 throughout: quick to
    /// generate, and accepted by the apiserver, etcd's clients and rustls.
    pub fn generate(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir)?;
        let write = |name: &str, contents: String| -> Result<PathBuf> {
            let path = dir.join(name);
            fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
            Ok(path)
        };

        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "crdforge-envtest-ca");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let ca_cert_path = write("ca.crt", ca_cert.pem())?;
        let ca_key_path = write("ca.key", ca_key.serialize_pem())?;
        let issuer = Issuer::new(ca_params, ca_key);

        // The names a client may use for the apiserver: loopback, and the
        // in-cluster service names and first service IP (10.0.0.1 for the
        // service range the apiserver is started with).
        let mut serving = leaf("kube-apiserver", &[], ExtendedKeyUsagePurpose::ServerAuth)?;
        serving.subject_alt_names = vec![
            SanType::IpAddress([127, 0, 0, 1].into()),
            SanType::IpAddress([10, 0, 0, 1].into()),
            SanType::DnsName("localhost".try_into()?),
            SanType::DnsName("kubernetes".try_into()?),
            SanType::DnsName("kubernetes.default".try_into()?),
            SanType::DnsName("kubernetes.default.svc".try_into()?),
        ];
        let (serving_cert, serving_key) = sign(&serving, &issuer)?;

        let admin = leaf(
            ADMIN_USER,
            &["system:masters"],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let (admin_cert, admin_key) = sign(&admin, &issuer)?;

        let kcm = leaf(
            "system:kube-controller-manager",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        let (kcm_cert, kcm_key) = sign(&kcm, &issuer)?;

        let sa_key = KeyPair::generate()?;

        Ok(Self {
            ca_cert: ca_cert_path,
            ca_key: ca_key_path,
            serving_cert: write("apiserver.crt", serving_cert)?,
            serving_key: write("apiserver.key", serving_key)?,
            admin_cert: write("admin.crt", admin_cert)?,
            admin_key: write("admin.key", admin_key)?,
            controller_manager_cert: write("controller-manager.crt", kcm_cert)?,
            controller_manager_key: write("controller-manager.key", kcm_key)?,
            service_account_key: write("service-account.key", sa_key.serialize_pem())?,
            service_account_pub: write("service-account.pub", sa_key.public_key_pem())?,
        })
    }

    /// The paths of an instance generated earlier into `dir`.
    pub fn at(dir: &Path) -> Self {
        Self {
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            serving_cert: dir.join("apiserver.crt"),
            serving_key: dir.join("apiserver.key"),
            admin_cert: dir.join("admin.crt"),
            admin_key: dir.join("admin.key"),
            controller_manager_cert: dir.join("controller-manager.crt"),
            controller_manager_key: dir.join("controller-manager.key"),
            service_account_key: dir.join("service-account.key"),
            service_account_pub: dir.join("service-account.pub"),
        }
    }
}

/// A CA and a serving certificate it signed, for a webhook server in tests:
/// the files a cert-manager `Certificate`'s Secret would hold (`ca.crt`,
/// `tls.crt`, `tls.key`), and the CA's PEM for a `caBundle`.
pub struct ServingPki {
    issuer: Issuer<'static, KeyPair>,
    names: Vec<String>,
    /// The directory holding the files.
    pub dir: PathBuf,
    /// The CA certificate, PEM: what a webhook configuration's `caBundle`
    /// holds (base64-encoded by serde).
    pub ca_pem: String,
    /// `tls.crt`: the serving certificate.
    pub cert: PathBuf,
    /// `tls.key`: its key.
    pub key: PathBuf,
}

impl ServingPki {
    /// A new CA, and a serving certificate for `names` (DNS names or IP
    /// addresses) written to `dir/tls.crt` and `dir/tls.key`.
    pub fn generate(dir: &Path, names: &[&str]) -> Result<Self> {
        fs::create_dir_all(dir)?;
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "crdforge-webhook-ca");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_pem = ca_params.self_signed(&ca_key)?.pem();
        fs::write(dir.join("ca.crt"), &ca_pem)?;
        let pki = Self {
            issuer: Issuer::new(ca_params, ca_key),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            dir: dir.to_owned(),
            ca_pem,
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        };
        pki.renew()?;
        Ok(pki)
    }

    /// Issues a fresh serving certificate and key from the same CA and
    /// replaces the files, as cert-manager does when it renews: the key
    /// first to a temporary name, then both renamed into place, so a reader
    /// sees either the old pair or the new one (or, between the two
    /// renames, a mismatched pair, which a loader must skip). Returns the
    /// new certificate's PEM.
    pub fn renew(&self) -> Result<String> {
        let mut params = leaf("crdforge-webhook", &[], ExtendedKeyUsagePurpose::ServerAuth)?;
        params.subject_alt_names = self
            .names
            .iter()
            .map(|name| match name.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName(name.as_str().try_into()?)),
            })
            .collect::<Result<_>>()?;
        let (cert, key) = sign(&params, &self.issuer)?;
        let tmp_key = self.dir.join(".tls.key.new");
        let tmp_cert = self.dir.join(".tls.crt.new");
        fs::write(&tmp_key, &key)?;
        fs::write(&tmp_cert, &cert)?;
        fs::rename(&tmp_key, &self.key)?;
        fs::rename(&tmp_cert, &self.cert)?;
        Ok(cert)
    }
}

/// Parameters of a leaf certificate. Kubernetes reads the user name from the
/// common name and the groups from the organization entries.
fn leaf(
    common_name: &str,
    groups: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    for group in groups {
        params
            .distinguished_name
            .push(DnType::OrganizationName, *group);
    }
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    Ok(params)
}

fn sign(params: &CertificateParams, issuer: &Issuer<'_, KeyPair>) -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serving_pki_renews_from_the_same_ca() {
        let dir = std::env::temp_dir().join(format!("crdforge-serving-{}", std::process::id()));
        let pki = ServingPki::generate(&dir, &["127.0.0.1", "webhook.default.svc"]).unwrap();
        let first = fs::read_to_string(&pki.cert).unwrap();
        assert!(first.starts_with("-----BEGIN CERTIFICATE-----"));
        let renewed = pki.renew().unwrap();
        assert_ne!(first, renewed);
        assert_eq!(fs::read_to_string(&pki.cert).unwrap(), renewed);
        assert_eq!(fs::read_to_string(dir.join("ca.crt")).unwrap(), pki.ca_pem);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn generates_every_file_as_pem() {
        let dir = std::env::temp_dir().join(format!("crdforge-pki-{}", std::process::id()));
        let pki = Pki::generate(&dir).unwrap();
        for path in [
            &pki.ca_cert,
            &pki.serving_cert,
            &pki.admin_cert,
            &pki.controller_manager_cert,
        ] {
            assert!(
                fs::read_to_string(path)
                    .unwrap()
                    .starts_with("-----BEGIN CERTIFICATE-----")
            );
        }
        for path in [
            &pki.ca_key,
            &pki.serving_key,
            &pki.admin_key,
            &pki.service_account_key,
        ] {
            assert!(
                fs::read_to_string(path)
                    .unwrap()
                    .starts_with("-----BEGIN PRIVATE KEY-----")
            );
        }
        assert!(
            fs::read_to_string(&pki.service_account_pub)
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert_eq!(Pki::at(&dir).service_account_pub, pki.service_account_pub);
        fs::remove_dir_all(dir).unwrap();
    }
}
