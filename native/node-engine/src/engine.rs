//! napi face of the direct-attach engine: converts types and hands work to the session thread.

use std::path::PathBuf;
use std::sync::Arc;

use deskless_engine::{
    CompatMode, ConfineMode, Confinement, EngineError, EngineOptions, ExecutionReport,
    ScriptSource, StreamEntry,
};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::errors::{coded_rejection, invalid_js, JsResult};
use crate::file_provider::FileProvider;

#[napi(object)]
pub struct EngineSessionOptions {
    pub enable_jit: Option<bool>,
    pub telemetry: Option<bool>,
    pub search_path: Option<Vec<String>>,
    pub cwd: Option<String>,
    /// "matlab" (default), "runmat" (RunMat extensions such as filewrite) or "strict"
    pub compat: Option<String>,
    /// Kernel confinement of the engine thread: "auto" (default), "require" or "off"
    pub confine: Option<String>,
    /// Allow TCP connect and bind from the script (default false)
    pub allow_net: Option<bool>,
    /// Test hook: confine as if the kernel offered at most this Landlock ABI (0: none)
    pub landlock_abi_limit: Option<u32>,
}

/// The kernel confinement in force on a session's thread.
#[napi(object)]
pub struct EngineConfinement {
    /// "auto", "require" or "off"
    pub mode: String,
    /// The Landlock ABI the rules were built for (0: none)
    pub abi: u32,
    pub filesystem: bool,
    pub programs: bool,
    pub network: bool,
    pub scopes: bool,
    pub allow_net: bool,
    pub not_enforced: Vec<String>,
}

#[napi(object)]
pub struct EngineScriptSource {
    /// "file" or "text"
    pub kind: String,
    pub path: Option<String>,
    pub name: Option<String>,
    pub text: Option<String>,
}

#[napi(object)]
#[derive(Clone)]
pub struct EngineStreamEntry {
    /// "stdout", "stderr", "clear", or "end" (the last entry of an execution, sent after all output)
    pub stream: String,
    pub text: String,
    pub timestamp_ms: f64,
}

#[napi(object)]
pub struct EngineScriptError {
    pub identifier: Option<String>,
    pub message: String,
    pub kind: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

#[napi(object)]
pub struct EngineVariable {
    pub name: String,
    pub class_name: String,
    pub size: Vec<u32>,
}

#[napi(object)]
pub struct EngineReport {
    pub streams: Vec<EngineStreamEntry>,
    pub error: Option<EngineScriptError>,
    pub duration_ms: f64,
    pub workspace: Vec<EngineVariable>,
    pub value_text: Option<String>,
    pub interrupted: bool,
}

fn stream_entry(entry: &StreamEntry) -> EngineStreamEntry {
    EngineStreamEntry {
        stream: entry.stream.as_str().to_string(),
        text: entry.text.clone(),
        timestamp_ms: entry.timestamp_ms as f64,
    }
}

fn engine_report(report: ExecutionReport) -> EngineReport {
    EngineReport {
        streams: report.streams.iter().map(stream_entry).collect(),
        error: report.error.map(|e| EngineScriptError {
            identifier: e.identifier,
            message: e.message,
            kind: e.kind,
            file: e.file,
            line: e.line,
            column: e.column,
        }),
        duration_ms: report.duration_ms,
        workspace: report
            .workspace
            .into_iter()
            .map(|v| EngineVariable {
                name: v.name,
                class_name: v.class_name,
                size: v.size.into_iter().map(|d| d as u32).collect(),
            })
            .collect(),
        value_text: report.value_text,
        interrupted: report.interrupted,
    }
}

fn engine_confinement(confinement: &Confinement) -> EngineConfinement {
    EngineConfinement {
        mode: match confinement.mode {
            ConfineMode::Auto => "auto",
            ConfineMode::Require => "require",
            ConfineMode::Off => "off",
        }
        .to_string(),
        abi: confinement.abi,
        filesystem: confinement.filesystem,
        programs: confinement.programs,
        network: confinement.network,
        scopes: confinement.scopes,
        allow_net: confinement.allow_net,
        not_enforced: confinement.not_enforced.clone(),
    }
}

fn confine_mode(name: Option<&str>) -> JsResult<ConfineMode> {
    match name.unwrap_or("auto") {
        "auto" => Ok(ConfineMode::Auto),
        "require" => Ok(ConfineMode::Require),
        "off" => Ok(ConfineMode::Off),
        other => Err(invalid_js(format!(
            "confine is \"auto\", \"require\" or \"off\", not \"{other}\""
        ))),
    }
}

/// An engine failure as a JS error whose `code` is the engine's stable code.
pub(crate) fn engine_error(error: EngineError) -> Error<String> {
    Error::new(error.code().to_string(), error.to_string())
}

pub(crate) fn compat_mode(name: Option<&str>) -> JsResult<CompatMode> {
    match name.unwrap_or("matlab") {
        "matlab" => Ok(CompatMode::Matlab),
        "runmat" => Ok(CompatMode::RunMat),
        "strict" => Ok(CompatMode::Strict),
        other => Err(invalid_js(format!(
            "compat is \"matlab\", \"runmat\" or \"strict\", not \"{other}\""
        ))),
    }
}

fn script_source(source: EngineScriptSource) -> JsResult<ScriptSource> {
    match (source.kind.as_str(), source.path, source.text) {
        ("file", Some(path), _) => Ok(ScriptSource::File(PathBuf::from(path))),
        ("text", _, Some(text)) => Ok(ScriptSource::Text {
            name: source.name.unwrap_or_else(|| "<text>".to_string()),
            text,
        }),
        _ => Err(invalid_js(
            "a script source is {kind: \"file\", path} or {kind: \"text\", name, text}",
        )),
    }
}

/// The engine's options from a JS options object; a bad value is an `INVALID_ARGUMENT` error.
pub(crate) fn engine_options(options: Option<EngineSessionOptions>) -> JsResult<EngineOptions> {
    let options = options.unwrap_or(EngineSessionOptions {
        enable_jit: None,
        telemetry: None,
        search_path: None,
        cwd: None,
        compat: None,
        confine: None,
        allow_net: None,
        landlock_abi_limit: None,
    });
    let engine_options = EngineOptions {
        compat: compat_mode(options.compat.as_deref())?,
        enable_jit: options.enable_jit.unwrap_or(true),
        telemetry: options.telemetry.unwrap_or(false),
        search_path: options.search_path.unwrap_or_default(),
        cwd: options.cwd.map(PathBuf::from),
        confine: confine_mode(options.confine.as_deref())?,
        allow_net: options.allow_net.unwrap_or(false),
        landlock_abi_limit: options.landlock_abi_limit,
    };
    Ok(engine_options)
}

type OutputCallback = ThreadsafeFunction<EngineStreamEntry, (), EngineStreamEntry, Status, false>;

pub struct ExecuteTask {
    session: Arc<deskless_engine::EngineSession>,
    source: Option<ScriptSource>,
    on_output: Option<Arc<OutputCallback>>,
}

impl Task for ExecuteTask {
    type Output = std::result::Result<ExecutionReport, EngineError>;
    type JsValue = EngineReport;

    fn compute(&mut self) -> Result<Self::Output> {
        let source = self
            .source
            .take()
            .ok_or_else(|| Error::new(Status::GenericFailure, "execute task ran twice"))?;
        let callback = self.on_output.clone();
        let sink = Box::new(move |entry: StreamEntry| {
            if let Some(callback) = &callback {
                callback.call(stream_entry(&entry), ThreadsafeFunctionCallMode::Blocking);
            }
        });
        let report = self.session.execute(source, sink);
        // The callback queue is FIFO: once "end" arrives, every earlier entry has been delivered.
        if let Some(callback) = &self.on_output {
            let end = EngineStreamEntry {
                stream: "end".into(),
                text: String::new(),
                timestamp_ms: 0.0,
            };
            callback.call(end, ThreadsafeFunctionCallMode::Blocking);
        }
        Ok(report)
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Self::JsValue> {
        output
            .map(engine_report)
            .map_err(|error| coded_rejection(env.raw(), engine_error(error)))
    }
}

/// A RunMat session running inside the addon, on its own thread, over a FileProvider's roots.
#[napi]
pub struct EngineSession {
    session: Arc<deskless_engine::EngineSession>,
}

#[napi]
impl EngineSession {
    #[napi(constructor)]
    pub fn new(
        provider: &FileProvider,
        options: Option<EngineSessionOptions>,
    ) -> std::result::Result<Self, Error<String>> {
        let engine_options = engine_options(options)?;
        let session = deskless_engine::EngineSession::start(provider.inner(), engine_options)
            .map_err(engine_error)?;
        Ok(Self {
            session: Arc::new(session),
        })
    }

    /// The kernel confinement in force on this session's thread.
    #[napi(getter)]
    pub fn confinement(&self) -> EngineConfinement {
        engine_confinement(self.session.confinement())
    }

    /// Runs a script; `onOutput` receives each stream entry as it is produced, then one "end" entry.
    #[napi(ts_return_type = "Promise<EngineReport>")]
    pub fn execute(
        &self,
        source: EngineScriptSource,
        #[napi(ts_arg_type = "((entry: EngineStreamEntry) => void) | undefined | null")]
        on_output: Option<OutputCallback>,
    ) -> Result<AsyncTask<ExecuteTask>, String> {
        Ok(AsyncTask::new(ExecuteTask {
            session: Arc::clone(&self.session),
            source: Some(script_source(source)?),
            on_output: on_output.map(Arc::new),
        }))
    }

    /// Interrupts the running execution; its report comes back with `interrupted: true`.
    #[napi]
    pub fn cancel(&self) {
        self.session.cancel();
    }

    /// Ends the session thread (after the running execution, if any) and frees the filesystem slot.
    #[napi]
    pub fn close(&self) {
        self.session.close();
    }
}
