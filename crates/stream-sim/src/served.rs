//! The daemon's side of a stream, for a server that speaks libvirt's wire protocol: what
//! libvirtd 9.0 sends for a download (packets with their bytes) and does with an upload's
//! messages. Both come from the same preparation as [`SimBackend`]'s in-process streams (the
//! checks of `bind`, the volume snapshot, block-aligned holes, [`PacketSource`], [`Upload`]), so
//! the wire and the in-process profiles share one volume model.
//!
//! A served stream carries the [`FaultPlan`] injected with [`SimBackend::inject`] before it was
//! opened; [`ServedDownload::faults`] and [`ServedUpload::faults`] give it to the server, which
//! applies it at its byte positions.

use stream_core::{Result, VolumeId, libvirt_errors};

use crate::backend::{
    SimBackend, TEST_SCREENSHOT_MIME_TYPE, prepare_screenshot, screenshot_packets,
};
use crate::faults::FaultPlan;
use crate::packets::{Packet, PacketSource};
use crate::upload::Upload;
use crate::volume::Volume;

/// One message the daemon sends for a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadPacket {
    /// A `STREAM CONTINUE` with this many bytes (now in the caller's buffer).
    Data(usize),
    /// A `STREAM_HOLE` of this many bytes.
    Hole(u64),
    /// The end: an empty `STREAM CONTINUE`.
    End,
}

/// A download as the daemon serves it: a snapshot of the volume taken when it was opened and
/// the packets libvirtd sends for its range.
#[derive(Debug)]
pub struct ServedDownload {
    snapshot: Volume,
    source: PacketSource,
    position: u64,
    faults: FaultPlan,
}

impl ServedDownload {
    /// The next packet; its bytes, for [`DownloadPacket::Data`], replace `buf`'s contents.
    pub fn next_packet(&mut self, buf: &mut Vec<u8>) -> DownloadPacket {
        match self.source.next_packet() {
            Packet::Data { offset, len } => {
                // A packet is at most MAX_PACKET (262120) bytes: it fits in memory and in usize.
                let len = len as usize;
                buf.resize(len, 0);
                self.snapshot.read(offset, buf);
                self.position += len as u64;
                DownloadPacket::Data(len)
            }
            Packet::Hole(len) => {
                self.position += len;
                DownloadPacket::Hole(len)
            }
            Packet::Eof => DownloadPacket::End,
        }
    }

    /// The transfer position: bytes and holes sent so far, from the start of the range.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The fault plan this stream follows.
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }
}

/// An upload as the daemon serves it: each data or hole message goes into the volume as
/// the simulator's upload model puts it there (range, truncation, the first failure kept).
#[derive(Debug)]
pub struct ServedUpload {
    upload: Upload,
    received: u64,
    faults: FaultPlan,
}

impl ServedUpload {
    /// A data message's bytes.
    pub fn data(&mut self, bytes: &[u8]) -> Result<()> {
        self.received += bytes.len() as u64;
        self.upload.send(bytes, bytes.len()).map(|_| ())
    }

    /// A hole message (`virNetStreamHole`). The daemon's `virFDStreamSendHole` refuses a length
    /// below 1 and any flag; libvirtd 9.0 then drops the rest of the upload without telling the
    /// client (fixtures/libvirt-9.0/FINDINGS.md, Q4: its log has these errors, the client's
    /// `finish` returns 0 or hangs). Served, the refusal is an error the server sends, so no
    /// client loses data without a word.
    pub fn hole(&mut self, length: i64, flags: u32) -> Result<()> {
        if flags != 0 {
            return Err(libvirt_errors::fdstream_unsupported_flags(
                "virFDStreamSendHole",
                flags,
            ));
        }
        let Some(length) = u64::try_from(length).ok().filter(|&l| l > 0) else {
            return Err(libvirt_errors::fdstream_hole_length());
        };
        self.received = self.received.saturating_add(length);
        self.upload.send_hole(length)
    }

    /// The daemon's first write failure so far (libvirtd reports it as soon as it happens).
    pub fn failure(&self) -> Option<stream_core::Error> {
        self.upload.failure()
    }

    /// The client's finish: the kept failure, if any.
    pub fn finish(self) -> Result<()> {
        self.upload.failure().map_or(Ok(()), Err)
    }

    /// The transfer position: bytes and holes received so far.
    pub fn position(&self) -> u64 {
        self.received
    }

    /// The fault plan this stream follows.
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }
}

impl SimBackend {
    /// `virStorageVolDownload` in the daemon: the same checks, in the same order, as
    /// [`Backend::open`](stream_core::Backend::open) of a download; takes the injected plan.
    pub fn serve_download(
        &self,
        volume: &VolumeId,
        offset: u64,
        length: u64,
        sparse: bool,
    ) -> Result<ServedDownload> {
        let faults = self.take_faults();
        let (snapshot, source) = self.prepare_download(volume, offset, length, sparse)?;
        Ok(ServedDownload {
            snapshot,
            source,
            position: 0,
            faults,
        })
    }

    /// `virStorageVolUpload` in the daemon; takes the injected plan.
    pub fn serve_upload(
        &self,
        volume: &VolumeId,
        offset: u64,
        length: u64,
    ) -> Result<ServedUpload> {
        let faults = self.take_faults();
        let upload = self.prepare_upload(volume, offset, length)?;
        Ok(ServedUpload {
            upload,
            received: 0,
            faults,
        })
    }

    /// `virDomainScreenshot` of the test driver through a daemon: the MIME type and the image's
    /// packets; takes the injected plan.
    pub fn serve_screenshot(
        &self,
        domain: &str,
        flags: u32,
    ) -> Result<(&'static str, ServedDownload)> {
        let faults = self.take_faults();
        let screen = prepare_screenshot(domain, flags)?;
        let source = screenshot_packets(&screen);
        let download = ServedDownload {
            snapshot: screen,
            source,
            position: 0,
            faults,
        };
        Ok((TEST_SCREENSHOT_MIME_TYPE, download))
    }
}
