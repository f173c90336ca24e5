//! The disk seam. The write-ahead log only touches storage through [`Disk`],
//! so the simulator can substitute a crash-consistent fake that loses
//! unsynced bytes, tears tails and flips bits, while production uses
//! [`FsDisk`] on a real directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Flat, append-only file storage in one directory.
pub trait Disk {
    /// Names of the files in the directory, sorted.
    fn list(&self) -> io::Result<Vec<String>>;
    fn read(&self, name: &str) -> io::Result<Vec<u8>>;
    /// Appends to `name`, creating it when missing. Not durable until [`Disk::sync`].
    fn append(&mut self, name: &str, data: &[u8]) -> io::Result<()>;
    /// Makes every byte appended to `name` so far (and its directory entry) durable.
    fn sync(&mut self, name: &str) -> io::Result<()>;
    /// Shrinks `name` to `len` bytes, durably.
    fn truncate(&mut self, name: &str, len: u64) -> io::Result<()>;
    /// Deletes `name`, durably.
    fn remove(&mut self, name: &str) -> io::Result<()>;
}

/// [`Disk`] over a real directory.
pub struct FsDisk {
    dir: PathBuf,
    open: Option<(String, File)>,
}

impl FsDisk {
    pub fn open(dir: &Path) -> io::Result<FsDisk> {
        fs::create_dir_all(dir)?;
        Ok(FsDisk {
            dir: dir.to_path_buf(),
            open: None,
        })
    }

    fn file(&mut self, name: &str) -> io::Result<&mut File> {
        let reuse = matches!(&self.open, Some((open, _)) if open == name);
        if !reuse {
            let created = !self.dir.join(name).exists();
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(name))?;
            if created {
                // A new file's directory entry must survive a crash too.
                File::open(&self.dir)?.sync_all()?;
            }
            self.open = Some((name.to_string(), file));
        }
        Ok(&mut self.open.as_mut().expect("file just opened").1)
    }
}

impl Disk for FsDisk {
    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn read(&self, name: &str) -> io::Result<Vec<u8>> {
        fs::read(self.dir.join(name))
    }

    fn append(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        self.file(name)?.write_all(data)
    }

    fn sync(&mut self, name: &str) -> io::Result<()> {
        self.file(name)?.sync_data()
    }

    fn truncate(&mut self, name: &str, len: u64) -> io::Result<()> {
        self.open = None;
        let file = OpenOptions::new().write(true).open(self.dir.join(name))?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn remove(&mut self, name: &str) -> io::Result<()> {
        if matches!(&self.open, Some((open, _)) if open == name) {
            self.open = None;
        }
        fs::remove_file(self.dir.join(name))?;
        File::open(&self.dir)?.sync_all()
    }
}
