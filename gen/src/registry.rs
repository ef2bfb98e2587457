//! Generation as a library for a repository's own `xtask gen`: a
//! [`Registry`] of outputs — CRDs into a folder, a controller's RBAC and
//! Deployment manifests into another, API reference docs into a third, any
//! other file — and three ways to run it: write, check (a unified diff of
//! every stale file, orphans reported, an exit code, the fixing command
//! named as configured) and compat (breaking changes against the CRDs of a
//! git revision or a file, see [`crate::compat`]).
//!
//! Every folder given to the registry is owned by it: a file there that is
//! no longer generated is removed by a write and reported by a check. The
//! command given to [`Registry::new`] is the one named in every file's
//! header and in every message that tells how to fix something.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as api;

use crdforge::crd::Definition;

use crate::compat::allow::AllowList;
use crate::compat::{self, Finding};
use crate::drift::{self, Outcome};
use crate::generate::{self, GeneratedFile};
use crate::rbac::ControllerManifest;

/// CRDs by name.
type CrdMap = BTreeMap<String, api::CustomResourceDefinition>;

/// Each CEL rule of `crds` whose cost the offline check cannot price, as a
/// warning naming the CRD, version and field.
fn unpriced_rules(crds: &CrdMap) -> Vec<String> {
    let mut warnings = Vec::new();
    for (name, crd) in crds {
        for version in &crd.spec.versions {
            let schema = version
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref());
            if let Some(schema) = schema {
                let root = crdforge::crd::from_props(schema);
                for problem in crate::validate::unpriced_rules(&root) {
                    warnings.push(format!(
                        "{name} {} {}: {}",
                        version.name,
                        if problem.path.is_empty() {
                            "(root)"
                        } else {
                            &problem.path
                        },
                        problem.message
                    ));
                }
            }
        }
    }
    warnings
}

/// Breaking changes from `old` to `new`; an old CRD missing from `new` is
/// removed.
fn compare(old: &CrdMap, new: &CrdMap) -> Vec<Finding> {
    old.iter()
        .flat_map(|(name, old)| compat::detect(old, new.get(name)))
        .collect()
}

/// One registered output.
#[derive(Clone, Debug)]
enum Output {
    /// `<dir>/<plural>.<group>.yaml` per kind.
    Crds {
        dir: String,
        definitions: Vec<Definition>,
    },
    /// `<dir>/rbac.yaml`, `fence.yaml`, `deployment.yaml`.
    Controller {
        dir: String,
        manifest: Box<ControllerManifest>,
    },
    /// `<dir>/rbac.yaml`, `daemonset.yaml`.
    Agent {
        dir: String,
        manifest: Box<crate::agent::AgentManifest>,
    },
    /// `<dir>/<group>-<version>.md` per group/version, and an index.
    Docs {
        dir: String,
        definitions: Vec<Definition>,
    },
    /// `<dir>/webhooks.yaml`: a webhook server's Service and webhook
    /// configurations.
    Webhooks {
        dir: String,
        webhooks: Box<crdforge::webhook::Webhooks>,
    },
    /// One file made elsewhere.
    File(GeneratedFile),
}

/// What the generated files of a repository are, and where they go.
#[derive(Clone, Debug)]
pub struct Registry {
    root: PathBuf,
    command: String,
    outputs: Vec<Output>,
    allow_list: Option<String>,
}

/// How to run a [`Registry`]: write (the default), check, compat.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Touch nothing; report every stale or orphaned file with a diff,
    /// and the breaking changes the stale CRDs would make.
    pub check: bool,
    /// Touch nothing; report the breaking changes from the CRDs of this
    /// base — a git revision (its committed CRDs in the registry's CRD
    /// folders) or a YAML file or folder of CRDs.
    pub compat: Option<String>,
}

/// The usage line of [`Options::from_args`].
pub const USAGE: &str = "[--check] [--compat BASE]";

impl Options {
    /// `--check` and `--compat BASE` (or `--compat=BASE`) from command-line
    /// arguments, the program name excluded. `--help` is an `Err` holding
    /// the usage.
    ///
    /// Hand-rolled rather than clap: two flags do not justify a parser
    /// dependency in every user's xtask; crdforge's own xtask parses with
    /// clap and builds `Options` itself.
    pub fn from_args(args: impl IntoIterator<Item = OsString>) -> Result<Options, String> {
        let mut options = Options::default();
        let mut args = args.into_iter().map(|a| a.to_string_lossy().into_owned());
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--check" => options.check = true,
                "--compat" => {
                    let base = args
                        .next()
                        .ok_or("`--compat` needs a base: a git revision or a CRD file")?;
                    options.compat = Some(base);
                }
                "-h" | "--help" => return Err(format!("usage: {USAGE}")),
                other => match other.strip_prefix("--compat=") {
                    Some(base) => options.compat = Some(base.to_owned()),
                    None => return Err(format!("unknown argument `{other}`; usage: {USAGE}")),
                },
            }
        }
        Ok(options)
    }
}

/// What a run found and did.
#[derive(Debug, Default)]
pub struct Report {
    /// Each file and what happened to it (or, checking, what would).
    pub outcomes: Vec<(String, Outcome)>,
    /// Breaking changes, each with the allow-list entry accepting it.
    pub findings: Vec<(Finding, Option<compat::allow::Allowed>)>,
    /// What stopped the run: generation errors, unreadable files, a bad
    /// base or allow-list.
    pub errors: Vec<String>,
    /// What the offline check could not decide and leaves to the
    /// apiserver (a CEL rule whose cost it cannot price); they do not fail
    /// the run.
    pub warnings: Vec<String>,
    /// The command that fixes stale files, for messages.
    command: String,
    /// The allow-list's path, for messages.
    allow_list: Option<String>,
    /// The compat base and how many of its CRDs were compared.
    compared: Option<(String, usize)>,
    /// A write: breaking changes against the replaced files are warnings
    /// (the write has happened; a second write would find none).
    warn_only: bool,
}

impl Report {
    /// Stale or orphaned files (checking).
    pub fn stale(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Stale(_)))
            .count()
    }

    /// Breaking changes no allow-list entry accepts.
    pub fn unaccepted(&self) -> usize {
        self.findings.iter().filter(|(_, a)| a.is_none()).count()
    }

    /// 0: all is well; 1: stale files, or breaking changes not accepted
    /// (checking or comparing; a write only warns of them); 2: the run
    /// could not be completed.
    pub fn exit_code(&self) -> ExitCode {
        if !self.errors.is_empty() {
            ExitCode::from(2)
        } else if self.stale() > 0 || (!self.warn_only && self.unaccepted() > 0) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }

    /// Prints the outcomes to stdout and the verdict to stderr.
    pub fn print(&self) {
        for (path, outcome) in &self.outcomes {
            match outcome {
                Outcome::Unchanged => println!("unchanged {path}"),
                Outcome::Written => println!("written   {path}"),
                Outcome::Removed => println!("removed   {path}"),
                Outcome::Stale(diff) => {
                    println!("stale     {path}");
                    print!("{diff}");
                }
            }
        }
        for (finding, allowed) in &self.findings {
            match allowed {
                Some(allowed) => {
                    println!("breaking (accepted: {}) {finding}", allowed.reason)
                }
                None => println!("breaking  {finding}"),
            }
        }
        if let Some((base, count)) = &self.compared {
            let accepted = self.findings.len() - self.unaccepted();
            println!(
                "compat: {count} CRD(s) of {base} compared: {} breaking change(s), {accepted} \
                 accepted",
                self.findings.len()
            );
        }
        for warning in &self.warnings {
            eprintln!("warning: {warning}");
        }
        for error in &self.errors {
            eprintln!("error: {error}");
        }
        let stale = self.stale();
        if stale > 0 {
            eprintln!(
                "error: {stale} generated file(s) are stale or no longer generated; run `{}` \
                 and commit the result",
                self.command
            );
        }
        let unaccepted = self.unaccepted();
        if unaccepted > 0 {
            let file = self.allow_list.as_deref().unwrap_or("an allow-list file");
            let level = if self.warn_only { "warning" } else { "error" };
            eprintln!(
                "{level}: {unaccepted} breaking change(s); change the types back, or accept each \
                 after review with an entry in {file}:"
            );
            for (finding, _) in self.findings.iter().filter(|(_, a)| a.is_none()) {
                eprint!("{}", AllowList::entry_for(finding));
            }
        }
    }
}

impl Registry {
    /// A registry writing under `root` (usually the repository's root:
    /// `Path::new(env!("CARGO_MANIFEST_DIR")).join("..")` from an xtask
    /// crate), whose files say they are made by `command` and whose
    /// messages tell to run it.
    pub fn new(root: impl Into<PathBuf>, command: &str) -> Self {
        Registry {
            root: root.into(),
            command: command.to_owned(),
            outputs: Vec::new(),
            allow_list: None,
        }
    }

    /// The CRDs of `definitions` (every version of every kind), one file
    /// per kind, in `dir` (relative to the root).
    pub fn crds(mut self, dir: &str, definitions: Vec<Definition>) -> Self {
        self.outputs.push(Output::Crds {
            dir: dir.to_owned(),
            definitions,
        });
        self
    }

    /// A controller's RBAC, fence and Deployment manifests in `dir`.
    pub fn controller(mut self, dir: &str, manifest: ControllerManifest) -> Self {
        self.outputs.push(Output::Controller {
            dir: dir.to_owned(),
            manifest: Box::new(manifest),
        });
        self
    }

    /// A per-node agent's RBAC and DaemonSet manifests in `dir`.
    pub fn agent(mut self, dir: &str, manifest: crate::agent::AgentManifest) -> Self {
        self.outputs.push(Output::Agent {
            dir: dir.to_owned(),
            manifest: Box::new(manifest),
        });
        self
    }

    /// API reference docs of `definitions` in `dir`: one Markdown page per
    /// group/version and an index (see [`crate::docs`]).
    pub fn docs(mut self, dir: &str, definitions: Vec<Definition>) -> Self {
        self.outputs.push(Output::Docs {
            dir: dir.to_owned(),
            definitions,
        });
        self
    }

    /// A webhook server's Service and webhook configurations in `dir`
    /// (see [`crate::webhooks`]).
    pub fn webhooks(mut self, dir: &str, webhooks: crdforge::webhook::Webhooks) -> Self {
        self.outputs.push(Output::Webhooks {
            dir: dir.to_owned(),
            webhooks: Box::new(webhooks),
        });
        self
    }

    /// One more file, made by the caller (its folder is not owned).
    pub fn file(mut self, path: &str, contents: String) -> Self {
        self.outputs.push(Output::File(GeneratedFile {
            path: path.to_owned(),
            contents,
        }));
        self
    }

    /// The reviewed allow-list of breaking changes (relative to the root;
    /// a missing file accepts nothing). See [`crate::compat::allow`].
    pub fn allow_list(mut self, path: &str) -> Self {
        self.allow_list = Some(path.to_owned());
        self
    }

    /// The root the paths are relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every file, as data; nothing is written. Errors name what failed.
    pub fn files(&self) -> Result<Vec<GeneratedFile>, Vec<String>> {
        self.generate().map(|(files, _)| files)
    }

    /// Every file, and the CRDs built on the way (by name), so that
    /// breaking changes are judged on the very CRDs written.
    fn generate(&self) -> Result<(Vec<GeneratedFile>, CrdMap), Vec<String>> {
        let mut files = Vec::new();
        let mut all_crds = CrdMap::new();
        let mut errors = Vec::new();
        for output in &self.outputs {
            match output {
                Output::Crds { dir, definitions } => {
                    let rendered = generate::crds(definitions.clone()).and_then(|crds| {
                        let rendered = generate::render_crds(dir, &self.command, &crds)?;
                        all_crds.extend(crds);
                        Ok(rendered)
                    });
                    match rendered {
                        Ok(found) => files.extend(found),
                        Err(e) => errors.extend(e.iter().map(|e| e.to_string())),
                    }
                }
                Output::Controller { dir, manifest } => {
                    match crate::rbac::deploy_files(dir, &self.command, manifest) {
                        Ok(found) => files.extend(found),
                        Err(e) => errors.push(format!("the manifests of {}: {e}", manifest.name)),
                    }
                }
                Output::Agent { dir, manifest } => {
                    match crate::agent::agent_files(dir, &self.command, manifest) {
                        Ok(found) => files.extend(found),
                        Err(e) => errors.push(format!(
                            "the manifests of {}: {e}",
                            manifest.controller.name
                        )),
                    }
                }
                Output::Docs { dir, definitions } => {
                    match crate::docs::doc_files(dir, &self.command, definitions.clone()) {
                        Ok(found) => files.extend(found),
                        Err(e) => errors.extend(e.iter().map(|e| e.to_string())),
                    }
                }
                Output::Webhooks { dir, webhooks } => {
                    match crate::webhooks::webhook_files(dir, &self.command, webhooks) {
                        Ok(found) => files.extend(found),
                        Err(e) => errors.push(format!("the webhooks in {dir}: {e}")),
                    }
                }
                Output::File(file) => files.push(file.clone()),
            }
        }
        if errors.is_empty() {
            Ok((files, all_crds))
        } else {
            Err(errors)
        }
    }

    /// The folders whose every file the registry owns.
    fn owned_dirs(&self) -> Vec<&str> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Crds { dir, .. }
                | Output::Controller { dir, .. }
                | Output::Agent { dir, .. }
                | Output::Docs { dir, .. }
                | Output::Webhooks { dir, .. } => Some(dir.as_str()),
                Output::File(_) => None,
            })
            .collect()
    }

    /// The CRD folders.
    fn crd_dirs(&self) -> Vec<&str> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Crds { dir, .. } => Some(dir.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Writes every file that changed and removes orphans; breaking changes
    /// against the files being replaced are reported (accepted or not, they
    /// do not stop the write: the check and compat modes gate).
    pub fn write(&self) -> Report {
        self.run(&Options::default())
    }

    /// Changes nothing; reports stale and orphaned files with diffs, and
    /// the breaking changes of stale CRD files.
    pub fn check(&self) -> Report {
        self.run(&Options {
            check: true,
            compat: None,
        })
    }

    /// Runs as `options` say.
    pub fn run(&self, options: &Options) -> Report {
        let mut report = Report {
            command: self.command.clone(),
            allow_list: self.allow_list.clone(),
            warn_only: !options.check && options.compat.is_none(),
            ..Report::default()
        };
        let (files, new) = match self.generate() {
            Ok(generated) => generated,
            Err(errors) => {
                report.errors = errors;
                return report;
            }
        };
        report.warnings = unpriced_rules(&new);
        let allow = match self.load_allow_list() {
            Ok(allow) => allow,
            Err(e) => {
                report.errors.push(e);
                return report;
            }
        };
        let mut findings = Vec::new();
        if options.check || options.compat.is_none() {
            // The CRD files on disk are the base of a write or check: what
            // replacing them would break.
            match self.crds_on_disk() {
                Ok(old) => findings.extend(compare(&old, &new)),
                Err(e) => report.errors.push(e),
            }
            match drift::sync(&self.root, &files, &self.owned_dirs(), options.check) {
                Ok(outcomes) => report.outcomes = outcomes,
                Err(e) => report
                    .errors
                    .push(format!("writing under {}: {e}", self.root.display())),
            }
        }
        if let Some(base) = &options.compat {
            match self.crds_of_base(base) {
                Ok(old) => {
                    report.compared = Some((base.clone(), old.len()));
                    findings.extend(compare(&old, &new));
                }
                Err(e) => report.errors.push(e),
            }
        }
        findings.sort();
        findings.dedup();
        report.findings = findings
            .into_iter()
            .map(|f| {
                let allowed = allow.allows(&f).cloned();
                (f, allowed)
            })
            .collect();
        report
    }

    /// Parses the arguments of the process (`--check`, `--compat BASE`),
    /// runs, prints the report and returns its exit code: the whole body
    /// of a repository's `xtask gen`.
    pub fn main(&self) -> ExitCode {
        match Options::from_args(std::env::args_os().skip(1)) {
            Ok(options) => {
                let report = self.run(&options);
                report.print();
                report.exit_code()
            }
            Err(usage) => {
                eprintln!("{} {usage}", self.command);
                ExitCode::from(2)
            }
        }
    }

    fn load_allow_list(&self) -> Result<AllowList, String> {
        let Some(path) = &self.allow_list else {
            return Ok(AllowList::default());
        };
        match std::fs::read_to_string(self.root.join(path)) {
            Ok(text) => AllowList::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AllowList::default()),
            Err(e) => Err(format!("reading {path}: {e}")),
        }
    }

    /// The CRDs in the registry's CRD folders as they are on disk.
    fn crds_on_disk(&self) -> Result<CrdMap, String> {
        let mut crds = CrdMap::new();
        for dir in self.crd_dirs() {
            let dir = self.root.join(dir);
            if !dir.is_dir() {
                continue;
            }
            for path in yaml_files(&dir)? {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                crds.extend(parse_crds(&path.display().to_string(), &text)?);
            }
        }
        Ok(crds)
    }

    /// The CRDs of a base: a file or folder if one exists at that path
    /// (relative to the current directory, then to the root), else a git
    /// revision, whose committed files in the registry's CRD folders count.
    fn crds_of_base(&self, base: &str) -> Result<CrdMap, String> {
        let path = [PathBuf::from(base), self.root.join(base)]
            .into_iter()
            .find(|p| p.exists());
        if let Some(path) = path {
            let paths = if path.is_dir() {
                yaml_files(&path)?
            } else {
                vec![path]
            };
            let mut crds = CrdMap::new();
            for path in paths {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                crds.extend(parse_crds(&path.display().to_string(), &text)?);
            }
            return Ok(crds);
        }
        let git = |args: &[&str]| -> Result<String, String> {
            let output = std::process::Command::new("git")
                .arg("-C")
                .arg(&self.root)
                .args(args)
                .output()
                .map_err(|e| format!("running git: {e}"))?;
            if output.status.success() {
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            } else {
                Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
            }
        };
        git(&[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{base}^{{commit}}"),
        ])
        .map_err(|_| {
            format!(
                "--compat {base}: neither a file nor a git revision of {}",
                self.root.display()
            )
        })?;
        let mut crds = CrdMap::new();
        for dir in self.crd_dirs() {
            let listing = git(&[
                "ls-tree",
                "--name-only",
                base,
                "--",
                &format!("{}/", dir.trim_end_matches('/')),
            ])?;
            for path in listing
                .lines()
                .filter(|p| p.ends_with(".yaml") || p.ends_with(".yml"))
            {
                let text = git(&["show", &format!("{base}:{path}")])?;
                crds.extend(parse_crds(&format!("{base}:{path}"), &text)?);
            }
        }
        Ok(crds)
    }
}

/// The `.yaml` and `.yml` files directly in `dir`, sorted.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("reading {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// The CRDs among the YAML documents of `text` (other kinds are skipped),
/// by name; `source` names the file in errors.
pub fn parse_crds(source: &str, text: &str) -> Result<CrdMap, String> {
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(text).map_err(|e| format!("{source}: {e}"))?;
    let mut crds = CrdMap::new();
    for document in documents {
        if document["kind"] != "CustomResourceDefinition" {
            continue;
        }
        let crd: api::CustomResourceDefinition = serde_json::from_value(document)
            .map_err(|e| format!("{source}: not a CustomResourceDefinition: {e}"))?;
        let name = crd
            .metadata
            .name
            .clone()
            .ok_or_else(|| format!("{source}: a CRD without metadata.name"))?;
        crds.insert(name, crd);
    }
    Ok(crds)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use crdforge::CustomResource;
    use serde::{Deserialize, Serialize};

    use super::*;

    mod old {
        use super::*;
        #[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
        #[crd(group = "example.com", version = "v1", kind = "Backup")]
        pub(crate) struct BackupSpec {
            pub(crate) keep: i32,
            pub(crate) retention: String,
        }
    }

    mod new {
        use super::*;
        #[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
        #[crd(group = "example.com", version = "v1", kind = "Backup")]
        pub(crate) struct BackupSpec {
            pub(crate) keep: i32,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("crdforge-registry-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn registry(root: &Path, definition: Definition) -> Registry {
        Registry::new(root, "just gen")
            .crds("deploy/crds", vec![definition.clone()])
            .docs("docs/api", vec![definition])
            .file("NOTICE.md", "made\n".into())
            .allow_list("allow.yaml")
    }

    #[test]
    fn arguments_parse_and_bad_ones_say_the_usage() {
        let parse = |args: &[&str]| Options::from_args(args.iter().map(OsString::from));
        assert_eq!(parse(&[]), Ok(Options::default()));
        assert_eq!(
            parse(&["--check", "--compat", "main"]),
            Ok(Options {
                check: true,
                compat: Some("main".into())
            })
        );
        assert_eq!(
            parse(&["--compat=v1.0"]).unwrap().compat.as_deref(),
            Some("v1.0")
        );
        assert!(parse(&["--compat"]).unwrap_err().contains("needs a base"));
        assert!(
            parse(&["--chek"])
                .unwrap_err()
                .contains("unknown argument `--chek`")
        );
    }

    /// A rule the offline cost check cannot price is a warning of the run,
    /// naming the CRD, version, field and rule; it does not fail the run.
    #[test]
    fn an_unpriced_rule_is_a_warning_not_a_failure() {
        use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
        #[derive(CustomResource, Serialize, Deserialize, Clone, Debug)]
        #[crd(group = "example.com", version = "v1", kind = "Tuned")]
        struct TunedSpec {
            // A function reached only through an int-or-string's dynamic
            // type: not modelled (the apiserver's authorizer library, say).
            #[crd(validation(rule = "self.foo('^a')"))]
            tuning: IntOrString,
        }
        let root = scratch("unpriced");
        let report = registry(&root, Tuned::definition()).write();
        assert_eq!(report.exit_code(), ExitCode::SUCCESS, "{:?}", report.errors);
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        assert!(
            report.warnings[0].starts_with(
                "tuneds.example.com v1 .spec.tuning: cost not checked offline for \
                 x-kubernetes-validations[0].rule `self.foo('^a')`: the estimator does not \
                 model the function `foo`"
            ),
            "{:?}",
            report.warnings
        );
        let written = registry(&root, new::Backup::definition()).write();
        assert!(written.warnings.is_empty(), "{:?}", written.warnings);
    }

    #[test]
    fn write_removes_orphans_check_reports_them_and_names_the_command() {
        let root = scratch("orphans");
        let registry = registry(&root, new::Backup::definition());
        assert_eq!(registry.write().exit_code(), ExitCode::SUCCESS);
        let crd =
            std::fs::read_to_string(root.join("deploy/crds/backups.example.com.yaml")).unwrap();
        assert!(crd.starts_with("# Generated by `just gen`"), "{crd}");
        std::fs::write(root.join("deploy/crds/gone.example.com.yaml"), "old\n").unwrap();
        std::fs::write(root.join("docs/api/old.md"), "old\n").unwrap();
        let checked = registry.check();
        assert_eq!(checked.stale(), 2, "{:?}", checked.outcomes);
        assert_eq!(checked.exit_code(), ExitCode::from(1));
        assert!(root.join("docs/api/old.md").exists());
        let written = registry.write();
        let removed: Vec<&str> = written
            .outcomes
            .iter()
            .filter(|(_, o)| *o == Outcome::Removed)
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(
            removed,
            ["deploy/crds/gone.example.com.yaml", "docs/api/old.md"]
        );
        assert_eq!(registry.check().exit_code(), ExitCode::SUCCESS);
        // A file outside the owned folders is never touched.
        assert_eq!(
            std::fs::read_to_string(root.join("NOTICE.md")).unwrap(),
            "made\n"
        );
    }

    #[test]
    fn compat_against_a_git_revision_finds_the_break_and_the_allow_list_accepts_it() {
        let root = scratch("git");
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .arg("-C")
                .arg(&root)
                .args([
                    "-c",
                    "user.name=t",
                    "-c",
                    "user.email=t@t",
                    "-c",
                    "commit.gpgsign=false",
                ])
                .args(args)
                .output()
                .unwrap();
            assert!(status.status.success(), "git {args:?}: {status:?}");
        };
        git(&["init", "-q"]);
        assert_eq!(
            registry(&root, old::Backup::definition())
                .write()
                .exit_code(),
            ExitCode::SUCCESS
        );
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "v0.1"]);
        git(&["tag", "v0.1"]);
        let registry = registry(&root, new::Backup::definition());
        // Writing over the old CRD warns of the break without failing.
        let written = registry.write();
        assert_eq!(written.findings.len(), 1, "{:?}", written.findings);
        assert_eq!(written.exit_code(), ExitCode::SUCCESS);
        let compat = registry.run(&Options {
            check: false,
            compat: Some("v0.1".into()),
        });
        assert_eq!(compat.compared, Some(("v0.1".into(), 1)));
        let [(finding, None)] = &compat.findings[..] else {
            panic!("{:?}", compat.findings)
        };
        assert_eq!(
            (
                finding.crd.as_str(),
                finding.version.as_str(),
                finding.path.as_str(),
                finding.change
            ),
            (
                "backups.example.com",
                "v1",
                ".spec.retention",
                compat::Change::FieldRemoved
            )
        );
        std::fs::write(
            root.join("allow.yaml"),
            AllowList::entry_for(finding).replace("<why this break is acceptable>", "unused"),
        )
        .unwrap();
        let accepted = registry.run(&Options {
            check: true,
            compat: Some("v0.1".into()),
        });
        assert_eq!(accepted.unaccepted(), 0);
        assert_eq!(accepted.exit_code(), ExitCode::SUCCESS);
        let bad = registry.run(&Options {
            check: false,
            compat: Some("v9".into()),
        });
        assert_eq!(bad.exit_code(), ExitCode::from(2));
        assert!(
            bad.errors[0].contains("neither a file nor a git revision"),
            "{:?}",
            bad.errors
        );
    }
}
