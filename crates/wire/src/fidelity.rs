//! Which Graph Switchboard imitates where Microsoft's documentation and live Graph traffic disagree.
//! docs/fidelity.md lists every such place with its evidence.

use serde::{Deserialize, Serialize};

/// The shapes of notifications, responses and headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shapes {
    /// As live Graph sends them (payloads recorded from real calls, 2019–2025): what a bot meets in production.
    #[default]
    Observed,
    /// As the documentation's examples show them.
    Documented,
}

impl Shapes {
    pub fn observed(self) -> bool {
        self == Shapes::Observed
    }
}
