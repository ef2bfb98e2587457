//! `cargo xtask demo`: the whole idea in one command. Starts a control plane,
//! applies the generated CRD, RBAC and webhook configurations (pointed at the
//! controller on loopback, with a certificate generated for it), runs the
//! User controller under its generated ServiceAccount, creates a few Users,
//! shows what was provisioned, reads and writes Users as v2 through the
//! conversion webhook, has the validating webhook refuse one, deletes one and
//! shows the cleanup.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crdforge_envtest::Instance;

use crate::workspace_root;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Leave the control plane and the controller running at the end.
    #[arg(long)]
    keep: bool,
}

const USERS: &str = r#"
apiVersion: example.com/v1
kind: User
metadata: {name: alice}
spec:
  displayName: Alice Liddell
  email: alice@example.com
  quota: {pods: "10", requests.cpu: "2"}
---
apiVersion: example.com/v1
kind: User
metadata: {name: bob}
spec:
  displayName: Bob Builder
  email: bob@example.com
  role: view
  groups: [builders]
---
apiVersion: example.com/v1
kind: User
metadata: {name: kube-public}
spec:
  displayName: Someone whose name is taken
  email: taken@example.com
---
apiVersion: example.com/v1
kind: User
metadata: {name: carol.smith}
spec:
  displayName: Carol Smith
  email: carol@example.com
"#;

/// The admission policy the validating webhook reads. Its name and key are
/// those of `user_api::webhooks` (xtask links no product crate); were they
/// to drift apart, mallory would be admitted and the demo would fail.
const POLICY: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: user-policy, namespace: user-controller-system}
data:
  allowedDomains: example.com
"#;

/// A User written as v2, with a team v1 has no field for.
const DAVE_V2: &str = r#"
apiVersion: example.com/v2
kind: User
metadata: {name: dave}
spec:
  displayName: Dave Lister
  email: dave@example.com
  access: {role: edit, groups: [crew]}
  team: red-dwarf
"#;

/// A User whose email's domain the policy does not list.
const MALLORY: &str = r#"
apiVersion: example.com/v1
kind: User
metadata: {name: mallory}
spec:
  displayName: Mallory
  email: mallory@evil.test
"#;

struct Kubectl {
    binary: PathBuf,
    kubeconfig: PathBuf,
}

impl Kubectl {
    fn run(&self, args: &[&str]) -> Result<String> {
        let out = Command::new(&self.binary)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .context("running kubectl")?;
        if !out.status.success() {
            bail!(
                "kubectl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn apply_stdin(&self, yaml: &str) -> Result<String> {
        let mut child = Command::new(&self.binary)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["apply", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        use std::io::Write;
        child
            .stdin
            .take()
            .context("kubectl stdin")?
            .write_all(yaml.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "kubectl apply failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `kubectl create -f -` that must be refused; returns kubectl's error.
    fn create_refused(&self, yaml: &str) -> Result<String> {
        let mut child = Command::new(&self.binary)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["create", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        use std::io::Write;
        child
            .stdin
            .take()
            .context("kubectl stdin")?
            .write_all(yaml.as_bytes())?;
        let out = child.wait_with_output()?;
        if out.status.success() {
            bail!("kubectl create accepted what it should refuse:\n{yaml}");
        }
        Ok(String::from_utf8_lossy(&out.stderr).into_owned())
    }

    fn show(&self, title: &str, args: &[&str]) -> Result<()> {
        println!("\n$ kubectl {}    # {title}", args.join(" "));
        print!("{}", self.run(args)?);
        Ok(())
    }
}

fn wait(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + limit;
    while !ok() {
        if Instant::now() > deadline {
            bail!("timed out after {} s waiting for {what}", limit.as_secs());
        }
        sleep(Duration::from_millis(300));
    }
    Ok(())
}

/// The controller process; killed when dropped.
struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let root = workspace_root();
    println!("==> building the User controller");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--package", "user-controller"])
        .current_dir(&root)
        .status()?;
    if !status.success() {
        bail!("building the controller failed");
    }
    let binary = crdforge_envtest::target_dir()?.join("debug/user-controller");

    println!("==> starting a control plane (etcd, kube-apiserver, kube-controller-manager)");
    let running = Instance::named("demo").start_scoped(&[])?;
    let instance = running.instance().clone();
    let state = instance
        .state()?
        .context("the demo instance has no state")?;
    let admin = Kubectl {
        binary: state.binaries.join("kubectl"),
        kubeconfig: instance.kubeconfig(),
    };

    println!("\n==> applying the generated CRD and least-privilege RBAC");
    let crd = root.join("generated/crds/users.example.com.yaml");
    let rbac = root.join("generated/deploy/user-controller/rbac.yaml");
    for file in [&crd, &rbac] {
        print!(
            "{}",
            admin.run(&["apply", "--server-side", "-f", path(file)])?
        );
    }
    admin.run(&[
        "wait",
        "--for=condition=Established",
        "crd/users.example.com",
        "--timeout=60s",
    ])?;

    println!(
        "\n==> the webhooks: a certificate for the controller, the generated configurations pointed at it on loopback"
    );
    let pki = crdforge_envtest::pki::ServingPki::generate(
        &instance.dir().join("webhook-pki"),
        &["127.0.0.1"],
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let webhooks = root.join("generated/deploy/user-webhooks/webhooks.yaml");
    let applied = admin.run(&[
        "apply",
        "--server-side",
        "-f",
        path(&webhooks),
        "-o",
        "name",
    ])?;
    // kubectl base64-encodes a Secret's data: the caBundle without a
    // base64 dependency in xtask.
    let ca_bundle = admin.run(&[
        "create",
        "secret",
        "generic",
        "ca",
        "--dry-run=client",
        &format!("--from-file=ca={}", path(&pki.dir.join("ca.crt"))),
        "-o",
        "jsonpath={.data.ca}",
    ])?;
    // In a cluster the generated Service reaches the controller and
    // cert-manager injects the CA; here every client config (the CRD's
    // conversion webhook and each admission webhook) becomes a URL on
    // loopback with the test CA, keeping the generated path.
    let mut configs = vec![(
        "customresourcedefinition/users.example.com".to_owned(),
        "/spec/conversion/webhook/clientConfig".to_owned(),
        "{.spec.conversion.webhook.clientConfig.service.path}".to_owned(),
    )];
    for object in applied
        .lines()
        .filter(|l| l.contains("webhookconfiguration"))
    {
        configs.push((
            object.to_owned(),
            "/webhooks/0/clientConfig".to_owned(),
            "{.webhooks[0].clientConfig.service.path}".to_owned(),
        ));
    }
    for (object, pointer, jsonpath) in &configs {
        let webhook_path = admin.run(&["get", object, "-o", &format!("jsonpath={jsonpath}")])?;
        let patch = serde_json::json!([{"op": "replace", "path": pointer, "value": {
            "url": format!("https://127.0.0.1:{port}{webhook_path}"),
            "caBundle": ca_bundle.trim(),
        }}]);
        admin.run(&["patch", object, "--type=json", "-p", &patch.to_string()])?;
        println!("    {object}: https://127.0.0.1:{port}{webhook_path}");
    }
    print!("{}", admin.apply_stdin(POLICY)?);

    println!("\n==> running the controller as its generated ServiceAccount (not as an admin)");
    let token = admin.run(&[
        "create",
        "token",
        "user-controller",
        "--namespace",
        "user-controller-system",
        "--duration=2h",
    ])?;
    let sa_kubeconfig = instance.dir().join("user-controller.kubeconfig");
    instance.write_token_kubeconfig(&sa_kubeconfig, "user-controller", &token)?;
    let directory = instance.dir().join("account-directory");
    let log = instance.dir().join("user-controller.log");
    let out = std::fs::File::create(&log)?;
    let controller = Controller(
        Command::new(&binary)
            .args([
                "--leader-elect",
                "--lease-namespace",
                "user-controller-system",
            ])
            .arg("--directory")
            .arg(&directory)
            .args(["--metrics-addr", "127.0.0.1:0"])
            .arg(format!("--webhook-addr=127.0.0.1:{port}"))
            .arg("--tls-cert")
            .arg(&pki.cert)
            .arg("--tls-key")
            .arg(&pki.key)
            .env("KUBECONFIG", &sa_kubeconfig)
            .env("NO_COLOR", "1")
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .context("starting the controller")?,
    );
    println!("    logs: {}", log.display());

    println!(
        "\n==> creating four Users: two ordinary, one whose namespace already exists, one whose name cannot name a namespace"
    );
    // The admission webhooks fail closed: until the controller serves them
    // the apply is refused, so it is retried.
    let mut created = String::new();
    wait(
        "the controller's webhooks to admit the Users",
        Duration::from_secs(60),
        || match admin.apply_stdin(USERS) {
            Ok(out) => {
                created = out;
                true
            }
            Err(_) => false,
        },
    )?;
    print!("{created}");
    wait(
        "every User to get a Ready condition",
        Duration::from_secs(60),
        || {
            admin
                .run(&[
                    "get",
                    "users",
                    "-o",
                    "jsonpath={range .items[*]}{.status.conditions[0].status}{\"\\n\"}{end}",
                ])
                .map(|s| s.lines().filter(|l| !l.is_empty()).count() == 4)
                .unwrap_or(false)
        },
    )?;

    admin.show(
        "the printer columns come from the Rust types",
        &["get", "users"],
    )?;
    admin.show(
        "why a User is not ready",
        &["get", "users", "-o", "custom-columns=NAME:.metadata.name,REASON:.status.conditions[0].reason,MESSAGE:.status.conditions[0].message"],
    )?;
    admin.show(
        "namespaces the controller made",
        &[
            "get",
            "namespaces",
            "-l",
            "app.kubernetes.io/managed-by=user-controller",
            "--show-labels",
        ],
    )?;
    admin.show(
        "access in each",
        &[
            "get",
            "rolebindings",
            "-A",
            "-l",
            "app.kubernetes.io/managed-by=user-controller",
            "-o",
            "wide",
        ],
    )?;
    admin.show("alice's quota", &["get", "resourcequota", "-n", "alice"])?;
    admin.show(
        "events",
        &[
            "get",
            "events",
            "-n",
            "default",
            "--field-selector",
            "involvedObject.kind=User",
            "-o",
            "custom-columns=USER:.involvedObject.name,TYPE:.type,REASON:.reason,MESSAGE:.message",
        ],
    )?;
    print_journal(&directory)?;

    println!(
        "\n==> v2 of the API: role and groups under `access`, and a team; v1 is stored, the controller's webhook converts"
    );
    admin.show(
        "the same Users, read as v2",
        &[
            "get",
            "users.v2.example.com",
            "-o",
            "custom-columns=NAME:.metadata.name,ROLE:.spec.access.role,GROUPS:.spec.access.groups",
        ],
    )?;
    print!("{}", admin.apply_stdin(DAVE_V2)?);
    admin.show(
        "dave, written as v2, read as v1: the team rides in an annotation",
        &[
            "get",
            "users.v1.example.com",
            "dave",
            "-o",
            "jsonpath=role={.spec.role} groups={.spec.groups} conversion-data={.metadata.annotations.example\\.com/conversion-data}{\"\\n\"}",
        ],
    )?;
    wait("dave to be provisioned", Duration::from_secs(60), || {
        admin
            .run(&[
                "get",
                "rolebinding",
                "user-access",
                "-n",
                "dave",
                "-o",
                "name",
            ])
            .is_ok()
    })?;
    admin.show(
        "the controller, on v1, bound dave's v2 role",
        &[
            "get",
            "rolebinding",
            "user-access",
            "-n",
            "dave",
            "-o",
            "wide",
        ],
    )?;

    println!("\n==> the validating webhook: a domain ConfigMap user-policy does not list");
    println!("$ kubectl create -f mallory.yaml    # email mallory@evil.test");
    print!("{}", admin.create_refused(MALLORY)?);

    println!(
        "\n==> deleting alice: the finalizer removes her account, the garbage collector her namespace"
    );
    admin.run(&["delete", "user", "alice", "--wait=true", "--timeout=60s"])?;
    print_journal(&directory)?;
    let started = Instant::now();
    wait(
        "namespace alice to be removed",
        Duration::from_secs(120),
        || {
            admin
                .run(&[
                    "get",
                    "namespace",
                    "alice",
                    "--ignore-not-found",
                    "-o",
                    "name",
                ])
                .map(|s| s.trim().is_empty())
                .unwrap_or(false)
        },
    )?;
    println!(
        "    namespace alice removed {:.0} s after the User",
        started.elapsed().as_secs_f64()
    );
    admin.show(
        "what is left",
        &[
            "get",
            "namespaces",
            "-l",
            "app.kubernetes.io/managed-by=user-controller",
        ],
    )?;

    if args.keep {
        std::mem::forget(controller);
        running.keep();
        println!(
            "\nThe control plane and the controller keep running:\n  export KUBECONFIG={}\n  cargo xtask envtest down --name demo",
            instance.kubeconfig().display()
        );
    } else {
        drop(controller);
        drop(running);
        println!("\n==> stopped the controller and the control plane");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_journal(directory: &Path) -> Result<()> {
    let journal = std::fs::read_to_string(directory.join("journal.log")).unwrap_or_default();
    println!(
        "\n$ cat account-directory/journal.log    # the external system the finalizer keeps in step"
    );
    print!("{journal}");
    Ok(())
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}
