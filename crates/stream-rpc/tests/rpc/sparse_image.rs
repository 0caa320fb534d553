//! Sparse files for the client tests: a 1 GiB image with 10 % data, and its data map as the
//! filesystem reports it (SEEK_DATA / SEEK_HOLE), which is what "holes kept" is checked with.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use rustix::fs::SeekFrom;

/// 1 GiB.
pub const GIB: u64 = 1 << 30;

/// Writes a `GIB`-byte file with 64 data runs of 1600 KiB (about 10 %), one every 16 MiB at a
/// shifting offset, of pseudo-random bytes; the rest are holes.
pub fn write_image(path: &Path) {
    let file = File::create(path).unwrap();
    file.set_len(GIB).unwrap();
    let run = 1600 * 1024;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut chunk = vec![0u8; run];
    for i in 0..64u64 {
        for byte in chunk.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        let offset = i * (16 << 20) + (i % 7) * 4096 * 33;
        file.write_all_at(&chunk, offset).unwrap();
    }
    file.sync_all().unwrap();
}

/// The file's data runs `(start, end)` by SEEK_DATA / SEEK_HOLE.
pub fn data_map(path: &Path) -> Vec<(u64, u64)> {
    let file = File::open(path).unwrap();
    let size = file.metadata().unwrap().len();
    let mut runs = Vec::new();
    let mut at = 0;
    while at < size {
        let Ok(start) = rustix::fs::seek(&file, SeekFrom::Data(at)) else {
            break;
        };
        let end = rustix::fs::seek(&file, SeekFrom::Hole(start)).unwrap();
        runs.push((start, end));
        at = end;
    }
    runs
}

/// Bytes the file occupies on disk (`du`).
pub fn allocated(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().blocks() * 512
}

/// `cmp`: the two files hold the same bytes (read in 8 MiB pieces).
pub fn same_bytes(a: &Path, b: &Path) -> bool {
    let (a, b) = (File::open(a).unwrap(), File::open(b).unwrap());
    let size = a.metadata().unwrap().len();
    if size != b.metadata().unwrap().len() {
        return false;
    }
    let (mut x, mut y) = (vec![0; 8 << 20], vec![0; 8 << 20]);
    let mut at = 0;
    while at < size {
        let n = (size - at).min(x.len() as u64) as usize;
        a.read_exact_at(&mut x[..n], at).unwrap();
        b.read_exact_at(&mut y[..n], at).unwrap();
        if x[..n] != y[..n] {
            return false;
        }
        at += n as u64;
    }
    true
}

/// Checks the copy: same bytes, same data map, no more blocks than the original.
pub fn assert_same_sparse_file(original: &Path, copy: &Path) {
    assert!(
        same_bytes(original, copy),
        "{} differs from {}",
        copy.display(),
        original.display()
    );
    assert_eq!(
        data_map(copy),
        data_map(original),
        "holes not kept in {}",
        copy.display()
    );
    assert!(
        allocated(copy) <= allocated(original),
        "{} takes {} bytes on disk, the original {}",
        copy.display(),
        allocated(copy),
        allocated(original)
    );
}
