//! The Promise forms: one generic napi `Task` that runs a provider call on the libuv thread pool
//! and converts its result (or rejects with a coded error) back on the JS thread.

use deskless_fs::FsResult;
use napi::bindgen_prelude::*;
use napi::sys;

use crate::errors::rejection;

/// Converts a job's output into a JS value on the JS thread.
pub(crate) type Convert<T> = fn(sys::napi_env, T) -> Result<sys::napi_value>;

/// A provider call run off the JS thread.
pub struct Op<T: Send + 'static> {
    job: Option<Job<T>>,
    convert: Convert<T>,
    /// A caller's array the job reads or writes: referenced until the promise settles (and
    /// dropped with the task, on the JS thread).
    _keep: Option<Uint8Array>,
}

/// The converted value (already a `napi_value`).
pub struct RawValue(sys::napi_value);

impl TypeName for RawValue {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for RawValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Ok(val.0)
    }
}

impl<T: Send + 'static> Task for Op<T> {
    type Output = FsResult<T>;
    type JsValue = RawValue;

    fn compute(&mut self) -> Result<Self::Output> {
        let job = self.job.take().expect("a task computes once");
        Ok(job())
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<RawValue> {
        match output {
            Ok(v) => (self.convert)(env.raw(), v).map(RawValue),
            Err(e) => Err(rejection(env.raw(), e)),
        }
    }
}

/// A Promise that runs `job` off the JS thread.
pub(crate) fn spawn<T: Send + 'static>(
    job: impl FnOnce() -> FsResult<T> + Send + 'static,
    convert: Convert<T>,
) -> AsyncTask<Op<T>> {
    task(None, Box::new(job), convert)
}

/// Like [`spawn`], keeping `array` referenced while the job uses its memory.
pub(crate) fn spawn_keeping<T: Send + 'static>(
    array: Uint8Array,
    job: impl FnOnce() -> FsResult<T> + Send + 'static,
    convert: Convert<T>,
) -> AsyncTask<Op<T>> {
    task(Some(array), Box::new(job), convert)
}

type Job<T> = Box<dyn FnOnce() -> FsResult<T> + Send>;

fn task<T: Send + 'static>(
    keep: Option<Uint8Array>,
    job: Job<T>,
    convert: Convert<T>,
) -> AsyncTask<Op<T>> {
    AsyncTask::new(Op {
        job: Some(job),
        convert,
        _keep: keep,
    })
}

/// [`Convert`] through a type's `ToNapiValue`.
pub(crate) fn plain<T: ToNapiValue>(env: sys::napi_env, v: T) -> Result<sys::napi_value> {
    // SAFETY: called on the JS thread with its env.
    unsafe { T::to_napi_value(env, v) }
}

/// The memory of a caller's array, as (address, length), to move into a job. The array itself
/// is kept referenced by the task, so the memory stays valid while the job runs.
pub(crate) fn raw_parts(array: &Uint8Array) -> (usize, usize) {
    (array.as_ptr() as usize, array.len())
}

/// Rebuilds the slice from [`raw_parts`].
///
/// # Safety
/// The array must still be referenced (it is, by the task) and JS must not resize or detach it
/// meanwhile (the same contract as `fs.read`/`fs.write` with a caller's buffer).
pub(crate) unsafe fn slice_mut<'a>((addr, len): (usize, usize)) -> &'a mut [u8] {
    if len == 0 {
        return &mut [];
    }
    // SAFETY: per the function's contract.
    unsafe { std::slice::from_raw_parts_mut(addr as *mut u8, len) }
}
