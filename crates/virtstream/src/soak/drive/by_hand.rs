//! Transfers driven call by call: every NONBLOCK one (waiting on its event callback), and
//! blocking ones that abort part-way.

use stream_core::{EventSet, Recv, RecvFlags, Sent, Stream};

use super::step::{Events, Trigger, section_at};
use super::{Driven, Failure, Moved, OnRestart, abort_and_check, finish, stop_of};
use crate::soak::plan::{Ending, Plan};
use crate::soak::verify::Checker;

/// Send all of `data`, waiting for WRITABLE on would-block.
pub(super) fn send_fully(
    stream: &mut dyn Stream,
    mut data: &[u8],
    events: Option<&Events>,
    moved: &mut Moved,
) -> Result<(), Failure> {
    while !data.is_empty() {
        match stream
            .send(data)
            .map_err(|error| Failure::new("send", error))?
        {
            Sent::Bytes(n) if n > 0 && n <= data.len() => {
                data = &data[n..];
                moved.data += n as u64;
            }
            Sent::WouldBlock if events.is_some() => {
                if let Some(events) = events {
                    events.wait(moved);
                }
            }
            other => {
                return Err(Failure::new(
                    "send",
                    format!("{other:?} for {} bytes", data.len()),
                ));
            }
        }
    }
    Ok(())
}

/// An upload written call by call: holes as `send_hole` when sparse (split at the stop point,
/// which also exercises merging consecutive holes), data in `plan.chunk` pieces.
pub(super) fn upload_by_hand(
    stream: &mut dyn Stream,
    plan: &Plan,
    on_restart: OnRestart<'_>,
) -> Result<Driven, Failure> {
    let layout = &plan.layout;
    let events = if plan.nonblock {
        Some(Events::register(stream, EventSet::WRITABLE)?)
    } else {
        None
    };
    let mut trigger = Trigger::new(plan.ending);
    let mut buffer = vec![0; plan.chunk];
    let mut moved = Moved::default();
    let mut position = 0;
    loop {
        if trigger.fire(position) {
            match plan.ending {
                Ending::Abort { .. } => return abort_and_check(stream, plan.direction, moved),
                _ => on_restart(stop_of(plan))?,
            }
        }
        if position >= layout.size() {
            break;
        }
        let (data, length) = section_at(layout, position);
        let length = trigger.clip(position, length);
        if !data && plan.sparse {
            stream
                .send_hole(length as i64, 0)
                .map_err(|error| Failure::new("send_hole", error))?;
            moved.holes += length;
            position += length;
            continue;
        }
        let n = length.min(buffer.len() as u64) as usize;
        layout.read_at(position, &mut buffer[..n]);
        send_fully(stream, &buffer[..n], events.as_ref(), &mut moved)?;
        position += n as u64;
    }
    finish(stream, moved)
}

/// A download read call by call, `STOP_AT_HOLE` when sparse, into the checker.
pub(super) fn download_by_hand(
    stream: &mut dyn Stream,
    plan: &Plan,
    checker: &mut Checker<'_>,
    on_restart: OnRestart<'_>,
) -> Result<Driven, Failure> {
    let events = if plan.nonblock {
        Some(Events::register(stream, EventSet::READABLE)?)
    } else {
        None
    };
    let flags = if plan.sparse {
        RecvFlags::STOP_AT_HOLE
    } else {
        RecvFlags::empty()
    };
    let mut trigger = Trigger::new(plan.ending);
    let mut buffer = vec![0; plan.chunk];
    let mut moved = Moved::default();
    loop {
        if trigger.fire(checker.position()) {
            match plan.ending {
                Ending::Abort { .. } => return abort_and_check(stream, plan.direction, moved),
                _ => on_restart(stop_of(plan))?,
            }
        }
        match stream
            .recv(&mut buffer, flags)
            .map_err(|error| Failure::new("recv", error))?
        {
            Recv::Data(n) => {
                checker.data(&buffer[..n]);
                moved.data += n as u64;
            }
            Recv::Hole => {
                let length = stream
                    .recv_hole(0)
                    .map_err(|error| Failure::new("recv_hole", error))?;
                checker.hole(length.max(0) as u64);
                moved.holes += length.max(0) as u64;
            }
            Recv::Eof => break,
            Recv::WouldBlock => match &events {
                Some(events) => events.wait(&mut moved),
                None => return Err(Failure::new("recv", "WouldBlock on a blocking stream")),
            },
        }
    }
    finish(stream, moved)
}
