//! A bare-socket libvirt client for the tests: frames in and out, no libvirt library, so a
//! test can send exactly the bytes it means (including bad ones) and see exactly what comes back.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use stream_rpc::protocol::procedure as p;
use stream_rpc::xdr::{self, Xdr};
use stream_rpc::{Frame, FrameReader, Header, MessageType, REMOTE_PROGRAM, Status};

pub struct RawClient {
    socket: UnixStream,
    reader: FrameReader<UnixStream>,
    serial: u32,
}

impl RawClient {
    pub fn connect(socket: &Path) -> RawClient {
        let socket = UnixStream::connect(socket)
            .unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let reader = FrameReader::new(socket.try_clone().unwrap());
        RawClient {
            socket,
            reader,
            serial: 0,
        }
    }

    /// `AUTH_LIST` and `CONNECT_OPEN` of `storage:///system`, as every client starts.
    pub fn opened(socket: &Path) -> RawClient {
        let mut client = RawClient::connect(socket);
        client.ok::<()>(p::AUTH_LIST, &());
        let open = stream_rpc::protocol::calls::ConnectOpenArgs {
            name: Some("storage:///system".into()),
            flags: 0,
        };
        client.ok::<_>(p::CONNECT_OPEN, &open);
        client
    }

    /// The client sends nothing more (as if it vanished mid-frame).
    pub fn socket_shutdown_write(&self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Write);
    }

    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.socket.write_all(bytes)
    }

    pub fn send(&mut self, header: Header, payload: &[u8]) {
        let frame = Frame {
            header,
            payload: payload.to_vec(),
        };
        self.write_raw(&frame.encode().unwrap()).expect("send");
    }

    pub fn header(&self, proc_: u32, kind: MessageType, serial: u32, status: Status) -> Header {
        Header {
            prog: REMOTE_PROGRAM,
            vers: 1,
            proc_,
            kind,
            serial,
            status,
        }
    }

    /// Sends a CALL; returns its serial.
    pub fn call<T: Xdr>(&mut self, proc_: u32, args: &T) -> u32 {
        let serial = self.serial;
        self.serial += 1;
        let header = self.header(proc_, MessageType::CALL, serial, Status::OK);
        self.send(header, &xdr::to_bytes(args));
        serial
    }

    /// The next message; `None` when the server closed the connection.
    pub fn next(&mut self) -> Option<Frame> {
        self.reader.next_frame().ok().flatten()
    }

    pub fn expect_next(&mut self) -> Frame {
        self.next().expect("the server closed the connection")
    }

    /// A CALL whose REPLY must be OK; returns the reply's payload.
    pub fn ok<T: Xdr>(&mut self, proc_: u32, args: &T) -> Vec<u8> {
        let serial = self.call(proc_, args);
        let reply = self.expect_next();
        assert_eq!(
            (reply.header.kind, reply.header.serial, reply.header.status),
            (MessageType::REPLY, serial, Status::OK),
            "reply to proc {proc_}: {:?}",
            reply.header
        );
        reply.payload
    }
}
