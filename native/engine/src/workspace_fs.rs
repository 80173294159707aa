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
        Ok(Box::new(WorkspaceFile::new(
            Arc::clone(&self.provider),
            handle,
            open_flags.append,
            path.to_path_buf(),
            Arc::clone(&self.lost_writes),
        )))
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

/// RunMat's file builtins read and write in small pieces (a few hundred bytes per call for
/// `fwrite`), so the file keeps a write buffer and a read-ahead buffer in front of the handle:
/// one positional call per buffer instead of one per piece.
const BUFFER_BYTES: usize = 1 << 20;

/// A RunMat file over one handle of the table: a cursor on top of positional I/O.
struct WorkspaceFile {
    provider: Arc<Provider>,
    handle: u64,
    position: u64,
    append: bool,
    path: PathBuf,
    lost_writes: Arc<LostWrites>,
    /// Bytes written but not yet handed to the provider; they start at `pending_at`.
    pending: Vec<u8>,
    pending_at: u64,
    /// Bytes read ahead; they start at `ahead_at`.
    ahead: Vec<u8>,
    ahead_at: u64,
}

impl WorkspaceFile {
    fn new(
        provider: Arc<Provider>,
        handle: u64,
        append: bool,
        path: PathBuf,
        lost_writes: Arc<LostWrites>,
    ) -> Self {
        Self {
            provider,
            handle,
            position: 0,
            append,
            path,
            lost_writes,
            pending: Vec::new(),
            pending_at: 0,
            ahead: Vec::new(),
            ahead_at: 0,
        }
    }

    /// Hands the write buffer to the provider (whose write-behind takes it from there).
    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if self.append {
            let offset = self.provider.append(self.handle, &self.pending)?;
            self.position = offset + self.pending.len() as u64;
        } else {
            self.provider
                .write_at(self.handle, self.pending_at, &self.pending)?;
        }
        self.pending.clear();
        Ok(())
    }
}

impl Read for WorkspaceFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.write_pending()?;
        let ahead_end = self.ahead_at + self.ahead.len() as u64;
        if self.position < self.ahead_at || self.position >= ahead_end {
            if buf.len() >= BUFFER_BYTES {
                let n = self.provider.read_at(self.handle, self.position, buf)?;
                self.position += n as u64;
                return Ok(n);
            }
            self.ahead.resize(BUFFER_BYTES, 0);
            let n = self
                .provider
                .read_at(self.handle, self.position, &mut self.ahead)?;
            self.ahead.truncate(n);
            self.ahead_at = self.position;
        }
        let start = (self.position - self.ahead_at) as usize;
        let n = buf.len().min(self.ahead.len() - start);
        buf[..n].copy_from_slice(&self.ahead[start..start + n]);
        self.position += n as u64;
        Ok(n)
    }
}

impl Write for WorkspaceFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.ahead.clear();
        let contiguous = self.pending_at + self.pending.len() as u64 == self.position;
        if !self.pending.is_empty() && !self.append && !contiguous {
            self.write_pending()?;
        }
        if self.pending.is_empty() {
            self.pending_at = self.position;
        }
        self.pending.extend_from_slice(data);
        if !self.append {
            self.position += data.len() as u64;
        }
        if self.pending.len() >= BUFFER_BYTES {
            self.write_pending()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_pending()?;
        Ok(self.provider.flush(self.handle)?)
    }
}

impl Seek for WorkspaceFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.write_pending()?;
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
        let written = self.write_pending();
        let closed = self.provider.close(self.handle).map_err(io::Error::from);
        if let Err(error) = written.and(closed) {
            self.lost_writes
                .record(format!("{}: {error}", self.path.display()));
        }
    }
}
