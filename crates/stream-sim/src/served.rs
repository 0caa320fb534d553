//! The daemon's side of a stream, for a server that speaks libvirt's wire protocol: what
//! libvirtd 9.0 sends for a download (packets with their bytes) and does with an upload's
//! messages. Both come from the same preparation as [`SimBackend`]'s in-process streams (the
//! checks of `bind`, the volume snapshot, block-aligned holes, [`PacketSource`], [`Upload`]), so
//! the wire and the in-process profiles share one volume model.
//!
//! A served stream follows the [`FaultPlan`] injected with [`SimBackend::inject`] before it was
//! opened, at its byte positions, as the in-process streams do: a download's packets stop at a
//! fault point with [`DownloadPacket::Fail`], [`DownloadPacket::Die`] or
//! [`DownloadPacket::Stall`]; an upload's [`ServedUpload::data`] and [`ServedUpload::hole`]
//! return the failure, or [`Flow::Die`] / [`Flow::Stall`]. What each means on the wire is the
//! server's to send (STREAM ERROR, the connection cut, silence).

use stream_core::{Error, Result, VolumeId, libvirt_errors};

use crate::backend::{
    SimBackend, TEST_SCREENSHOT_MIME_TYPE, prepare_screenshot, screenshot_packets,
};
use crate::catalog::volume_path;
use crate::faults::{FaultPlan, FaultRun, Verdict};
use crate::packets::{Packet, PacketSource};
use crate::upload::Upload;
use crate::volume::Volume;

/// One message the daemon sends for a download, or what its fault plan makes of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadPacket {
    /// A `STREAM CONTINUE` with this many bytes (now in the caller's buffer).
    Data(usize),
    /// A `STREAM_HOLE` of this many bytes.
    Hole(u64),
    /// The end: an empty `STREAM CONTINUE`.
    End,
    /// The far side fails here (a `STREAM ERROR` with this error); the stream is over.
    Fail(Error),
    /// The daemon dies here: the connection is cut.
    Die,
    /// The far side stops answering here: nothing more is sent.
    Stall,
}

/// What the daemon does after an upload's message, by the stream's fault plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// It goes on.
    Go,
    /// It dies: the connection is cut.
    Die,
    /// It stops answering: later messages are not applied, `finish` is never confirmed.
    Stall,
}

/// A download as the daemon serves it: a snapshot of the volume taken when it was opened and
/// the packets libvirtd sends for its range.
#[derive(Debug)]
pub struct ServedDownload {
    snapshot: Volume,
    source: PacketSource,
    position: u64,
    faults: FaultPlan,
    run: FaultRun,
    /// The rest of a data packet cut at a fault point: `(offset, len)`.
    rest: Option<(u64, u64)>,
}

impl ServedDownload {
    fn new(snapshot: Volume, source: PacketSource, faults: FaultPlan) -> ServedDownload {
        ServedDownload {
            snapshot,
            source,
            position: 0,
            run: FaultRun::new(faults.clone()),
            faults,
            rest: None,
        }
    }

    /// The next packet; its bytes, for [`DownloadPacket::Data`]`(len)`, are `buf[..len]`. A
    /// data packet that runs into a fault point is cut there (libvirtd's reads stop where its
    /// file does); a hole is always whole.
    pub fn next_packet(&mut self, buf: &mut Vec<u8>) -> DownloadPacket {
        let room = match self.run.hole_call() {
            Verdict::Go { room, .. } => room,
            Verdict::Fail(error) => return DownloadPacket::Fail(error),
            Verdict::Die => return DownloadPacket::Die,
            Verdict::Stall | Verdict::WouldBlock => return DownloadPacket::Stall,
        };
        let packet = match self.rest.take() {
            Some((offset, len)) => Packet::Data { offset, len },
            None => self.source.next_packet(),
        };
        match packet {
            Packet::Data { offset, len } => {
                let len = if len > room {
                    self.rest = Some((offset + room, len - room));
                    room
                } else {
                    len
                };
                // A packet is at most MAX_PACKET (262120) bytes: it fits in memory and in usize.
                let len = len as usize;
                // Grown once, never shrunk: packets alternate 262120 and 24 bytes, and zeroing
                // the buffer again for every large one cost a memset per packet.
                if buf.len() < len {
                    buf.resize(len, 0);
                }
                self.snapshot.read(offset, &mut buf[..len]);
                self.moved(len as u64);
                DownloadPacket::Data(len)
            }
            Packet::Hole(len) => {
                self.moved(len);
                DownloadPacket::Hole(len)
            }
            Packet::Eof => DownloadPacket::End,
        }
    }

    fn moved(&mut self, bytes: u64) {
        self.position += bytes;
        self.run.moved(bytes);
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
    run: FaultRun,
}

impl ServedUpload {
    fn new(upload: Upload, faults: FaultPlan, volume: &VolumeId) -> ServedUpload {
        ServedUpload {
            upload,
            received: 0,
            run: FaultRun::new(faults.clone()).writing(volume_path(volume)),
            faults,
        }
    }

    /// What the plan says at the position reached: go on, or the fault met there.
    fn flow(&mut self) -> Result<Flow> {
        match self.run.hole_call() {
            Verdict::Go { .. } => Ok(Flow::Go),
            Verdict::Fail(error) => Err(error),
            Verdict::Die => Ok(Flow::Die),
            Verdict::Stall | Verdict::WouldBlock => Ok(Flow::Stall),
        }
    }

    /// A data message's bytes: those before a fault point reach the volume, then the fault met
    /// (the failure as the error, which the daemon reports at once).
    pub fn data(&mut self, bytes: &[u8]) -> Result<Flow> {
        let room = match self.run.hole_call() {
            Verdict::Go { room, .. } => room,
            _ => return self.flow(),
        };
        let lands = usize::try_from(room).unwrap_or(usize::MAX).min(bytes.len());
        self.received += bytes.len() as u64;
        self.upload.send(bytes, lands)?;
        self.run.moved(bytes.len() as u64);
        self.flow()
    }

    /// A hole message (`virNetStreamHole`). The daemon's `virFDStreamSendHole` refuses a length
    /// below 1 and any flag; libvirtd 9.0 then drops the rest of the upload without telling the
    /// client (fixtures/libvirt-9.0/FINDINGS.md, Q4: its log has these errors, the client's
    /// `finish` returns 0 or hangs). Served, the refusal is an error the server sends, so no
    /// client loses data without a word.
    pub fn hole(&mut self, length: i64, flags: u32) -> Result<Flow> {
        if let Verdict::Fail(_) | Verdict::Die | Verdict::Stall = self.run.hole_call() {
            return self.flow();
        }
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
        self.upload.send_hole(length)?;
        self.run.moved(length);
        self.flow()
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
        faults.check_served()?;
        faults.check_direction(false)?;
        let (snapshot, source) = self.prepare_download(volume, offset, length, sparse)?;
        Ok(ServedDownload::new(snapshot, source, faults))
    }

    /// `virStorageVolUpload` in the daemon; takes the injected plan.
    pub fn serve_upload(
        &self,
        volume: &VolumeId,
        offset: u64,
        length: u64,
    ) -> Result<ServedUpload> {
        let faults = self.take_faults();
        faults.check_served()?;
        let upload = self.prepare_upload(volume, offset, length)?;
        Ok(ServedUpload::new(upload, faults, volume))
    }

    /// `virDomainScreenshot` of the test driver through a daemon: the MIME type and the image's
    /// packets; takes the injected plan.
    pub fn serve_screenshot(
        &self,
        domain: &str,
        flags: u32,
    ) -> Result<(&'static str, ServedDownload)> {
        let faults = self.take_faults();
        faults.check_served()?;
        faults.check_direction(false)?;
        let screen = prepare_screenshot(domain, flags)?;
        let source = screenshot_packets(&screen);
        let download = ServedDownload::new(screen, source, faults);
        Ok((TEST_SCREENSHOT_MIME_TYPE, download))
    }
}
