//! The provider's one error type and its stable codes.

use std::fmt;
use std::io;

/// The one list of the provider's error codes: each with its meaning and its stable string, which
/// is part of the public contract in `docs/native-api.md` and never changes. It is handed to the
/// macro `$then`, so the core's [`ErrorCode`] and the napi binding's JS enum are both made from it.
#[macro_export]
macro_rules! for_each_error_code {
    ($then:ident) => {
        $then! {
            /// The path does not resolve inside any workspace root.
            OutsideWorkspace = "OUTSIDE_WORKSPACE",
            /// No such file or directory.
            NotFound = "NOT_FOUND",
            /// The file or directory already exists.
            AlreadyExists = "ALREADY_EXISTS",
            /// The operating system refused access, or the handle lacks the needed mode.
            PermissionDenied = "PERMISSION_DENIED",
            /// A write to a read-only root or a read-only handle.
            ReadOnly = "READ_ONLY",
            /// A file operation on a directory.
            IsADirectory = "IS_A_DIRECTORY",
            /// A directory operation on something that is not a directory.
            NotADirectory = "NOT_A_DIRECTORY",
            /// A non-recursive removal of a directory that has entries.
            DirectoryNotEmpty = "DIRECTORY_NOT_EMPTY",
            /// An unknown or closed handle.
            BadHandle = "BAD_HANDLE",
            /// The provider's open-handle limit is reached, or the process's.
            TooManyHandles = "TOO_MANY_HANDLES",
            /// An argument that makes no sense (flags, empty path, a workspace root where an entry is needed, ...).
            InvalidArgument = "INVALID_ARGUMENT",
            /// The file system is full.
            NoSpace = "NO_SPACE",
            /// An earlier write-behind write on this handle failed.
            WriteFailed = "WRITE_FAILED",
            /// Any other I/O failure.
            Io = "IO",
            /// The provider was disposed: every operation after `dispose` fails with this.
            Disposed = "DISPOSED",
        }
    };
}

macro_rules! declare_error_codes {
    ($($(#[doc = $doc:tt])* $code:ident = $text:tt,)*) => {
        /// The stable error codes of the provider (see [`for_each_error_code`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $code,)*
        }

        impl ErrorCode {
            /// Every code, in the list's order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$code,)*];

            /// The stable string form, e.g. `"OUTSIDE_WORKSPACE"`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$code => $text,)*
                }
            }
        }
    };
}

for_each_error_code!(declare_error_codes);

impl ErrorCode {
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
