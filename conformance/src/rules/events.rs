//! §7: one callback per stream, and errors for update/remove without one.

use stream_core::libvirt_errors;
use stream_core::{EventSet, StreamFlags};

use super::{Needs, rules};
use crate::{Check, Fixture, ensure_eq};

rules!("7" => [
    (second_add_callback_fails, Needs::ANY),
    (update_and_remove_need_a_callback, Needs::ANY),
    (callback_can_be_removed_and_added_again, Needs::ANY),
]);

fn second_add_callback_fails(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    ensure_eq(
        stream.add_callback(EventSet::READABLE, Box::new(|_| {})),
        Ok(()),
        "first add",
    )?;
    let kind = fx.backend.capabilities().kind;
    let second = stream.add_callback(EventSet::READABLE, Box::new(|_| {}));
    ensure_eq(
        second.err(),
        Some(libvirt_errors::callback_exists(kind)),
        "second add",
    )?;
    ensure_eq(stream.finish(), Ok(()), "finish removes it")
}

fn update_and_remove_need_a_callback(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    let kind = fx.backend.capabilities().kind;
    ensure_eq(
        stream.update_callback(EventSet::READABLE).err(),
        Some(libvirt_errors::no_callback(kind)),
        "update",
    )?;
    ensure_eq(
        stream.remove_callback().err(),
        Some(libvirt_errors::no_callback(kind)),
        "remove",
    )
}

fn callback_can_be_removed_and_added_again(fx: Fixture<'_>) -> Check {
    let mut stream = fx.any_download(StreamFlags::empty())?;
    ensure_eq(
        stream.add_callback(EventSet::READABLE, Box::new(|_| {})),
        Ok(()),
        "add",
    )?;
    ensure_eq(
        stream.update_callback(EventSet::READABLE | EventSet::HANGUP),
        Ok(()),
        "update",
    )?;
    ensure_eq(stream.remove_callback(), Ok(()), "remove")?;
    ensure_eq(
        stream.add_callback(EventSet::READABLE, Box::new(|_| {})),
        Ok(()),
        "add again",
    )?;
    ensure_eq(stream.abort(), Ok(()), "abort removes it")
}
