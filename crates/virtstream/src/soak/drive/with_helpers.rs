//! Blocking transfers through the library's own `*_all` helpers, the daemon restart inside a
//! handler.

use std::cell::{Cell, RefCell};
use std::io::{self};

use stream_core::{Section, Stream, recv_all, send_all, sparse_recv_all, sparse_send_all};

use super::step::{Trigger, section_at};
use super::{Driven, Failure, Moved, OnRestart, finish, stop_of};
use crate::soak::plan::Plan;
use crate::soak::verify::Checker;

pub(super) fn handler_error(failure: Failure) -> io::Error {
    io::Error::other(format!("{}: {}", failure.stage, failure.error))
}

/// A blocking upload through `send_all` / `sparse_send_all`: the library's own loops, with the
/// restart inside the source's handler.
pub(super) fn upload_with_helpers(
    stream: &mut dyn Stream,
    plan: &Plan,
    on_restart: OnRestart<'_>,
) -> Result<Driven, Failure> {
    let layout = &plan.layout;
    let position = Cell::new(0u64);
    let moved = RefCell::new(Moved::default());
    let trigger = RefCell::new(Trigger::new(plan.ending));
    let on_restart = RefCell::new(on_restart);
    let stop_here = || -> io::Result<()> {
        if trigger.borrow_mut().fire(position.get()) {
            (on_restart.borrow_mut())(stop_of(plan)).map_err(handler_error)?;
        }
        Ok(())
    };
    // Never more than `chunk` per fill, and never past the stop point, so it fires where planned.
    let source = |buf: &mut [u8]| -> io::Result<usize> {
        let at = position.get();
        let room = trigger
            .borrow()
            .clip(at, layout.size() - at)
            .min(buf.len().min(plan.chunk) as u64) as usize;
        layout.read_at(at, &mut buf[..room]);
        position.set(at + room as u64);
        moved.borrow_mut().data += room as u64;
        Ok(room)
    };
    let result = if plan.sparse {
        sparse_send_all(
            stream,
            source,
            || {
                stop_here()?;
                let at = position.get();
                let (data, length) = section_at(layout, at);
                let length = trigger.borrow().clip(at, length);
                Ok(if data {
                    Section::Data(length)
                } else {
                    Section::Hole(length)
                })
            },
            |length| {
                position.set(position.get() + length);
                moved.borrow_mut().holes += length;
                Ok(())
            },
        )
    } else {
        send_all(stream, |buf| {
            stop_here()?;
            source(buf)
        })
    };
    result.map_err(|error| {
        Failure::new(
            if plan.sparse {
                "sparse_send_all"
            } else {
                "send_all"
            },
            error,
        )
    })?;
    // A stop point at the very end is reached only now, just before finish.
    stop_here().map_err(|error| Failure::new("restart", error))?;
    finish(stream, moved.into_inner())
}

/// A blocking download through `recv_all` / `sparse_recv_all` into the checker, the restart
/// inside the handlers.
pub(super) fn download_with_helpers(
    stream: &mut dyn Stream,
    plan: &Plan,
    checker: &mut Checker<'_>,
    on_restart: OnRestart<'_>,
) -> Result<Driven, Failure> {
    let checker = RefCell::new(checker);
    let moved = RefCell::new(Moved::default());
    let trigger = RefCell::new(Trigger::new(plan.ending));
    let on_restart = RefCell::new(on_restart);
    let stop_here = || -> io::Result<()> {
        if trigger.borrow_mut().fire(checker.borrow().position()) {
            (on_restart.borrow_mut())(stop_of(plan)).map_err(handler_error)?;
        }
        Ok(())
    };
    let sink = |data: &[u8]| -> io::Result<usize> {
        stop_here()?;
        checker.borrow_mut().data(data);
        moved.borrow_mut().data += data.len() as u64;
        Ok(data.len())
    };
    let result = if plan.sparse {
        sparse_recv_all(stream, sink, |length| {
            stop_here()?;
            checker.borrow_mut().hole(length);
            moved.borrow_mut().holes += length;
            Ok(())
        })
    } else {
        recv_all(stream, sink)
    };
    result.map_err(|error| {
        Failure::new(
            if plan.sparse {
                "sparse_recv_all"
            } else {
                "recv_all"
            },
            error,
        )
    })?;
    stop_here().map_err(|error| Failure::new("restart", error))?;
    finish(stream, moved.into_inner())
}
