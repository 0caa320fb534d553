//! Every CALL and REPLY payload recorded from libvirtd 9.0 decodes into the type of its
//! procedure (`remote_error` for an ERROR reply, `virNetStreamHole` for a hole) and encodes back
//! to the same bytes; and the decoder refuses what libvirt's bounds refuse.

use stream_rpc::protocol::calls::*;
use stream_rpc::protocol::procedure as p;
use stream_rpc::protocol::{RemoteError, StreamHole};
use stream_rpc::xdr::{self, Xdr, XdrError};
use stream_rpc::{MessageType, REMOTE_PROGRAM, Status};

use crate::recordings::recordings;

/// Decodes `bytes` as `T` and encodes it again.
fn round_trip<T: Xdr + std::fmt::Debug>(bytes: &[u8]) -> Result<Vec<u8>, XdrError> {
    Ok(xdr::to_bytes(&xdr::from_bytes::<T>(bytes)?))
}

type RoundTrip = fn(&[u8]) -> Result<Vec<u8>, XdrError>;

/// The argument and reply shapes of each procedure of fixtures/rpc/README.md's table.
fn shapes(procedure: u32) -> Option<(RoundTrip, RoundTrip)> {
    Some(match procedure {
        p::CONNECT_OPEN => (round_trip::<ConnectOpenArgs>, round_trip::<()>),
        p::CONNECT_CLOSE
        | p::CONNECT_REGISTER_CLOSE_CALLBACK
        | p::CONNECT_UNREGISTER_CLOSE_CALLBACK => (round_trip::<()>, round_trip::<()>),
        p::CONNECT_SUPPORTS_FEATURE => (
            round_trip::<ConnectSupportsFeatureArgs>,
            round_trip::<ConnectSupportsFeatureRet>,
        ),
        p::AUTH_LIST => (round_trip::<()>, round_trip::<AuthListRet>),
        p::DOMAIN_LOOKUP_BY_NAME => (
            round_trip::<DomainLookupByNameArgs>,
            round_trip::<DomainLookupByNameRet>,
        ),
        p::DOMAIN_SCREENSHOT => (
            round_trip::<DomainScreenshotArgs>,
            round_trip::<DomainScreenshotRet>,
        ),
        p::STORAGE_POOL_LOOKUP_BY_NAME => (
            round_trip::<StoragePoolLookupByNameArgs>,
            round_trip::<StoragePoolRet>,
        ),
        p::STORAGE_POOL_LOOKUP_BY_VOLUME => {
            (round_trip::<StorageVolArgs>, round_trip::<StoragePoolRet>)
        }
        p::STORAGE_POOL_GET_INFO => (
            round_trip::<StoragePoolArgs>,
            round_trip::<StoragePoolGetInfoRet>,
        ),
        p::STORAGE_POOL_GET_AUTOSTART => (
            round_trip::<StoragePoolArgs>,
            round_trip::<StoragePoolGetAutostartRet>,
        ),
        p::STORAGE_POOL_IS_ACTIVE => (
            round_trip::<StoragePoolArgs>,
            round_trip::<StoragePoolIsActiveRet>,
        ),
        p::STORAGE_VOL_CREATE_XML => (
            round_trip::<StorageVolCreateXmlArgs>,
            round_trip::<StorageVolRet>,
        ),
        p::STORAGE_VOL_DELETE => (round_trip::<StorageVolFlagsArgs>, round_trip::<()>),
        p::STORAGE_VOL_LOOKUP_BY_NAME => (
            round_trip::<StorageVolLookupByNameArgs>,
            round_trip::<StorageVolRet>,
        ),
        p::STORAGE_VOL_LOOKUP_BY_KEY => (
            round_trip::<StorageVolLookupByKeyArgs>,
            round_trip::<StorageVolRet>,
        ),
        p::STORAGE_VOL_LOOKUP_BY_PATH => (
            round_trip::<StorageVolLookupByPathArgs>,
            round_trip::<StorageVolRet>,
        ),
        p::STORAGE_VOL_GET_INFO => (
            round_trip::<StorageVolArgs>,
            round_trip::<StorageVolGetInfoRet>,
        ),
        p::STORAGE_VOL_GET_INFO_FLAGS => (
            round_trip::<StorageVolFlagsArgs>,
            round_trip::<StorageVolGetInfoRet>,
        ),
        p::STORAGE_VOL_GET_PATH => (
            round_trip::<StorageVolArgs>,
            round_trip::<StorageVolGetPathRet>,
        ),
        p::STORAGE_VOL_WIPE_PATTERN => (round_trip::<StorageVolWipePatternArgs>, round_trip::<()>),
        p::STORAGE_VOL_UPLOAD | p::STORAGE_VOL_DOWNLOAD => {
            (round_trip::<StorageVolTransferArgs>, round_trip::<()>)
        }
        p::CONNECT_LIST_ALL_STORAGE_POOLS => (
            round_trip::<ConnectListAllStoragePoolsArgs>,
            round_trip::<ConnectListAllStoragePoolsRet>,
        ),
        p::STORAGE_POOL_LIST_ALL_VOLUMES => (
            round_trip::<StoragePoolListAllVolumesArgs>,
            round_trip::<StoragePoolListAllVolumesRet>,
        ),
        _ => return None,
    })
}

#[test]
fn every_recorded_payload_decodes_into_its_type_and_encodes_to_the_same_bytes() {
    let mut checked = 0;
    for (name, records) in recordings() {
        for r in &records {
            let Some(data) = &r.data else { continue };
            let h = &r.header;
            let decoded = if h.status == Status::ERROR && h.kind != MessageType::CALL {
                // Every ERROR from the daemon carries a remote_error; the client's abort is empty.
                if data.is_empty() && h.kind == MessageType::STREAM {
                    continue;
                }
                round_trip::<RemoteError>(data)
            } else if h.kind == MessageType::STREAM_HOLE {
                round_trip::<StreamHole>(data)
            } else if h.prog != REMOTE_PROGRAM || h.kind == MessageType::STREAM {
                // Keepalive PING/PONG and the ends of streams are empty.
                assert!(data.is_empty(), "{name}: {r}");
                continue;
            } else {
                let Some((call, reply)) = shapes(h.proc_) else {
                    assert_eq!(h.proc_, 9999, "{name}: no shape for {r}");
                    continue;
                };
                match h.kind {
                    MessageType::CALL => call(data),
                    _ => reply(data),
                }
            };
            assert_eq!(decoded.as_ref(), Ok(data), "{name}: {r}");
            checked += 1;
        }
    }
    assert!(checked > 400, "only {checked} payloads checked");
}

#[test]
fn decoding_refuses_what_libvirt_bounds_refuse() {
    // A string announcing 4 GiB, a list over REMOTE_AUTH_TYPE_LIST_MAX, a pointer flag of 2,
    // a truncated hyper, and trailing bytes: each an error naming the rule, none a panic.
    let huge_string = [0xff, 0xff, 0xff, 0xff];
    assert!(matches!(
        xdr::from_bytes::<StoragePoolLookupByNameArgs>(&huge_string),
        Err(XdrError::TooLong { len: u32::MAX, .. })
    ));
    let long_list = 21u32.to_be_bytes();
    assert!(matches!(
        xdr::from_bytes::<AuthListRet>(&long_list),
        Err(XdrError::TooLong {
            len: 21,
            max: 20,
            ..
        })
    ));
    let bad_flag = [0, 0, 0, 2, 0, 0, 0, 0];
    assert_eq!(
        xdr::from_bytes::<ConnectOpenArgs>(&bad_flag),
        Err(XdrError::BadOptional { flag: 2 })
    );
    assert!(matches!(
        xdr::from_bytes::<StreamHole>(&[0; 7]),
        Err(XdrError::Truncated { .. })
    ));
    assert_eq!(
        xdr::from_bytes::<ConnectSupportsFeatureArgs>(&[0; 8]),
        Err(XdrError::Trailing { left: 4 })
    );
    let message = xdr::from_bytes::<ConnectSupportsFeatureArgs>(&[0; 8])
        .unwrap_err()
        .to_string();
    assert_eq!(message, "4 bytes left after the XDR value");
}

proptest::proptest! {
    #[test]
    fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
        let _ = xdr::from_bytes::<RemoteError>(&bytes);
        let _ = xdr::from_bytes::<StoragePoolListAllVolumesRet>(&bytes);
        let _ = xdr::from_bytes::<StorageVolCreateXmlArgs>(&bytes);
        let _ = xdr::from_bytes::<DomainScreenshotArgs>(&bytes);
    }
}
