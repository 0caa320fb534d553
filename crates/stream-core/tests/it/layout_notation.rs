//! The layout notation: printing then parsing gives the same layout, for any layout.

use proptest::prelude::*;
use stream_core::{Extent, Fill, Layout};

fn layouts() -> impl Strategy<Value = Layout> {
    let segment = (0u8..3, 1u64..(1 << 22));
    proptest::collection::vec(segment, 0..12).prop_map(|segments| {
        let mut at = 0;
        let mut extents = Vec::new();
        for (kind, length) in segments {
            match kind {
                0 => extents.push(Extent {
                    offset: at,
                    length,
                    fill: Fill::Data,
                }),
                1 => extents.push(Extent {
                    offset: at,
                    length,
                    fill: Fill::Zeros,
                }),
                _ => {}
            }
            at += length;
        }
        Layout::new(at, extents).expect("segments are disjoint and in order")
    })
}

proptest! {
    #[test]
    fn notation_round_trips(layout in layouts()) {
        let text = layout.to_string();
        prop_assert_eq!(Layout::parse(&text).unwrap(), layout);
    }

    #[test]
    fn block_alignment_keeps_every_data_byte(layout in layouts(), shift in 0u32..13) {
        let aligned = layout.block_aligned(1 << shift);
        prop_assert_eq!(aligned.size(), layout.size());
        for extent in layout.extents() {
            let covering = aligned.extents().iter().any(|run| run.offset <= extent.offset && run.end() >= extent.end());
            prop_assert!(covering, "{} lost {:?} in {}", layout, extent, aligned);
        }
    }

    #[test]
    fn parser_never_panics(text in "[DHZ0-9KMGTP -]{0,24}") {
        let _ = Layout::parse(&text);
    }
}

#[test]
fn overlapping_extents_are_refused() {
    let extents = [
        Extent {
            offset: 0,
            length: 10,
            fill: Fill::Data,
        },
        Extent {
            offset: 5,
            length: 10,
            fill: Fill::Data,
        },
    ];
    let error = Layout::new(20, extents).unwrap_err();
    assert!(error.to_string().contains("overlaps"), "{error}");
    let past_end = Layout::new(
        4,
        [Extent {
            offset: 0,
            length: 10,
            fill: Fill::Data,
        }],
    )
    .unwrap_err();
    assert!(past_end.to_string().contains("past the size"), "{past_end}");
}
