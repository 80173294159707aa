//! Kernel confinement of an engine thread with Landlock: the second wall behind the provider's
//! path rules, for every builtin that reaches the host without going through the provider
//! (libhdf5, sockets, `system`, `sendmail`, ...). Landlock rules bind the calling thread and
//! every thread it starts afterwards, never the process's other threads, and can only be made
//! stricter: each engine session therefore gets a fresh thread confined before RunMat starts.

mod refusal;

pub use refusal::refusal_hint;

use std::path::{Path, PathBuf};

#[cfg(target_os = "linux")]
use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible,
    LandlockStatus, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetError, Scope, ABI,
};

/// The newest Landlock ABI whose rights this module asks for. Rights of newer ABIs are left
/// unhandled (allowed) until they are reviewed here.
const TARGET_ABI: u32 = 6;
const NETWORK_ABI: u32 = 4;
const SCOPE_ABI: u32 = 6;

/// Paths outside the workspace the engine reads, found by tracing the engine thread through the
/// builtins suite (`strace -f` of `deskless run`, every access after `landlock_restrict_self`).
/// Everything else it touched was a probe that fails harmlessly (see docs/confinement.md).
pub const SYSTEM_READ_PATHS: &[(&str, &str)] = &[
    (
        "/etc/localtime",
        "the local time zone, for clock, datetime, now and datestr",
    ),
    (
        "/usr/share/zoneinfo",
        "time zone data, for datetime with a TimeZone",
    ),
    (
        "/sys/devices/system/cpu",
        "the number of cores, for the engine's parallel work",
    ),
];

/// Read only when the network is allowed: name resolution for webread and tcpclient.
pub const NETWORK_READ_PATHS: &[(&str, &str)] = &[
    ("/etc/hosts", "host names such as localhost"),
    ("/etc/resolv.conf", "the DNS servers"),
    ("/etc/nsswitch.conf", "the order of name services"),
    ("/etc/host.conf", "resolver options"),
    ("/etc/gai.conf", "address selection for getaddrinfo"),
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConfineMode {
    /// Enforce what the kernel offers; warn about the rest.
    #[default]
    Auto,
    /// Refuse to start when a rule cannot be enforced.
    Require,
    /// No kernel confinement (debugging): the provider's rules only.
    Off,
}

#[derive(Clone, Debug, Default)]
pub struct ConfinementPolicy {
    pub mode: ConfineMode,
    /// Read and write beneath these.
    pub read_write: Vec<PathBuf>,
    /// Read beneath these.
    pub read_only: Vec<PathBuf>,
    /// Lift the TCP connect and bind rule.
    pub allow_net: bool,
    /// Test hook: behave as if the kernel offered at most this Landlock ABI (0: none).
    pub abi_limit: Option<u32>,
}

/// What was in force for a session, for `--json`, the library's result and the warning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confinement {
    pub mode: ConfineMode,
    /// The Landlock ABI the rules were built for (0: none).
    pub abi: u32,
    /// File access is limited to the roots and the system paths.
    pub filesystem: bool,
    /// No program can be started.
    pub programs: bool,
    /// TCP connect and bind are refused (false when allowed or not enforceable).
    pub network: bool,
    /// Abstract unix sockets and signals outside the process are refused (ABI 6).
    pub scopes: bool,
    pub allow_net: bool,
    /// Each rule that was asked for and is not enforced, with the reason.
    pub not_enforced: Vec<String>,
}

impl Confinement {
    pub fn is_complete(&self) -> bool {
        self.not_enforced.is_empty()
    }
}

#[derive(Debug)]
pub enum ConfineError {
    /// `--confine require` and a rule cannot be enforced.
    Unavailable(String),
    /// The kernel refused a ruleset it said it supports.
    Failed(String),
}

impl std::fmt::Display for ConfineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfineError::Unavailable(what) => write!(
                f,
                "kernel confinement is required but not available: {what} (run with --confine auto to go on without it)"
            ),
            ConfineError::Failed(message) => write!(f, "kernel confinement failed: {message}"),
        }
    }
}

impl std::error::Error for ConfineError {}

/// Confines the calling thread (and the threads it starts from now on) by `policy`.
pub fn confine_current_thread(policy: &ConfinementPolicy) -> Result<Confinement, ConfineError> {
    if policy.mode == ConfineMode::Off {
        return Ok(Confinement {
            mode: ConfineMode::Off,
            allow_net: policy.allow_net,
            ..Confinement::default()
        });
    }
    let abi = policy.abi_limit.unwrap_or(TARGET_ABI).min(TARGET_ABI);
    let kernel = if abi == 0 {
        0
    } else {
        restrict(policy, abi).map_err(|e| ConfineError::Failed(e.to_string()))?
    };
    let in_force = kernel.min(abi);
    let confinement = describe(policy, in_force);
    if policy.mode == ConfineMode::Require && !confinement.is_complete() {
        return Err(ConfineError::Unavailable(
            confinement.not_enforced.join("; "),
        ));
    }
    Ok(confinement)
}

/// Elsewhere there is no Landlock: the provider's rules are the only wall.
#[cfg(not(target_os = "linux"))]
fn restrict(_policy: &ConfinementPolicy, _abi: u32) -> Result<u32, std::convert::Infallible> {
    Ok(0)
}

/// Builds and applies the ruleset; returns the ABI the kernel offers.
#[cfg(target_os = "linux")]
fn restrict(policy: &ConfinementPolicy, abi: u32) -> Result<u32, RulesetError> {
    let abi = ABI::from(abi as i32);
    let all = AccessFs::from_all(abi);
    let read: BitFlags<AccessFs> = AccessFs::ReadFile | AccessFs::ReadDir;
    // Execute is handled and granted nowhere: no program starts, inside the workspace or out.
    let read_write = all & !AccessFs::Execute;
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)?;
    // An ABI without scopes or network rules has empty sets, which the crate refuses.
    let scopes = Scope::from_all(abi);
    if !scopes.is_empty() {
        ruleset = ruleset.scope(scopes)?;
    }
    let network = AccessNet::from_all(abi);
    if !policy.allow_net && !network.is_empty() {
        ruleset = ruleset.handle_access(network)?;
    }
    let mut system: Vec<&Path> = SYSTEM_READ_PATHS
        .iter()
        .map(|(p, _)| Path::new(p))
        .collect();
    if policy.allow_net {
        system.extend(NETWORK_READ_PATHS.iter().map(|(p, _)| Path::new(p)));
    }
    let status = ruleset
        .create()?
        .add_rules(path_beneath_rules(&policy.read_write, read_write))?
        .add_rules(path_beneath_rules(&policy.read_only, read))?
        .add_rules(path_beneath_rules(system, read))?
        .restrict_self()?;
    Ok(match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => effective_abi as u32,
        LandlockStatus::NotEnabled | LandlockStatus::NotImplemented => 0,
    })
}

fn describe(policy: &ConfinementPolicy, abi: u32) -> Confinement {
    let mut not_enforced = Vec::new();
    let landlock = abi >= 1;
    if !landlock {
        not_enforced.push(
            "files outside the workspace and starting programs (the kernel offers no Landlock)"
                .to_string(),
        );
    }
    let network = !policy.allow_net && abi >= NETWORK_ABI;
    if !policy.allow_net && !network {
        not_enforced.push(format!(
            "the network rule (needs Landlock ABI {NETWORK_ABI}, the kernel offers {abi})"
        ));
    }
    Confinement {
        mode: policy.mode,
        abi,
        filesystem: landlock,
        programs: landlock,
        network,
        scopes: abi >= SCOPE_ABI,
        allow_net: policy.allow_net,
        not_enforced,
    }
}
