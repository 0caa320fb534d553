//! Moving a whole [`Layout`] through a stream: writing one as a sparse upload, reading a hole map
//! back from a sparse download.

use stream_core::{Error, ErrorKind, Extent, Fill, Layout, Recv, RecvFlags, Result, Stream};

const CHUNK: usize = 1 << 20;

/// Send `layout` on a sparse upload: data extents as bytes, gaps (and the tail) as holes.
pub fn upload_layout(stream: &mut dyn Stream, layout: &Layout) -> Result<()> {
    let mut at = 0;
    let mut buffer = vec![0; CHUNK];
    for extent in layout.extents() {
        if extent.offset > at {
            stream.send_hole((extent.offset - at) as i64, 0)?;
        }
        let mut offset = extent.offset;
        while offset < extent.end() {
            let len = (extent.end() - offset).min(CHUNK as u64) as usize;
            layout.read_at(offset, &mut buffer[..len]);
            let mut sent = 0;
            while sent < len {
                match stream.send(&buffer[sent..len])? {
                    stream_core::Sent::Bytes(n) => sent += n,
                    stream_core::Sent::WouldBlock => {
                        return Err(Error::new(
                            ErrorKind::Internal,
                            "would block on a blocking stream",
                        ));
                    }
                }
            }
            offset += len as u64;
        }
        at = extent.end();
    }
    if layout.size() > at {
        stream.send_hole((layout.size() - at) as i64, 0)?;
    }
    Ok(())
}

/// Read a sparse download to its end with `STOP_AT_HOLE`, returning where the data was.
pub fn read_hole_map(stream: &mut dyn Stream) -> Result<Layout> {
    let mut buffer = vec![0; CHUNK];
    let mut at = 0u64;
    let mut extents: Vec<Extent> = Vec::new();
    loop {
        match stream.recv(&mut buffer, RecvFlags::STOP_AT_HOLE)? {
            Recv::Data(n) => {
                extents.push(Extent {
                    offset: at,
                    length: n as u64,
                    fill: Fill::Data,
                });
                at += n as u64;
            }
            Recv::Hole => at += stream.recv_hole(0)?.max(0) as u64,
            Recv::Eof => break,
            Recv::WouldBlock => {
                return Err(Error::new(
                    ErrorKind::Internal,
                    "would block on a blocking stream",
                ));
            }
        }
    }
    Layout::new(at, extents).map_err(Error::from)
}
