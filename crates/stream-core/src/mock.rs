//! mockall mocks of [`Stream`] and [`Backend`], for applications' own unit tests
//! (feature `mock`).

use mockall::mock;

use crate::{
    Backend, Capabilities, EventCallback, EventSet, Layout, Recv, RecvFlags, Result, Sent, Stream,
    StreamFlags, StreamState, Transfer, VolumeId,
};

mock! {
    /// A [`Stream`] whose every call is an expectation.
    pub Stream {}

    impl Stream for Stream {
        fn send(&mut self, data: &[u8]) -> Result<Sent>;
        fn recv(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv>;
        fn recv_flags(&mut self, buf: &mut [u8], flags: RecvFlags) -> Result<Recv>;
        fn send_hole(&mut self, length: i64, flags: u32) -> Result<()>;
        fn recv_hole(&mut self, flags: u32) -> Result<i64>;
        fn add_callback(&mut self, events: EventSet, callback: EventCallback) -> Result<()>;
        fn update_callback(&mut self, events: EventSet) -> Result<()>;
        fn remove_callback(&mut self) -> Result<()>;
        fn finish(&mut self) -> Result<()>;
        fn abort(&mut self) -> Result<()>;
        fn state(&self) -> StreamState;
        fn flags(&self) -> StreamFlags;
        fn mime_type<'a>(&'a self) -> Option<&'a str>;
    }
}

mock! {
    /// A [`Backend`] whose every call is an expectation.
    pub Backend {}

    impl Backend for Backend {
        fn capabilities(&self) -> Capabilities;
        fn new_stream(&self, flags: StreamFlags) -> Result<Box<dyn Stream>>;
        fn open(&self, flags: StreamFlags, transfer: &Transfer) -> Result<Box<dyn Stream>>;
        fn create_volume(&self, volume: &VolumeId, layout: &Layout) -> Result<()>;
        fn delete_volume(&self, volume: &VolumeId) -> Result<()>;
        fn volume_layout(&self, volume: &VolumeId) -> Result<Layout>;
        fn volume_size(&self, volume: &VolumeId) -> Result<u64>;
        fn read_volume(&self, volume: &VolumeId, offset: u64, buf: &mut [u8]) -> Result<usize>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt_errors::{self, Call};

    #[test]
    fn the_mime_type_and_recv_flags_can_be_mocked() {
        let mut stream = MockStream::new();
        stream.expect_mime_type().return_const(Some("image/png"));
        stream
            .expect_recv_flags()
            .returning(|_, _| Err(libvirt_errors::not_supported(Call::RecvFlags)));
        assert_eq!(stream.mime_type(), Some("image/png"));
        assert_eq!(
            stream.recv_flags(&mut [0; 4], RecvFlags::empty()),
            Err(libvirt_errors::not_supported(Call::RecvFlags))
        );
    }
}
