//! `LibvirtBackend`: a libvirt connection as a `stream_core::Backend`: the in-process test driver
//! (local fdstreams, the domain screenshot) or a daemon's storage pools (remote streams).

use std::ffi::CString;
use std::sync::Arc;

use stream_core::{
    Backend, Binding, Capabilities, Direction, Error, ErrorKind, Layout, Lifecycle, Recv,
    RecvFlags, Result, Stream, StreamFlags, StreamKind, Transfer, VolumeId,
};
use virt::connect::Connect;
use virt::storage_vol::StorageVol;
use virt::sys;

use crate::connection::Connection;
use crate::error::{from_virt, last_error};
use crate::hangup::Watchers;
use crate::stream::LibvirtStream;
use crate::{event_loop, layout_io, volume_size};

/// A libvirt connection serving streams.
#[derive(Debug, Clone)]
pub struct LibvirtBackend {
    connection: Arc<Connection>,
    capabilities: Capabilities,
    /// Registered callbacks, told when the daemon dies.
    watchers: Arc<Watchers>,
}

// SAFETY: libvirt connections are thread-safe; `Connect` only wraps the pointer.
unsafe impl Send for LibvirtBackend {}
// SAFETY: as above.
unsafe impl Sync for LibvirtBackend {}

impl LibvirtBackend {
    /// Connect to `uri`. `test:///…` URIs are the in-process test driver (local streams, domain
    /// screenshots); anything else goes through a daemon (remote streams, storage volumes).
    ///
    /// An empty URI is refused: libvirt would pick a default connection (probing for a
    /// hypervisor, possibly spawning a session daemon) instead of the one meant.
    pub fn connect(uri: &str) -> Result<LibvirtBackend> {
        if uri.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "libvirt URI must not be empty: libvirt would pick a default connection \
                 (e.g. storage:///system?socket=…, test:///default)",
            ));
        }
        no_nul("libvirt URI", uri)?;
        check_scheme(uri)?;
        prepare_process()?;
        let connection = Connect::open(Some(uri)).map_err(|error| {
            // libvirt often names only the socket or driver it tried: say which URI it was.
            let error = from_virt(&error);
            match (error.libvirt_code(), error.level()) {
                (Some(libvirt), Some(level)) => Error::libvirt(
                    error.kind(),
                    libvirt.code,
                    libvirt.domain,
                    format!("cannot connect to {uri}: {}", error.message()),
                )
                .with_level(level),
                _ => error,
            }
        })?;
        let capabilities = capabilities_of(uri);
        let watchers = Arc::new(Watchers::default());
        let connection = Connection::watched_by(connection, &watchers);
        Ok(LibvirtBackend {
            connection: Arc::new(connection),
            capabilities,
            watchers,
        })
    }

    /// Whether the connection still reaches its daemon, as libvirt's client sees it: false once
    /// its close callback reported the daemon gone or `virConnectIsAlive` says the socket is
    /// closed (an in-process driver is always alive). Asks nothing of the daemon.
    pub fn is_alive(&self) -> bool {
        // SAFETY: the connection lives as long as `self`.
        !self.watchers.is_dead()
            && unsafe { virt::sys::virConnectIsAlive(self.connection.as_ptr()) == 1 }
    }

    /// The test driver's default configuration: domain `test`, in-process.
    pub fn test_driver() -> Result<LibvirtBackend> {
        LibvirtBackend::connect("test:///default")
    }

    fn kind(&self) -> StreamKind {
        self.capabilities.kind
    }

    /// `virStreamNew`; `downloads`: the stream will be bound to receive.
    fn raw_stream(&self, flags: StreamFlags, downloads: bool) -> Result<LibvirtStream> {
        // SAFETY: live connection; a null return is libvirt's error.
        let ptr = unsafe { sys::virStreamNew(self.connection.as_ptr(), flags.bits()) };
        if ptr.is_null() {
            return Err(last_error());
        }
        Ok(LibvirtStream::new(
            ptr,
            Lifecycle::new(self.kind(), flags),
            self.connection.clone(),
            self.watchers.clone(),
            downloads,
        ))
    }

    fn lookup(&self, volume: &VolumeId) -> Result<StorageVol> {
        check_names(volume)?;
        let pool = self
            .connection
            .lookup_storage_pool_by_name(&volume.pool)
            .map_err(|error| from_virt(&error))?;
        pool.lookup_storage_vol_by_name(&volume.name)
            .map_err(|error| from_virt(&error))
    }

    fn bind(&self, stream: &mut LibvirtStream, transfer: &Transfer) -> Result<()> {
        let binding = match transfer {
            Transfer::Upload {
                volume,
                offset,
                length,
                sparse,
            }
            | Transfer::Download {
                volume,
                offset,
                length,
                sparse,
            } => {
                let upload = matches!(transfer, Transfer::Upload { .. });
                let vol = self.lookup(volume)?;
                // One signature for both binding calls; only the function and the flag differ.
                let (bind, sparse_flag, direction) = if upload {
                    (
                        sys::virStorageVolUpload as VolumeBind,
                        sys::VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM,
                        Direction::Upload,
                    )
                } else {
                    (
                        sys::virStorageVolDownload as VolumeBind,
                        sys::VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM,
                        Direction::Download,
                    )
                };
                if *sparse && !upload {
                    refuse_past_end(&vol, *offset)?;
                }
                let flags = if *sparse { sparse_flag } else { 0 };
                // SAFETY: live volume and stream.
                if unsafe { bind(vol.as_ptr(), stream.as_ptr(), *offset, *length, flags) } < 0 {
                    return Err(last_error());
                }
                if upload {
                    stream.check_upload_into(vol, *offset, *length);
                }
                Binding {
                    direction,
                    sparse: *sparse,
                }
            }
            Transfer::Screenshot {
                domain,
                screen,
                flags,
            } => {
                let name = CString::new(domain.as_str()).map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidArgument,
                        "domain name contains a NUL byte",
                    )
                })?;
                // SAFETY: live connection; the domain reference is released below.
                let dom =
                    unsafe { sys::virDomainLookupByName(self.connection.as_ptr(), name.as_ptr()) };
                if dom.is_null() {
                    return Err(last_error());
                }
                // SAFETY: live domain and stream; the MIME string is ours to free.
                let mime =
                    unsafe { sys::virDomainScreenshot(dom, stream.as_ptr(), *screen, *flags) };
                let result = if mime.is_null() {
                    Err(last_error())
                } else {
                    // SAFETY: a NUL-terminated string from libvirt, read before it is freed.
                    Ok(unsafe { std::ffi::CStr::from_ptr(mime) }
                        .to_string_lossy()
                        .into_owned())
                };
                // SAFETY: both pointers came from libvirt and are released once.
                unsafe {
                    libc::free(mime.cast());
                    sys::virDomainFree(dom);
                }
                stream.bound_to_image(result?);
                Binding {
                    direction: Direction::Download,
                    sparse: false,
                }
            }
        };
        stream.lifecycle_mut().bind(binding);
        Ok(())
    }
}

/// What a connection to `uri` serves: the test driver in-process (`test:///…`: local streams,
/// the screenshot), the test driver through a daemon (`test+unix://…`, `test+ssh://…`: the
/// screenshot as a remote stream, Q22), or a daemon's storage (anything else).
fn capabilities_of(uri: &str) -> Capabilities {
    let scheme = uri.split_once(':').map_or("", |(scheme, _)| scheme);
    match scheme.split_once('+') {
        None if scheme == "test" => Capabilities::local_screenshot(),
        Some(("test", _)) => Capabilities::remote_screenshot(),
        _ => Capabilities::remote_storage(),
    }
}

/// A sparse download may not start past the volume's end (see
/// `libvirt_errors::guard::sparse_download_past_end`).
fn refuse_past_end(vol: &StorageVol, offset: u64) -> Result<()> {
    let size = volume_size::physical_size(vol)?;
    if offset > size {
        return Err(stream_core::libvirt_errors::guard::sparse_download_past_end(offset, size));
    }
    Ok(())
}

/// `virStorageVolUpload` and `virStorageVolDownload`.
type VolumeBind = unsafe extern "C" fn(
    sys::virStorageVolPtr,
    sys::virStreamPtr,
    std::os::raw::c_ulonglong,
    std::os::raw::c_ulonglong,
    std::os::raw::c_uint,
) -> std::os::raw::c_int;

/// What every process using libvirt through this crate needs, once: no libvirt error printing
/// (errors are returned), SIGPIPE ignored (a write to a dead daemon must be an error, not a
/// death), and the event loop registered before any connection.
fn prepare_process() -> Result<()> {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        virt::error::clear_error_callback();
        // SAFETY: setting a signal disposition to SIG_IGN has no preconditions.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    });
    event_loop::ensure_started()
}

impl Backend for LibvirtBackend {
    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    fn new_stream(&self, flags: StreamFlags) -> Result<Box<dyn Stream>> {
        Ok(Box::new(self.raw_stream(flags, false)?))
    }

    fn open(&self, flags: StreamFlags, transfer: &Transfer) -> Result<Box<dyn Stream>> {
        let downloads = !matches!(transfer, Transfer::Upload { .. });
        let mut stream = self.raw_stream(flags, downloads)?;
        self.bind(&mut stream, transfer)?;
        Ok(Box::new(stream))
    }

    fn create_volume(&self, volume: &VolumeId, layout: &Layout) -> Result<()> {
        check_names(volume)?;
        // `Layout::hole` / `Layout::data` take any size; libvirt's offsets are `off_t`, and the
        // upload below sends holes as `i64` lengths. Refuse before anything is created.
        if layout.size() > Layout::MAX_SIZE {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "volume size must be at most {} (i64::MAX, libvirt's largest offset), got {}",
                    Layout::MAX_SIZE,
                    layout.size()
                ),
            ));
        }
        let pool = self
            .connection
            .lookup_storage_pool_by_name(&volume.pool)
            .map_err(|error| from_virt(&error))?;
        let xml = format!(
            "<volume><name>{}</name><capacity unit='bytes'>{}</capacity>\
             <allocation unit='bytes'>0</allocation><target><format type='raw'/></target></volume>",
            xml_escape(&volume.name),
            layout.size()
        );
        StorageVol::create_xml(&pool, &xml, 0).map_err(|error| from_virt(&error))?;
        if layout.extents().is_empty() {
            return Ok(());
        }
        let upload = Transfer::upload(volume.clone(), true);
        let filled = self
            .open(StreamFlags::empty(), &upload)
            .and_then(|mut stream| {
                layout_io::upload_layout(stream.as_mut(), layout)?;
                stream.finish()
            });
        if filled.is_err() {
            // No half-filled volume left behind: the caller sees the error and no volume.
            let _ = self.delete_volume(volume);
        }
        filled
    }

    fn delete_volume(&self, volume: &VolumeId) -> Result<()> {
        self.lookup(volume)?
            .delete(0)
            .map_err(|error| from_virt(&error))
    }

    fn volume_layout(&self, volume: &VolumeId) -> Result<Layout> {
        let mut stream = self.open(
            StreamFlags::empty(),
            &Transfer::download(volume.clone(), true),
        )?;
        let layout = layout_io::read_hole_map(stream.as_mut())?;
        stream.finish()?;
        Ok(layout)
    }

    fn volume_size(&self, volume: &VolumeId) -> Result<u64> {
        volume_size::physical_size(&self.lookup(volume)?)
    }

    fn empty_volume(&self, volume: &VolumeId) -> Result<bool> {
        let vol = self.lookup(volume)?;
        let info = vol.info().map_err(|error| from_virt(&error))?;
        // The daemon truncates only a sparse regular file (st_blocks below its size); a fully
        // allocated one, or a device, it would overwrite with zeros byte by byte.
        if info.kind != sys::VIR_STORAGE_VOL_FILE || info.allocation >= info.capacity {
            return Ok(false);
        }
        vol.wipe_pattern(sys::VIR_STORAGE_VOL_WIPE_ALG_ZERO, 0)
            .map_err(|error| from_virt(&error))?;
        Ok(true)
    }

    fn read_volume(&self, volume: &VolumeId, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let range = Transfer::Download {
            volume: volume.clone(),
            offset,
            length: buf.len() as u64,
            sparse: false,
        };
        let mut stream = self.open(StreamFlags::empty(), &range)?;
        let mut filled = 0;
        while filled < buf.len() {
            match stream.recv(&mut buf[filled..], RecvFlags::empty())? {
                Recv::Data(n) => filled += n,
                _ => break,
            }
        }
        stream.finish()?;
        Ok(filled)
    }
}

/// A name libvirt takes as a C string: refused with a clear error (naming `what`) if it holds
/// a NUL byte, which the `virt` crate would otherwise panic on (`Connect::open`) or report as
/// an anonymous "Null byte passed to CString".
fn no_nul(what: &str, text: &str) -> Result<()> {
    match text.find('\0') {
        Some(at) => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("{what} {text:?} contains a NUL byte at {at}: libvirt takes C strings"),
        )),
        None => Ok(()),
    }
}

/// A URI with a `:` must start with a scheme (`driver[+transport]:`); libvirt would otherwise
/// fall back to the default daemon socket and report only that socket. A name without `:` is
/// left to libvirt (it may be an alias from libvirt.conf).
fn check_scheme(uri: &str) -> Result<()> {
    let Some((scheme, _)) = uri.split_once(':') else {
        return Ok(());
    };
    let mut chars = scheme.chars();
    let valid = chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '_'));
    if valid {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "libvirt URI {uri:?} must start with a driver scheme (driver[+transport]://…), \
                 got {scheme:?}"
            ),
        ))
    }
}

fn check_names(volume: &VolumeId) -> Result<()> {
    no_nul("pool name", &volume.pool)?;
    no_nul("volume name", &volume.name)
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
}
