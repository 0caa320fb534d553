//! File ⇄ stream sparse copies through the simulator: bytes equal, holes kept, trailing hole too.

use std::fs::File;
use std::os::unix::fs::FileExt;

use stream_core::{Backend, Layout, StreamFlags, Transfer, VolumeId};
use stream_sim::{Profile, SimBackend};
use virtstream::{download_to_file, download_to_writer, upload_from_file};

fn sparse_file(dir: &tempfile::TempDir, name: &str, data: &[(u64, &[u8])], size: u64) -> File {
    let file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dir.path().join(name))
        .unwrap();
    file.set_len(size).unwrap();
    for (offset, bytes) in data {
        file.write_all_at(bytes, *offset).unwrap();
    }
    file
}

fn allocated(file: &File) -> u64 {
    use std::os::unix::fs::MetadataExt;
    file.metadata().unwrap().blocks() * 512
}

#[test]
fn sparse_round_trip_keeps_bytes_holes_and_trailing_hole() {
    let dir = tempfile::tempdir().unwrap();
    let size = 64 << 20;
    let source = sparse_file(
        &dir,
        "in.raw",
        &[(0, &[1; 10]), (8 << 20, &[2; 70_000]), (40 << 20, &[3; 5])],
        size,
    );
    let sim = SimBackend::new(Profile::Remote);
    let volume = VolumeId::new("default", "v");
    sim.create_volume(&volume, &Layout::hole(0)).unwrap();

    let mut upload = sim
        .open(
            StreamFlags::empty(),
            &Transfer::upload(volume.clone(), true),
        )
        .unwrap();
    let sent = upload_from_file(upload.as_mut(), &source, true, |_| Ok(())).unwrap();
    upload.finish().unwrap();
    assert_eq!(sent.total(), size);
    assert!(sent.data < 1 << 20, "only the data blocks travel: {sent:?}");
    assert_eq!(
        sim.volume_layout(&volume).unwrap().to_string(),
        "D4K H8188K D72K H32696K D4K H24572K"
    );

    let target = sparse_file(&dir, "out.raw", &[], 0);
    let mut download = sim
        .open(StreamFlags::empty(), &Transfer::download(volume, true))
        .unwrap();
    let received = download_to_file(download.as_mut(), &target, true, |_| Ok(())).unwrap();
    download.finish().unwrap();
    assert_eq!(received, sent);
    assert_eq!(
        std::fs::read(dir.path().join("out.raw")).unwrap(),
        std::fs::read(dir.path().join("in.raw")).unwrap()
    );
    assert!(allocated(&target) <= allocated(&source), "holes stay holes");
}

#[test]
fn non_sparse_copies_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let source = sparse_file(&dir, "in.raw", &[(100, b"abc")], 10_000);
    let sim = SimBackend::new(Profile::Remote);
    let volume = VolumeId::new("default", "v");
    sim.create_volume(&volume, &Layout::hole(0)).unwrap();
    let mut upload = sim
        .open(
            StreamFlags::empty(),
            &Transfer::upload(volume.clone(), false),
        )
        .unwrap();
    let sent = upload_from_file(upload.as_mut(), &source, false, |_| Ok(())).unwrap();
    upload.finish().unwrap();
    assert_eq!((sent.data, sent.holes), (10_000, 0));
    assert_eq!(sim.volume_layout(&volume).unwrap().to_string(), "D10000");
}

#[test]
fn download_to_writer_writes_holes_as_zeros_in_order_and_stops_when_progress_says_so() {
    let sim = SimBackend::new(Profile::Remote);
    let volume = VolumeId::new("default", "v");
    let layout = Layout::parse("D4K H3M D10 H1M").unwrap();
    sim.create_volume(&volume, &layout).unwrap();
    for sparse in [true, false] {
        let mut download = sim
            .open(
                StreamFlags::empty(),
                &Transfer::download(volume.clone(), sparse),
            )
            .unwrap();
        let mut out = Vec::new();
        let got = download_to_writer(download.as_mut(), &mut out, sparse, |_| Ok(())).unwrap();
        download.finish().unwrap();
        assert!(out == layout.to_bytes(), "sparse {sparse}: bytes differ");
        assert_eq!(got.total(), layout.size());
    }
    // A progress callback's error stops the copy part-way through a hole, and is returned.
    let mut download = sim
        .open(StreamFlags::empty(), &Transfer::download(volume, true))
        .unwrap();
    let mut out = Vec::new();
    let stop = stream_core::Error::new(stream_core::ErrorKind::System, "stop");
    let error = download_to_writer(download.as_mut(), &mut out, true, |done| {
        if done.holes > 0 {
            Err(stop.clone())
        } else {
            Ok(())
        }
    })
    .unwrap_err();
    assert_eq!(error.message(), "stop");
    assert!(
        out.len() < (1 << 20),
        "the copy went on: {} bytes",
        out.len()
    );
}
