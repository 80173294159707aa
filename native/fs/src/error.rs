//! The provider's one error type and its stable codes.

use std::fmt;
use std::io;

/// The stable error codes of the provider. Their string forms (see [`ErrorCode::as_str`]) are part
/// of the public contract in `docs/native-api.md` and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The path does not resolve inside any workspace root.
    OutsideWorkspace,
    /// No such file or directory.
    NotFound,
    /// The file or directory already exists.
    AlreadyExists,
    /// The operating system refused access, or the handle lacks the needed mode.
    PermissionDenied,
    /// A write to a read-only root or a read-only handle.
    ReadOnly,
    /// A file operation on a directory.
    IsADirectory,
    /// A directory operation on something that is not a directory.
    NotADirectory,
    /// A non-recursive removal of a directory that has entries.
    DirectoryNotEmpty,
    /// An unknown or closed handle.
    BadHandle,
    /// The provider's open-handle limit is reached.
    TooManyHandles,
    /// An argument that makes no sense (flags, empty path, ...).
    InvalidArgument,
    /// The file system is full.
    NoSpace,
    /// An earlier write-behind write on this handle failed.
    WriteFailed,
    /// Any other I/O failure.
    Io,
    /// The provider was disposed: every operation after `dispose` fails with this.
    Disposed,
}

impl ErrorCode {
    /// Every code, in declaration order (the napi binding exports this list to TypeScript).
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::OutsideWorkspace,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::PermissionDenied,
        ErrorCode::ReadOnly,
        ErrorCode::IsADirectory,
        ErrorCode::NotADirectory,
        ErrorCode::DirectoryNotEmpty,
        ErrorCode::BadHandle,
        ErrorCode::TooManyHandles,
        ErrorCode::InvalidArgument,
        ErrorCode::NoSpace,
        ErrorCode::WriteFailed,
        ErrorCode::Io,
        ErrorCode::Disposed,
    ];

    /// The stable string form, e.g. `"OUTSIDE_WORKSPACE"`: the variant's name in UPPER_SNAKE
    /// case (which is how the napi binding spells it too).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::OutsideWorkspace => "OUTSIDE_WORKSPACE",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::ReadOnly => "READ_ONLY",
            ErrorCode::IsADirectory => "IS_A_DIRECTORY",
            ErrorCode::NotADirectory => "NOT_A_DIRECTORY",
            ErrorCode::DirectoryNotEmpty => "DIRECTORY_NOT_EMPTY",
            ErrorCode::BadHandle => "BAD_HANDLE",
            ErrorCode::TooManyHandles => "TOO_MANY_HANDLES",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::NoSpace => "NO_SPACE",
            ErrorCode::WriteFailed => "WRITE_FAILED",
            ErrorCode::Io => "IO",
            ErrorCode::Disposed => "DISPOSED",
        }
    }

    /// The code an OS error number maps to.
    pub fn from_errno(errno: i32) -> ErrorCode {
        match errno {
            libc::ENOENT => ErrorCode::NotFound,
            libc::EEXIST => ErrorCode::AlreadyExists,
            libc::EACCES | libc::EPERM => ErrorCode::PermissionDenied,
            libc::EROFS => ErrorCode::ReadOnly,
            libc::EISDIR => ErrorCode::IsADirectory,
            libc::ENOTDIR => ErrorCode::NotADirectory,
            libc::ENOTEMPTY => ErrorCode::DirectoryNotEmpty,
            libc::EINVAL => ErrorCode::InvalidArgument,
            libc::ENOSPC | libc::EDQUOT => ErrorCode::NoSpace,
            libc::EMFILE | libc::ENFILE => ErrorCode::TooManyHandles,
            _ => ErrorCode::Io,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The provider's error: a stable [`ErrorCode`] and a one-line message naming the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsError {
    code: ErrorCode,
    message: String,
    errno: Option<i32>,
}

/// `Result` with [`FsError`].
pub type FsResult<T> = Result<T, FsError>;

impl FsError {
    /// An error with the given code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> FsError {
        FsError {
            code,
            message: message.into(),
            errno: None,
        }
    }

    /// The error for a path that resolves outside every workspace root.
    pub fn outside(path: &str) -> FsError {
        FsError::new(
            ErrorCode::OutsideWorkspace,
            format!("path {path:?} is outside the workspace roots"),
        )
    }

    /// The error for an unknown or closed handle.
    pub fn bad_handle(handle: u64) -> FsError {
        FsError::new(ErrorCode::BadHandle, format!("handle {handle} is not open"))
    }

    /// The error for any operation on a disposed provider.
    pub fn disposed() -> FsError {
        FsError::new(ErrorCode::Disposed, "the file provider is disposed")
    }

    /// An OS error of `op` on `path`, e.g. `open "a.txt": No such file or directory (os error 2)`.
    pub fn os(errno: i32, op: &str, path: &str) -> FsError {
        FsError {
            code: ErrorCode::from_errno(errno),
            message: format!("{op} {path:?}: {}", io::Error::from_raw_os_error(errno)),
            errno: Some(errno),
        }
    }

    /// Like [`FsError::os`], from an `io::Error`.
    pub fn io(err: &io::Error, op: &str, path: &str) -> FsError {
        match err.raw_os_error() {
            Some(errno) => FsError::os(errno, op, path),
            None => FsError::new(ErrorCode::Io, format!("{op} {path:?}: {err}")),
        }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The OS error number behind this error, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.errno
    }

    pub(crate) fn with_errno(mut self, errno: Option<i32>) -> FsError {
        self.errno = errno;
        self
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FsError {}

impl From<FsError> for io::Error {
    /// Maps the code onto the closest `io::ErrorKind`; the `FsError` stays reachable through
    /// `io::Error::get_ref` / `into_inner` for callers that want the stable code.
    fn from(err: FsError) -> io::Error {
        let kind = match err.code {
            ErrorCode::NotFound => io::ErrorKind::NotFound,
            ErrorCode::AlreadyExists => io::ErrorKind::AlreadyExists,
            ErrorCode::PermissionDenied | ErrorCode::OutsideWorkspace => {
                io::ErrorKind::PermissionDenied
            }
            ErrorCode::ReadOnly => io::ErrorKind::ReadOnlyFilesystem,
            ErrorCode::IsADirectory => io::ErrorKind::IsADirectory,
            ErrorCode::NotADirectory => io::ErrorKind::NotADirectory,
            ErrorCode::DirectoryNotEmpty => io::ErrorKind::DirectoryNotEmpty,
            ErrorCode::BadHandle | ErrorCode::InvalidArgument => io::ErrorKind::InvalidInput,
            ErrorCode::NoSpace => io::ErrorKind::StorageFull,
            ErrorCode::TooManyHandles
            | ErrorCode::WriteFailed
            | ErrorCode::Io
            | ErrorCode::Disposed => io::ErrorKind::Other,
        };
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    /// The string forms are the variant names in UPPER_SNAKE case, as the napi binding derives
    /// them, and `ALL` holds every variant once.
    #[test]
    fn string_forms_follow_the_variant_names() {
        for code in ErrorCode::ALL {
            let mut snake = String::new();
            for (i, ch) in format!("{code:?}").chars().enumerate() {
                if ch.is_uppercase() && i > 0 {
                    snake.push('_');
                }
                snake.push(ch.to_ascii_uppercase());
            }
            assert_eq!(code.as_str(), snake);
            // Exhaustive: a new variant fails to compile here until it is added to ALL.
            let listed = match code {
                ErrorCode::OutsideWorkspace
                | ErrorCode::NotFound
                | ErrorCode::AlreadyExists
                | ErrorCode::PermissionDenied
                | ErrorCode::ReadOnly
                | ErrorCode::IsADirectory
                | ErrorCode::NotADirectory
                | ErrorCode::DirectoryNotEmpty
                | ErrorCode::BadHandle
                | ErrorCode::TooManyHandles
                | ErrorCode::InvalidArgument
                | ErrorCode::NoSpace
                | ErrorCode::WriteFailed
                | ErrorCode::Io
                | ErrorCode::Disposed => ErrorCode::ALL.iter().filter(|c| **c == code).count(),
            };
            assert_eq!(listed, 1);
        }
    }
}
