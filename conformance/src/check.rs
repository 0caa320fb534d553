//! What a rule returns, and two helpers that turn comparisons into readable failures.

use std::fmt::Debug;

/// A rule's verdict: `Ok` passes, `Err` says what differed from the contract.
pub type Check = Result<(), String>;

/// Fail with `what` unless `condition` holds.
pub fn ensure(condition: bool, what: impl FnOnce() -> String) -> Check {
    if condition { Ok(()) } else { Err(what()) }
}

/// Fail unless `actual == expected`, showing both.
pub fn ensure_eq<T: PartialEq + Debug>(actual: T, expected: T, what: &str) -> Check {
    ensure(actual == expected, || {
        format!("{what}: expected {expected:?}, got {actual:?}")
    })
}
