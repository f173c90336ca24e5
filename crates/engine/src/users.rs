//! Login users and their password verifiers, stored in `<data-dir>/users.json`.
//!
//! The engine stores verifiers as opaque strings (PostgreSQL's
//! `SCRAM-SHA-256$...` form); computing and checking them is the front
//! door's business. Writes are atomic: temp file, fsync, rename, fsync dir.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::catalog::sync_dir;
use crate::error::EngineError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub verifier: String,
    pub superuser: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct UsersFile {
    format_version: u32,
    users: BTreeMap<String, UserRecord>,
}

const USERS_FORMAT_VERSION: u32 = 1;

pub struct Users {
    path: PathBuf,
    users: RwLock<BTreeMap<String, UserRecord>>,
}

impl Users {
    pub fn open(data_dir: &Path) -> Result<Self, EngineError> {
        let path = data_dir.join("users.json");
        let users = if path.exists() {
            let text = std::fs::read_to_string(&path)?;
            let file: UsersFile = serde_json::from_str(&text).map_err(|e| {
                EngineError::new("XX001", format!("{} is corrupt: {e}", path.display()))
            })?;
            if file.format_version != USERS_FORMAT_VERSION {
                return Err(EngineError::new(
                    "XX001",
                    format!(
                        "{} has unknown format version {} (expected {USERS_FORMAT_VERSION})",
                        path.display(),
                        file.format_version
                    ),
                ));
            }
            file.users
        } else {
            BTreeMap::new()
        };
        Ok(Users {
            path,
            users: RwLock::new(users),
        })
    }

    pub fn get(&self, name: &str) -> Option<UserRecord> {
        self.users
            .read()
            .expect("users lock poisoned")
            .get(name)
            .cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.users.read().expect("users lock poisoned").is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.users
            .read()
            .expect("users lock poisoned")
            .keys()
            .cloned()
            .collect()
    }

    pub fn put(&self, name: &str, record: UserRecord) -> Result<(), EngineError> {
        let mut users = self.users.write().expect("users lock poisoned");
        let mut next = users.clone();
        next.insert(name.to_string(), record);
        self.persist(&next)?;
        *users = next;
        Ok(())
    }

    fn persist(&self, users: &BTreeMap<String, UserRecord>) -> Result<(), EngineError> {
        let file = UsersFile {
            format_version: USERS_FORMAT_VERSION,
            users: users.clone(),
        };
        let text = serde_json::to_string_pretty(&file)
            .map_err(|e| EngineError::internal(e.to_string()))?;
        let staging = self.path.with_extension("json.tmp");
        {
            let mut out = std::fs::File::create(&staging)?;
            out.write_all(text.as_bytes())?;
            out.sync_all()?;
        }
        std::fs::rename(&staging, &self.path)?;
        sync_dir(self.path.parent().expect("users.json has a parent"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_survive_reopen_and_corruption_fails_closed() {
        let dir = tempfile::tempdir().unwrap();
        let users = Users::open(dir.path()).unwrap();
        assert!(users.is_empty());
        let record = UserRecord {
            verifier: "SCRAM-SHA-256$4096:c2FsdA==$a:b".into(),
            superuser: true,
        };
        users.put("duckraft", record.clone()).unwrap();
        let reopened = Users::open(dir.path()).unwrap();
        assert_eq!(reopened.get("duckraft"), Some(record));
        std::fs::write(dir.path().join("users.json"), "{not json").unwrap();
        assert_eq!(Users::open(dir.path()).err().unwrap().sqlstate, "XX001");
    }
}
