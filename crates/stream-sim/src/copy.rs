//! Copying uploaded bytes into a volume's storage with streaming (non-temporal) stores.
//!
//! A volume's bytes are written once and read back much later, so pulling the destination into
//! the cache first (what a plain `memcpy` of 256 KiB does) only doubles the memory traffic:
//! measured on this project's 2-core machine, 256 KiB `copy_from_slice` calls into fresh
//! storage ran at 1.7 GB/s where a single 1 GiB `memcpy` (which glibc streams) ran at 7 GB/s.

/// Below this, a plain copy is as good (the destination fits in cache anyway).
const STREAMING_MIN: usize = 64 * 1024;

/// Copy `src` into `dst` (same length), bypassing the cache for large copies.
pub fn copy_to_storage(dst: &mut [u8], src: &[u8]) {
    assert_eq!(dst.len(), src.len(), "copy_to_storage needs equal lengths");
    #[cfg(target_arch = "x86_64")]
    if dst.len() >= STREAMING_MIN {
        // SAFETY: lengths are equal (asserted) and SSE2 is part of the x86_64 baseline.
        unsafe { streaming_copy(dst, src) };
        return;
    }
    dst.copy_from_slice(src);
}

/// # Safety
/// `dst.len() == src.len()`; the CPU has SSE2 (always true on x86_64).
#[cfg(target_arch = "x86_64")]
unsafe fn streaming_copy(dst: &mut [u8], src: &[u8]) {
    use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_sfence, _mm_stream_si128};
    // Streaming stores need 16-byte aligned destinations: copy the unaligned head plainly.
    let head = dst.as_ptr().align_offset(16).min(dst.len());
    dst[..head].copy_from_slice(&src[..head]);
    let body = (dst.len() - head) / 64 * 64;
    let (to, from) = (dst[head..].as_mut_ptr(), src[head..].as_ptr());
    let mut at = 0;
    while at < body {
        // SAFETY: `at + 64 <= body <= dst.len() - head`, so every 16-byte lane is in bounds of
        // both slices; `to + at` is 16-byte aligned because `to` is and `at` is a multiple of 64.
        unsafe {
            for lane in 0..4 {
                let offset = at + lane * 16;
                let value = _mm_loadu_si128(from.add(offset).cast::<__m128i>());
                _mm_stream_si128(to.add(offset).cast::<__m128i>(), value);
            }
        }
        at += 64;
    }
    // SAFETY: orders the streaming stores before any later access to the storage.
    unsafe { _mm_sfence() };
    dst[head + body..].copy_from_slice(&src[head + body..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_byte_at_any_alignment_and_length() {
        let src: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for (skip, len) in [(0, 300_000 - 7), (3, 70_001), (15, 65_536), (1, 10), (0, 0)] {
            let mut dst = vec![0u8; len + skip];
            copy_to_storage(&mut dst[skip..], &src[..len]);
            assert_eq!(&dst[skip..], &src[..len], "skip {skip} len {len}");
        }
    }
}
