//! The test driver through a private daemon: libvirtd serves `test:///default` to any client
//! on its socket, so a screenshot there is a remote stream.
//!
//! libvirt 9.0 builds the test driver into libvirt.so (Debian ships no
//! `libvirt_driver_test.so`), and libvirtd registers it at start like every process that uses
//! libvirt: the storage-only daemon already answers `test+unix:///default?socket=<its socket>`
//! (measured, fixtures/libvirt-9.0/FINDINGS.md Q22), nothing more to load.

use super::*;

/// The URI of the test driver on the daemon whose URI is `daemon_uri` (one naming its socket,
/// as [`LocalDaemon::uri`] and [`shared_uri`] do): `test+unix:///default?socket=…`, with the
/// daemon URI's query kept as it is.
pub fn test_driver_uri(daemon_uri: &str) -> Result<String, DaemonError> {
    let query = daemon_uri
        .split_once('?')
        .map(|(_, query)| query)
        .filter(|query| query.split('&').any(|param| param.starts_with("socket=")));
    match query {
        Some(query) => Ok(format!("test+unix:///default?{query}")),
        None => Err(DaemonError::Unusable(format!(
            "the daemon URI {daemon_uri} names no socket (…?socket=<path>), so the test \
             driver on that daemon cannot be named"
        ))),
    }
}

impl LocalDaemon {
    /// The URI of the test driver on this daemon (`test+unix:///default?socket=…`): the test
    /// domain's screenshot as a remote stream.
    pub fn test_driver_uri(&self) -> String {
        test_driver_uri(&self.uri).expect("a private daemon's URI names its socket")
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn the_test_driver_is_named_on_the_daemons_socket() {
        assert_eq!(
            test_driver_uri("storage:///system?socket=/tmp/vs-x/libvirt-sock").unwrap(),
            "test+unix:///default?socket=/tmp/vs-x/libvirt-sock"
        );
        assert_eq!(
            test_driver_uri("storage+unix:///system?mode=legacy&socket=/s").unwrap(),
            "test+unix:///default?mode=legacy&socket=/s"
        );
        for uri in ["storage:///system", "qemu+ssh://host/system?keyfile=k"] {
            let error = test_driver_uri(uri).unwrap_err().to_string();
            assert!(error.contains("names no socket"), "{error}");
        }
    }
}
