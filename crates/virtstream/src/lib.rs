//! Sparse volume transfers over any `stream_core::Stream`: copy a local file into an upload
//! stream (its holes sent as holes, found with SEEK_DATA / SEEK_HOLE) and a download stream into
//! a local file (holes kept, the trailing one included); `std::io` adapters over a stream.

pub mod io;
pub mod killable;
pub mod served;
mod sink;
pub mod sparse_file;

pub use io::{StreamReader, StreamWriter};
pub use sparse_file::{
    Copied, download_to_file, download_to_writer, upload_from_file, upload_from_file_with_head,
};

/// The README's Rust examples, compiled and run as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme {}
