//! The rules of CONTRACT.md, one function each, grouped by section. Expected values marked
//! "measured" were recorded from real libvirt 9.0 (fixtures/libvirt-9.0/).

mod concurrency;
mod events;
mod guards;
mod helpers;
mod holes;
mod lifecycle;
mod packets;
mod screenshots;
mod sentinels;

use stream_core::{Capabilities, StreamKind};

use crate::{Check, Fixture};

/// What a rule needs from a backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// Volume uploads and downloads.
    pub volumes: bool,
    /// Sparse transfers.
    pub sparse: bool,
    /// Domain screenshots.
    pub screenshot: bool,
    /// A particular stream kind.
    pub kind: Option<StreamKind>,
}

impl Needs {
    /// Nothing beyond some download.
    pub const ANY: Needs = Needs {
        volumes: false,
        sparse: false,
        screenshot: false,
        kind: None,
    };
    /// Volume transfers.
    pub const VOLUMES: Needs = Needs {
        volumes: true,
        ..Needs::ANY
    };
    /// Sparse volume transfers.
    pub const SPARSE: Needs = Needs {
        volumes: true,
        sparse: true,
        ..Needs::ANY
    };

    /// Also a stream of `kind`.
    pub const fn of_kind(self, kind: StreamKind) -> Needs {
        Needs {
            kind: Some(kind),
            ..self
        }
    }

    /// Why a backend with `capabilities` cannot run the rule, if it cannot.
    pub fn missing_from(&self, capabilities: &Capabilities) -> Option<String> {
        if self.volumes && !(capabilities.upload && capabilities.download) {
            return Some("backend has no volume uploads and downloads".into());
        }
        if self.sparse && !capabilities.sparse {
            return Some("backend has no sparse streams".into());
        }
        if self.screenshot && !capabilities.screenshot {
            return Some("backend has no domain screenshots".into());
        }
        match self.kind {
            Some(kind) if kind != capabilities.kind => {
                Some(format!("rule is about {kind:?} streams"))
            }
            _ => None,
        }
    }
}

/// One rule of the contract.
#[derive(Clone, Copy)]
pub struct Rule {
    /// Its name: also the name of its test.
    pub id: &'static str,
    /// The CONTRACT.md section.
    pub section: &'static str,
    /// What a backend needs to run it.
    pub needs: Needs,
    /// The check.
    pub check: fn(Fixture<'_>) -> Check,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (§{})", self.id, self.section)
    }
}

/// Every rule, in contract order.
pub fn all_rules() -> Vec<Rule> {
    [
        packets::RULES,
        screenshots::RULES,
        sentinels::RULES,
        lifecycle::RULES,
        guards::RULES,
        holes::RULES,
        helpers::RULES,
        events::RULES,
        concurrency::RULES,
    ]
    .concat()
}

/// Declare a section's rules: `rules! { "3" => [ (id, needs), ... ] }`.
macro_rules! rules {
    ($section:literal => [$(($name:ident, $needs:expr)),* $(,)?]) => {
        pub const RULES: &[crate::rules::Rule] = &[
            $(crate::rules::Rule { id: stringify!($name), section: $section, needs: $needs, check: $name },)*
        ];
    };
}
use rules;
