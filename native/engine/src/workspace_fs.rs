//! RunMat's `FsProvider` over the deskless file provider: same handle table, same workspace
//! roots, same guarantees. Paths arrive from RunMat already joined to its virtual cwd.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use deskless_fs::{FileType, Provider};
use runmat_filesystem::{DirEntry, FileHandle, FsFileType, FsMetadata, FsProvider, OpenFlags};

/// Write errors the runtime cannot report itself: RunMat drops file handles without looking at
/// the result of the final close, so a failed close is recorded here and fails the run.
#[derive(Default)]
pub struct LostWrites(Mutex<Vec<String>>);

impl LostWrites {
    fn record(&self, message: String) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message);
    }

    /// Takes the messages recorded since the last call.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

pub struct WorkspaceFs {
    provider: Arc<Provider>,
    cwd: PathBuf,
    lost_writes: Arc<LostWrites>,
}

impl WorkspaceFs {
    pub fn new(provider: Arc<Provider>, cwd: PathBuf) -> Self {
        Self {
            provider,
            cwd,
            lost_writes: Arc::new(LostWrites::default()),
        }
    }

    pub fn lost_writes(&self) -> Arc<LostWrites> {
        Arc::clone(&self.lost_writes)
    }
}

fn text(path: &Path) -> io::Result<&str> {
    path.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path {} is not valid UTF-8", path.display()),
        )
    })
}

fn file_type(kind: FileType) -> FsFileType {
    match kind {
        FileType::File => FsFileType::File,
        FileType::Dir => FsFileType::Directory,
        FileType::Symlink => FsFileType::Symlink,
        FileType::Other => FsFileType::Other,
    }
}

fn metadata(meta: deskless_fs::Metadata) -> FsMetadata {
    FsMetadata::new(
        file_type(meta.file_type),
        meta.len,
        meta.modified,
        meta.readonly,
    )
}

fn flags(flags: &OpenFlags) -> deskless_fs::OpenFlags {
    deskless_fs::OpenFlags {
        read: flags.read,
        write: flags.write,
        append: flags.append,
        truncate: flags.truncate,
        create: flags.create,
        create_new: flags.create_new,
    }
}

#[async_trait(?Send)]
impl FsProvider for WorkspaceFs {
    fn current_dir_override(&self) -> Option<PathBuf> {
        Some(self.cwd.clone())
    }

    fn open(&self, path: &Path, open_flags: &OpenFlags) -> io::Result<Box<dyn FileHandle>> {
        let handle = self.provider.open(text(path)?, flags(open_flags))?;
        Ok(Box::new(WorkspaceFile {
            provider: Arc::clone(&self.provider),
            handle,
            position: 0,
            append: open_flags.append,
            path: path.to_path_buf(),
            lost_writes: Arc::clone(&self.lost_writes),
        }))
    }

    async fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        Ok(self.provider.read_file(text(path)?)?)
    }

    async fn write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        Ok(self.provider.write_file(text(path)?, data)?)
    }

    async fn remove_file(&self, path: &Path) -> io::Result<()> {
        Ok(self.provider.remove_file(text(path)?)?)
    }

    async fn metadata(&self, path: &Path) -> io::Result<FsMetadata> {
        Ok(metadata(self.provider.metadata(text(path)?)?))
    }

    async fn symlink_metadata(&self, path: &Path) -> io::Result<FsMetadata> {
        Ok(metadata(self.provider.symlink_metadata(text(path)?)?))
    }

    async fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let entries = self.provider.read_dir(text(path)?)?;
        Ok(entries
            .into_iter()
            .map(|e| DirEntry::new(e.path, e.file_name.into(), file_type(e.file_type)))
            .collect())
    }

    async fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(self.provider.canonicalize(text(path)?)?)
    }

    async fn create_dir(&self, path: &Path) -> io::Result<()> {
        Ok(self.provider.create_dir(text(path)?, false)?)
    }

    async fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        Ok(self.provider.create_dir(text(path)?, true)?)
    }

    async fn remove_dir(&self, path: &Path) -> io::Result<()> {
        Ok(self.provider.remove_dir(text(path)?, false)?)
    }

    async fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        Ok(self.provider.remove_dir(text(path)?, true)?)
    }

    async fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        Ok(self.provider.rename(text(from)?, text(to)?)?)
    }

    async fn set_readonly(&self, path: &Path, readonly: bool) -> io::Result<()> {
        Ok(self.provider.set_readonly(text(path)?, readonly)?)
    }
}

/// A RunMat file over one handle of the table: a cursor on top of positional I/O.
struct WorkspaceFile {
    provider: Arc<Provider>,
    handle: u64,
    position: u64,
    append: bool,
    path: PathBuf,
    lost_writes: Arc<LostWrites>,
}

impl Read for WorkspaceFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.provider.read_at(self.handle, self.position, buf)?;
        self.position += n as u64;
        Ok(n)
    }
}

impl Write for WorkspaceFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.append {
            let offset = self.provider.append(self.handle, data)?;
            self.position = offset + data.len() as u64;
        } else {
            self.provider.write_at(self.handle, self.position, data)?;
            self.position += data.len() as u64;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(self.provider.flush(self.handle)?)
    }
}

impl Seek for WorkspaceFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
            SeekFrom::End(delta) => self.provider.len(self.handle)?.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        self.position = target;
        Ok(target)
    }
}

#[async_trait(?Send)]
impl FileHandle for WorkspaceFile {
    async fn metadata_async(&self) -> io::Result<FsMetadata> {
        Ok(metadata(self.provider.metadata(text(&self.path)?)?))
    }
}

impl Drop for WorkspaceFile {
    fn drop(&mut self) {
        if let Err(error) = self.provider.close(self.handle) {
            self.lost_writes
                .record(format!("{}: {error}", self.path.display()));
        }
    }
}
