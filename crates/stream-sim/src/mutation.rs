//! Deliberate deviations from real libvirt, one rule each, so tests can prove the conformance
//! suite notices when the simulator breaks a rule. Never set one for anything else.

/// One rule of real libvirt the simulator can be told to break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutation {
    /// `recv_hole` with no hole pending fails (as libvirt's docs say) instead of returning 0.
    RecvHoleFailsWhenNonePending,
    /// The daemon sends whole 256 KiB packets instead of 262120 + 24.
    WholeChunkPackets,
    /// Holes are byte-exact instead of following 4 KiB filesystem blocks.
    ByteExactHoles,
    /// A second `finish` succeeds instead of failing closed.
    FinishTwiceSucceeds,
    /// A sparse upload's hole does not truncate the file at its end.
    HolesDoNotTruncate,
    /// A plain `recv` that ends a hole does not go on with the data after it.
    HoleZerosNeverMixWithData,
}

impl Mutation {
    /// Every mutation.
    pub const ALL: [Mutation; 6] = [
        Mutation::RecvHoleFailsWhenNonePending,
        Mutation::WholeChunkPackets,
        Mutation::ByteExactHoles,
        Mutation::FinishTwiceSucceeds,
        Mutation::HolesDoNotTruncate,
        Mutation::HoleZerosNeverMixWithData,
    ];
}
