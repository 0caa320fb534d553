//! `SimServer` at the protocol level, with a bare-socket client: the RPC layer's refusals are
//! byte for byte libvirtd's (replayed from raw-unknown.rec), keepalive pings are answered, bad
//! frames end only their own connection, stream messages keep libvirtd's shapes, and 64
//! clients downloading at once each get every byte.

use std::thread;

use stream_core::Layout;
use stream_rpc::protocol::calls::*;
use stream_rpc::protocol::objects::Vol;
use stream_rpc::protocol::procedure as p;
use stream_rpc::protocol::{RemoteError, StreamHole};
use stream_rpc::record::Direction;
use stream_rpc::xdr;
use stream_rpc::{Header, KEEPALIVE_PROGRAM, MessageType, SimServer, Status};

use crate::raw_client::RawClient;
use crate::recordings::{readme_procedures, recordings};

fn server() -> SimServer {
    SimServer::start().expect("start the server")
}

#[test]
fn the_rpc_layer_refuses_unknown_procedures_versions_and_programs_as_libvirtd() {
    let (_, records) = recordings()
        .into_iter()
        .find(|(name, _)| name == "raw-unknown.rec")
        .unwrap();
    let server = server();
    let mut client = RawClient::connect(server.socket());
    let mut replies = 0;
    for record in &records {
        let frame = stream_rpc::Frame {
            header: record.header,
            payload: record.data.clone().unwrap(),
        };
        match record.dir {
            Direction::ToServer => client.send(frame.header, &frame.payload),
            Direction::ToClient => {
                assert_eq!(client.expect_next(), frame, "{record}");
                replies += 1;
            }
        }
    }
    assert_eq!(replies, 4);
}

#[test]
fn keepalive_pings_get_pongs_of_the_recorded_shape() {
    let server = server();
    let mut client = RawClient::connect(server.socket());
    let ping = Header {
        prog: KEEPALIVE_PROGRAM,
        vers: 1,
        proc_: p::KEEPALIVE_PING,
        kind: MessageType::MESSAGE,
        serial: 0,
        status: Status::OK,
    };
    client.send(ping, &[]);
    let pong = client.expect_next();
    assert_eq!(
        pong.header,
        Header {
            proc_: p::KEEPALIVE_PONG,
            ..ping
        }
    );
    assert!(pong.payload.is_empty());
}

#[test]
fn calls_before_connect_open_are_refused_and_the_connection_goes_on() {
    let server = server();
    let mut client = RawClient::connect(server.socket());
    let serial = client.call(
        p::STORAGE_POOL_LOOKUP_BY_NAME,
        &StoragePoolLookupByNameArgs {
            name: "default".into(),
        },
    );
    let reply = client.expect_next();
    assert_eq!(
        (reply.header.serial, reply.header.status),
        (serial, Status::ERROR)
    );
    let error: RemoteError = xdr::from_bytes(&reply.payload).unwrap();
    assert_eq!(
        error.message.as_deref(),
        Some("internal error: connection not open")
    );
    // Arguments that do not decode: an error reply, and the connection stays.
    let header = client.header(p::CONNECT_OPEN, MessageType::CALL, 9, Status::OK);
    client.send(header, &[0, 0, 0, 7]);
    let reply = client.expect_next();
    let error: RemoteError = xdr::from_bytes(&reply.payload).unwrap();
    assert_eq!(
        (error.code, error.domain, error.message.as_deref()),
        (39, 7, Some("Unable to decode message payload"))
    );
    client.ok(p::AUTH_LIST, &());
}

#[test]
fn a_bad_frame_ends_its_own_connection_only() {
    let server = server();
    let mut bystander = RawClient::opened(server.socket());
    for bad in [
        // Over 32 MiB, under the 28-byte minimum, and a frame cut short by the client leaving.
        (33_554_433u32).to_be_bytes().to_vec(),
        (27u32).to_be_bytes().to_vec(),
        [(100u32).to_be_bytes().as_slice(), &[0; 10]].concat(),
    ] {
        let mut offender = RawClient::connect(server.socket());
        offender.write_raw(&bad).unwrap();
        if bad.len() > 4 {
            offender.socket_shutdown_write();
        }
        assert!(
            offender.next().is_none(),
            "{bad:?} left the connection open"
        );
        let pools = bystander.ok(
            p::CONNECT_LIST_ALL_STORAGE_POOLS,
            &ConnectListAllStoragePoolsArgs {
                need_results: 1,
                flags: 0,
            },
        );
        let pools: ConnectListAllStoragePoolsRet = xdr::from_bytes(&pools).unwrap();
        assert_eq!(pools.ret, 1);
    }
}

fn default_pool(client: &mut RawClient) -> stream_rpc::protocol::objects::Pool {
    let ret = client.ok(
        p::STORAGE_POOL_LOOKUP_BY_NAME,
        &StoragePoolLookupByNameArgs {
            name: "default".into(),
        },
    );
    xdr::from_bytes::<StoragePoolRet>(&ret).unwrap().pool
}

fn lookup(client: &mut RawClient, name: &str) -> Vol {
    let pool = default_pool(client);
    let ret = client.ok(
        p::STORAGE_VOL_LOOKUP_BY_NAME,
        &StorageVolLookupByNameArgs {
            pool,
            name: name.into(),
        },
    );
    xdr::from_bytes::<StorageVolRet>(&ret).unwrap().vol
}

/// A download's stream messages: data lengths as positive, holes as negative, then the end.
fn download_shape(client: &mut RawClient, vol: Vol, sparse: bool, bytes: &mut Vec<u8>) -> Vec<i64> {
    let args = StorageVolTransferArgs {
        vol,
        offset: 0,
        length: 0,
        flags: u32::from(sparse),
    };
    let serial = client.call(p::STORAGE_VOL_DOWNLOAD, &args);
    let reply = client.expect_next();
    assert_eq!(
        (reply.header.kind, reply.header.status),
        (MessageType::REPLY, Status::OK)
    );
    let mut shape = Vec::new();
    loop {
        let message = client.expect_next();
        let h = message.header;
        assert_eq!(
            (h.serial, h.proc_, h.status),
            (serial, p::STORAGE_VOL_DOWNLOAD, Status::CONTINUE)
        );
        match h.kind {
            MessageType::STREAM_HOLE => {
                let hole: StreamHole = xdr::from_bytes(&message.payload).unwrap();
                assert_eq!(hole.flags, 0);
                bytes.resize(bytes.len() + hole.length as usize, 0);
                shape.push(-hole.length);
            }
            MessageType::STREAM if message.payload.is_empty() => break,
            MessageType::STREAM => {
                bytes.extend_from_slice(&message.payload);
                shape.push(message.payload.len() as i64);
            }
            other => panic!("unexpected {other} in a download"),
        }
    }
    // The client's finish, confirmed with an empty OK.
    let finish = client.header(
        p::STORAGE_VOL_DOWNLOAD,
        MessageType::STREAM,
        serial,
        Status::OK,
    );
    client.send(finish, &[]);
    let ok = client.expect_next();
    assert_eq!((ok.header, ok.payload.len()), (finish, 0));
    shape
}

#[test]
fn downloads_send_libvirtds_packets_chunks_holes_and_end() {
    let server = server();
    // As sparse.in of the recordings: data at [0, 64K) and [512K, 576K) of 1 MiB.
    let layout = Layout::parse("D64K H448K D64K H448K").unwrap();
    server.add_volume("v", &layout).unwrap();
    let mut client = RawClient::opened(server.socket());
    let vol = lookup(&mut client, "v");
    let mut bytes = Vec::new();
    let sparse = download_shape(&mut client, vol.clone(), true, &mut bytes);
    // vol-download-sparse.rec: 65536, hole 0x70000, 65536, hole 0x70000, end.
    assert_eq!(sparse, [65536, -0x70000, 65536, -0x70000]);
    assert_eq!(bytes, layout.to_bytes());
    let mut bytes = Vec::new();
    let plain = download_shape(&mut client, vol, false, &mut bytes);
    // vol-download.rec: each 256 KiB read as 262120 + 24.
    assert_eq!(plain, [262120, 24, 262120, 24, 262120, 24, 262120, 24]);
    assert_eq!(bytes, layout.to_bytes());
}

#[test]
fn an_upload_past_its_length_gets_the_daemons_stream_error_and_no_ok() {
    let server = server();
    server
        .add_volume("v", &Layout::parse("D1M").unwrap())
        .unwrap();
    let mut client = RawClient::opened(server.socket());
    let vol = lookup(&mut client, "v");
    let args = StorageVolTransferArgs {
        vol,
        offset: 4096,
        length: 8192,
        flags: 0,
    };
    let serial = client.call(p::STORAGE_VOL_UPLOAD, &args);
    assert_eq!(client.expect_next().header.status, Status::OK);
    let data = client.header(
        p::STORAGE_VOL_UPLOAD,
        MessageType::STREAM,
        serial,
        Status::CONTINUE,
    );
    client.send(data, &[7; 262120]);
    let error = client.expect_next();
    assert_eq!(
        (error.header.kind, error.header.status),
        (MessageType::STREAM, Status::ERROR)
    );
    // The bytes libvirtd 9.0 sent (vol-upload-longer-than-length.rec).
    let (_, records) = recordings()
        .into_iter()
        .find(|(name, _)| name == "vol-upload-longer-than-length.rec")
        .unwrap();
    let recorded = records
        .iter()
        .find(|r| r.header.status == Status::ERROR)
        .and_then(|r| r.data.clone())
        .unwrap();
    assert_eq!(error.payload, recorded);
    // More data and the finish are dropped; the connection answers the next call.
    client.send(data, &[7; 100]);
    client.send(
        Header {
            status: Status::OK,
            ..data
        },
        &[],
    );
    client.ok(p::AUTH_LIST, &());
}

#[test]
fn sixty_four_clients_download_at_once_and_each_gets_every_byte() {
    let server = server();
    let layout = Layout::parse("D3M H1M D1M").unwrap();
    server.add_volume("v", &layout).unwrap();
    let expected = layout.to_bytes();
    let socket = server.socket().to_path_buf();
    let clients: Vec<_> = (0..64)
        .map(|i| {
            let socket = socket.clone();
            thread::spawn(move || {
                let mut client = RawClient::opened(&socket);
                let vol = lookup(&mut client, "v");
                let mut bytes = Vec::new();
                download_shape(&mut client, vol, i % 2 == 0, &mut bytes);
                bytes
            })
        })
        .collect();
    for client in clients {
        assert!(client.join().unwrap() == expected, "a download differs");
    }
}

#[test]
fn an_upload_takes_any_message_size_up_to_the_limit() {
    let server = server();
    server
        .add_volume("v", &Layout::parse("H32M").unwrap())
        .unwrap();
    let mut client = RawClient::opened(server.socket());
    let vol = lookup(&mut client, "v");
    let args = StorageVolTransferArgs {
        vol,
        offset: 0,
        length: 0,
        flags: 0,
    };
    let serial = client.call(p::STORAGE_VOL_UPLOAD, &args);
    assert_eq!(client.expect_next().header.status, Status::OK);
    // The largest payload a message can carry: 32 MiB less the length word and header.
    let big: Vec<u8> = (0..stream_rpc::PAYLOAD_MAX)
        .map(|i| (i % 251) as u8)
        .collect();
    let data = client.header(
        p::STORAGE_VOL_UPLOAD,
        MessageType::STREAM,
        serial,
        Status::CONTINUE,
    );
    client.send(data, &big);
    client.send(data, b"tail");
    let finish = Header {
        status: Status::OK,
        ..data
    };
    client.send(finish, &[]);
    assert_eq!(client.expect_next().header, finish);
    let mut stored = vec![0; big.len() + 4];
    let id = stream_core::VolumeId::new("default", "v");
    stream_core::Backend::read_volume(server.sim(), &id, 0, &mut stored).unwrap();
    assert!(stored[..big.len()] == big[..] && &stored[big.len()..] == b"tail");
}

#[test]
fn a_client_that_vanishes_mid_download_leaves_the_server_serving() {
    let server = server();
    server
        .add_volume("big", &Layout::parse("D256M").unwrap())
        .unwrap();
    for _ in 0..4 {
        let mut client = RawClient::opened(server.socket());
        let vol = lookup(&mut client, "big");
        let args = StorageVolTransferArgs {
            vol,
            offset: 0,
            length: 0,
            flags: 0,
        };
        client.call(p::STORAGE_VOL_DOWNLOAD, &args);
        assert_eq!(client.expect_next().header.status, Status::OK);
        client.expect_next();
        // Gone, with most of 256 MiB unsent and the socket's buffer full.
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.connections() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "connections of vanished clients remain"
        );
        thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut client = RawClient::opened(server.socket());
    lookup(&mut client, "big");
}

#[test]
fn the_server_answers_exactly_the_readmes_procedures() {
    let listed = readme_procedures();
    let answered: std::collections::BTreeSet<u32> = stream_rpc::server::PROCEDURES.into();
    assert_eq!(answered, listed);
    let server = server();
    let mut client = RawClient::opened(server.socket());
    let unknown = |client: &mut RawClient, procedure: u32| {
        client.call(procedure, &());
        let reply = client.expect_next();
        let error = xdr::from_bytes::<RemoteError>(&reply.payload).ok();
        error.and_then(|e| e.message) == Some(format!("unknown procedure: {procedure}"))
    };
    for procedure in 0..400 {
        assert_eq!(
            unknown(&mut client, procedure),
            !listed.contains(&procedure),
            "procedure {procedure}"
        );
    }
}

#[test]
fn a_bad_hole_is_refused_aloud_where_libvirtd_drops_the_upload_silently() {
    let server = server();
    server
        .add_volume("v", &Layout::parse("H8K").unwrap())
        .unwrap();
    let mut client = RawClient::opened(server.socket());
    let vol = lookup(&mut client, "v");
    for (hole, message) in [
        (
            StreamHole {
                length: 0,
                flags: 0,
            },
            "length in virFDStreamSendHole must be greater than zero",
        ),
        (
            StreamHole {
                length: 4096,
                flags: 1,
            },
            "unsupported flags (0x1) in function virFDStreamSendHole",
        ),
    ] {
        let args = StorageVolTransferArgs {
            vol: vol.clone(),
            offset: 0,
            length: 0,
            flags: 1,
        };
        let serial = client.call(p::STORAGE_VOL_UPLOAD, &args);
        assert_eq!(client.expect_next().header.status, Status::OK);
        let h = client.header(
            p::STORAGE_VOL_UPLOAD,
            MessageType::STREAM_HOLE,
            serial,
            Status::CONTINUE,
        );
        client.send(h, &xdr::to_bytes(&hole));
        let error = client.expect_next();
        assert_eq!(
            (error.header.kind, error.header.status),
            (MessageType::STREAM, Status::ERROR)
        );
        let error: RemoteError = xdr::from_bytes(&error.payload).unwrap();
        assert_eq!((error.code, error.domain), (8, 38));
        assert_eq!(error.message.as_deref(), Some(message));
    }
}
