//! `std::io` over streams, through the simulator: `io::copy` in and out gives the same bytes.

use std::io::{self, Read, Write};

use stream_core::{Backend, Layout, Stream, StreamFlags, Transfer, VolumeId};
use stream_sim::{Profile, SimBackend};
use virtstream::{StreamReader, StreamWriter};

#[test]
fn io_copy_up_and_down_round_trips() {
    let sim = SimBackend::new(Profile::Remote);
    let volume = VolumeId::new("default", "v");
    sim.create_volume(&volume, &Layout::hole(0)).unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 241) as u8).collect();

    let upload = sim
        .open(
            StreamFlags::empty(),
            &Transfer::upload(volume.clone(), false),
        )
        .unwrap();
    let mut writer = StreamWriter::new(upload);
    assert_eq!(
        io::copy(&mut data.as_slice(), &mut writer).unwrap(),
        data.len() as u64
    );
    assert_eq!(
        writer.write(&[]).unwrap(),
        0,
        "an empty write is not an end of stream"
    );
    writer.into_inner().finish().unwrap();

    let download = sim
        .open(StreamFlags::empty(), &Transfer::download(volume, false))
        .unwrap();
    let mut reader = StreamReader::new(download);
    let mut back = Vec::new();
    reader.read_to_end(&mut back).unwrap();
    assert!(back == data, "{} bytes back of {}", back.len(), data.len());
    reader.into_inner().finish().unwrap();
}

#[test]
fn stream_errors_surface_as_io_errors() {
    let sim = SimBackend::new(Profile::Remote);
    let mut reader = StreamReader::new(sim.new_stream(StreamFlags::empty()).unwrap());
    let error = reader.read(&mut [0; 8]).unwrap_err();
    let inner = error
        .get_ref()
        .expect("the stream error is kept")
        .to_string();
    assert!(
        inner.contains("not supported by the connection driver"),
        "{inner}"
    );
}
