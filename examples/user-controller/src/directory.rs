//! The external account directory: state outside the cluster that the
//! controller keeps in step with Users. Kubernetes' garbage collector cannot
//! clean it up, so a finalizer on each User makes sure the record is removed
//! before the User is allowed to go.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One account, keyed by the User's UID (a User deleted and created again
/// under the same name is a new account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The User's UID.
    pub uid: String,
    /// The User's name.
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// E-mail address.
    pub email: String,
}

/// What [`AccountDirectory::remove`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// The record existed and is gone now.
    Removed,
    /// There was no record (already removed, say by a run that crashed
    /// before releasing the finalizer).
    Absent,
}

/// A directory failure; transient as far as the controller knows.
#[derive(Debug, thiserror::Error)]
#[error("account directory: {0}")]
pub struct DirectoryError(#[from] std::io::Error);

/// An external directory of accounts. Both calls must be idempotent, since a
/// controller may repeat them after a crash.
pub trait AccountDirectory: Send + Sync {
    /// Creates or updates the account.
    fn register(&self, account: &Account) -> Result<(), DirectoryError>;
    /// Removes the account with this UID.
    fn remove(&self, uid: &str) -> Result<Removal, DirectoryError>;
}

/// The default directory: one JSON file per account under a folder, plus a
/// journal of every creation and removal that actually happened, which is
/// what an auditor (or a test) reads to check that nothing happened twice.
#[derive(Debug, Clone)]
pub struct FileDirectory {
    root: PathBuf,
}

impl FileDirectory {
    /// A directory stored under `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, DirectoryError> {
        let root = root.into();
        fs::create_dir_all(root.join("accounts"))?;
        Ok(Self { root })
    }

    fn path(&self, uid: &str) -> PathBuf {
        // UIDs are UUIDs; anything else is kept out of the path.
        let safe: String = uid
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        self.root.join("accounts").join(format!("{safe}.json"))
    }

    /// The journal's path: lines `created <uid> <name>` / `removed <uid> <name>`.
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal.log")
    }

    /// Every account stored now.
    pub fn accounts(&self) -> Result<Vec<Account>, DirectoryError> {
        let mut accounts = Vec::new();
        for entry in fs::read_dir(self.root.join("accounts"))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let bytes = fs::read(&path)?;
                accounts.push(serde_json::from_slice(&bytes).map_err(std::io::Error::other)?);
            }
        }
        accounts.sort_by(|a: &Account, b| a.name.cmp(&b.name));
        Ok(accounts)
    }

    fn log(&self, what: &str, account: &Account) -> Result<(), DirectoryError> {
        let mut journal = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.journal())?;
        // One write per line: appends of a few bytes are atomic on local
        // files, so two replicas never interleave within a line.
        journal.write_all(format!("{what} {} {}\n", account.uid, account.name).as_bytes())?;
        Ok(())
    }
}

impl AccountDirectory for FileDirectory {
    fn register(&self, account: &Account) -> Result<(), DirectoryError> {
        let path = self.path(&account.uid);
        let existing: Option<Account> = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if existing.as_ref() == Some(account) {
            return Ok(());
        }
        write_atomically(
            &path,
            &serde_json::to_vec_pretty(account).map_err(std::io::Error::other)?,
        )?;
        if existing.is_none() {
            self.log("created", account)?;
        }
        Ok(())
    }

    fn remove(&self, uid: &str) -> Result<Removal, DirectoryError> {
        let path = self.path(uid);
        let account: Account = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Removal::Absent),
            Err(e) => return Err(e.into()),
        };
        match fs::remove_file(&path) {
            Ok(()) => {
                self.log("removed", &account)?;
                Ok(Removal::Removed)
            }
            // Another replica removed it between our read and our remove.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Removal::Absent),
            Err(e) => Err(e.into()),
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(uid: &str, name: &str) -> Account {
        Account {
            uid: uid.into(),
            name: name.into(),
            display_name: "A".into(),
            email: "a@example.com".into(),
        }
    }

    #[test]
    fn register_is_idempotent_and_removal_happens_once() {
        let root = std::env::temp_dir().join(format!("user-dir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let dir = FileDirectory::new(&root).unwrap();
        dir.register(&account("u1", "alice")).unwrap();
        dir.register(&account("u1", "alice")).unwrap();
        let mut changed = account("u1", "alice");
        changed.display_name = "Alice".into();
        dir.register(&changed).unwrap();
        assert_eq!(dir.accounts().unwrap(), [changed]);
        assert_eq!(dir.remove("u1").unwrap(), Removal::Removed);
        assert_eq!(dir.remove("u1").unwrap(), Removal::Absent);
        let journal = fs::read_to_string(dir.journal()).unwrap();
        assert_eq!(journal, "created u1 alice\nremoved u1 alice\n");
        fs::remove_dir_all(root).unwrap();
    }
}
