//! What a `drain … digest` compares of the bytes it received: a checksum of what stays the
//! same from one build of libvirt to the next.
//!
//! The test driver's screenshot (`test-screenshot.png`, 33443 bytes) is the same image in every
//! Debian build, but each build stamps its package date into the PNG: the `tIME` chunk and the
//! `date:create` / `date:modify` text chunks, and with them those chunks' CRCs (measured: the
//! 9.0.0-4+deb12u2 and 11.3.0-2~bpo12+1 files differ in exactly those 38 bytes, Q24). A hash of
//! all the bytes would break on every update, so for a PNG the digest blanks (as zeros) the data
//! and CRC of every `tIME` chunk and the text and CRC of every `tEXt` / `zTXt` / `iTXt` chunk
//! whose keyword starts with `date:`; everything else (signature, lengths, chunk types, the
//! image data, other text) counts, and so does the size. Bytes that are not a PNG are hashed
//! whole.

/// FNV-1a, 64 bits: a checksum both backends compute the same way.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The digest token a `drain … digest` result ends with: `undated-png-fnv=<16 hex digits>` for
/// a PNG (its dated bytes blanked, as the module says), `fnv=<16 hex digits>` for anything else.
pub fn content_digest(bytes: &[u8]) -> String {
    match undated_png(bytes) {
        Some(undated) => format!("undated-png-fnv={:016x}", fnv1a(&undated)),
        None => format!("fnv={:016x}", fnv1a(bytes)),
    }
}

/// A PNG's bytes with the build-dated parts blanked; `None` if `bytes` is not a PNG. A chunk
/// that runs past the end stops the walk: what comes before it is blanked, the rest kept.
fn undated_png(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(PNG_SIGNATURE) {
        return None;
    }
    let mut undated = bytes.to_vec();
    let mut at = PNG_SIGNATURE.len();
    while let Some(header) = bytes.get(at..at + 8) {
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let data_start = at + 8;
        let Some(end) = data_start
            .checked_add(length)
            .and_then(|crc| crc.checked_add(4))
            .filter(|end| *end <= bytes.len())
        else {
            break;
        };
        let data = &bytes[data_start..data_start + length];
        let blank_from = match kind {
            b"tIME" => Some(data_start),
            b"tEXt" | b"zTXt" | b"iTXt" if data.starts_with(b"date:") => data
                .iter()
                .position(|&byte| byte == 0)
                .map(|nul| data_start + nul + 1),
            _ => None,
        };
        if let Some(from) = blank_from {
            // The dated data and the CRC over it.
            undated[from..end].fill(0);
        }
        at = end;
    }
    Some(undated)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &[u8] = stream_sim::TEST_SCREENSHOT;

    /// The screenshot of libvirt 9.0.0-4+deb12u2 with the bytes that libvirt-common
    /// 11.3.0-2~bpo12+1's copy has instead (measured, Q24): its own build date, 2025-07-01.
    fn as_built_on_2025_07_01() -> Vec<u8> {
        let mut other = IMAGE.to_vec();
        let mut put = |at: usize, bytes: &[u8]| other[at..at + bytes.len()].copy_from_slice(bytes);
        put(120, b"\x07\xe9\x07\x01\x06\x02\x0e\x26\x00\x68\xa8");
        put(33215, b"2025-07-01T06:02:14-00:00\xe9\xef\x43\x98");
        put(33264, b"2025-07-01T06:02:14-00:00\x98\xb2\xfb\x24");
        other
    }

    #[test]
    fn another_builds_dates_do_not_change_the_digest() {
        let other = as_built_on_2025_07_01();
        assert_eq!(IMAGE.len(), 33443);
        let differing = IMAGE.iter().zip(&other).filter(|(a, b)| a != b).count();
        assert_eq!(differing, 38, "the bytes Q24 measured differ");
        assert_ne!(fnv1a(IMAGE), fnv1a(&other), "a plain hash breaks");
        assert_eq!(content_digest(IMAGE), content_digest(&other));
        assert!(content_digest(IMAGE).starts_with("undated-png-fnv="));
    }

    #[test]
    fn the_image_and_its_size_still_count() {
        let mut pixel = IMAGE.to_vec();
        pixel[300] ^= 1; // inside the first IDAT chunk
        assert_ne!(content_digest(IMAGE), content_digest(&pixel));
        let mut text = IMAGE.to_vec();
        text[33310] ^= 1; // tiff:alpha's text: not a date
        assert_ne!(content_digest(IMAGE), content_digest(&text));
        assert_ne!(
            content_digest(IMAGE),
            content_digest(&IMAGE[..IMAGE.len() - 1])
        );
    }

    #[test]
    fn other_bytes_are_hashed_whole() {
        assert_eq!(content_digest(b""), format!("fnv={:016x}", fnv1a(b"")));
        assert_eq!(
            content_digest(b"abc"),
            format!("fnv={:016x}", fnv1a(b"abc"))
        );
        // A PNG cut inside a chunk: the walk stops there, nothing panics.
        assert!(content_digest(&IMAGE[..120]).starts_with("undated-png-fnv="));
    }
}
