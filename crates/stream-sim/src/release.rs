//! Which libvirt release the simulator reproduces, where releases differ in what a caller can
//! observe. Measured by running the whole conformance matrix and the libvirt backend's tests on
//! both (fixtures/libvirt-11.3/FINDINGS.md): 9.0 and 11.3 agree on every rule and recorded
//! scenario; they differ when the daemon's write into an upload's volume fails.

/// A libvirt release whose observable behaviour the simulator follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Release {
    /// libvirt 9.0 (Debian 12): a failed write on the daemon's side (a full filesystem) is an
    /// error at its byte, kept for every later call (Q16).
    #[default]
    V9_0,
    /// libvirt 11.3 (Debian 12 backports): the same failed write aborts libvirtd ("double free
    /// or corruption": 11.3's `daemonStreamHandleWrite` sends the error reply and then a second,
    /// empty reply in the same message), so the connection dies at that byte, as if the daemon
    /// had been killed; an error injected at a byte of a remote upload's data is a death there.
    V11_3,
}

impl Release {
    /// Whether a far-side error met by a `send` on a remote upload kills the daemon.
    pub(crate) fn write_errors_kill_the_daemon(self) -> bool {
        self == Release::V11_3
    }
}

#[cfg(test)]
mod tests {
    use stream_core::{Backend, ErrorKind, Layout, StreamFlags, Transfer, VolumeId};

    use crate::{FaultPlan, InjectedError, Profile, SimBackend, SimConfig};

    use super::*;

    /// Sends 64 KiB chunks onto a volume whose daemon fails its write at 128 KiB; the error.
    fn upload_onto_a_full_filesystem(release: Release) -> (SimBackend, stream_core::Error) {
        let sim = SimBackend::with_config(SimConfig::new(Profile::Remote).release(release));
        let volume = VolumeId::new("default", "full.raw");
        sim.create_volume(&volume, &Layout::parse("-").unwrap())
            .unwrap();
        let full = InjectedError::new(
            ErrorKind::System,
            38,
            38,
            "Unable to write /pool/full.raw: No space left on device",
        );
        sim.inject(FaultPlan::new().error_at(128 << 10, full));
        let mut stream = sim
            .open(StreamFlags::empty(), &Transfer::upload(volume, false))
            .unwrap();
        let chunk = vec![1; 64 << 10];
        stream.send(&chunk).unwrap();
        stream.send(&chunk).unwrap();
        let error = stream.send(&chunk).unwrap_err();
        assert!(stream.finish().is_err(), "finish after the failed send");
        (sim, error)
    }

    #[test]
    fn a_failed_write_is_an_error_on_9_0_and_the_daemon_s_death_on_11_3() {
        let (sim, error) = upload_onto_a_full_filesystem(Release::V9_0);
        assert_eq!(error.kind(), ErrorKind::System, "{error}");
        assert!(sim.is_alive());

        let (sim, error) = upload_onto_a_full_filesystem(Release::V11_3);
        assert_eq!(error.kind(), ErrorKind::Disconnected, "{error}");
        // A dead connection's error (domain 7, RPC), as after a killed daemon (Q11).
        assert_eq!(
            error.libvirt_code().map(|code| code.domain),
            Some(7),
            "{error}"
        );
        assert!(!sim.is_alive(), "11.3's daemon aborted");
        assert_eq!(Release::default(), Release::V9_0);
    }

    #[test]
    fn an_error_on_a_download_stays_an_error_on_11_3() {
        let sim = SimBackend::with_config(SimConfig::new(Profile::Remote).release(Release::V11_3));
        let volume = VolumeId::new("default", "d.raw");
        sim.create_volume(&volume, &Layout::parse("D1M").unwrap())
            .unwrap();
        let failing =
            InjectedError::new(ErrorKind::System, 38, 38, "cannot read: Input/output error");
        sim.inject(FaultPlan::new().error_at(1000, failing));
        let mut stream = sim
            .open(StreamFlags::empty(), &Transfer::download(volume, false))
            .unwrap();
        let mut buf = vec![0; 4096];
        stream
            .recv(&mut buf, stream_core::RecvFlags::empty())
            .unwrap();
        let error = stream
            .recv(&mut buf, stream_core::RecvFlags::empty())
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::System, "{error}");
        assert!(sim.is_alive());
    }
}
