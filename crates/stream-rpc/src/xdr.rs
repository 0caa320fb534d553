//! XDR (RFC 4506) as libvirt's generated code reads and writes it, with libvirt's bounds.
//!
//! [`Encoder`] appends big-endian words, padded opaques and strings; [`Decoder`] reads them back
//! and refuses, with an [`XdrError`] naming the rule, anything glibc's `xdr_*` refuses: a
//! truncated value, a string or list longer than its `.x` bound, a pointer flag other than 0
//! or 1. Nothing here panics on any input. Padding bytes are not checked (glibc does not check
//! them either), so a lenient client is served as libvirtd serves it.

/// `REMOTE_STRING_MAX` of libvirt 9.0's `remote_protocol.x`: the longest string.
pub const REMOTE_STRING_MAX: u32 = 4_194_304;

/// Why bytes are not the XDR value they should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XdrError {
    /// The bytes end inside a value.
    #[error("XDR value truncated: {what} needs {need} bytes at offset {at}, {have} left")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Where.
        at: usize,
        /// Bytes it needs.
        need: usize,
        /// Bytes left.
        have: usize,
    },
    /// A variable-length string, opaque or list is over its bound.
    #[error("XDR {what} of length {len} is over its limit of {max}")]
    TooLong {
        /// What was being read.
        what: &'static str,
        /// The length the bytes announce.
        len: u32,
        /// The `.x` file's bound.
        max: u32,
    },
    /// An optional value's flag is not 0 (absent) or 1 (present).
    #[error("XDR optional flag {flag} is neither 0 nor 1")]
    BadOptional {
        /// The flag as sent.
        flag: u32,
    },
    /// A string is not UTF-8 (libvirt's strings are names, paths, XML and messages).
    #[error("XDR string is not UTF-8")]
    NotUtf8,
    /// Bytes are left after the whole value.
    #[error("{left} bytes left after the XDR value")]
    Trailing {
        /// How many.
        left: usize,
    },
}

/// Writes XDR into a growing buffer.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// An empty encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// `unsigned int`.
    pub fn u32(&mut self, value: u32) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// `int`.
    pub fn i32(&mut self, value: i32) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// `unsigned hyper`.
    pub fn u64(&mut self, value: u64) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// `hyper`.
    pub fn i64(&mut self, value: i64) {
        self.buf.extend_from_slice(&value.to_be_bytes());
    }

    /// Fixed-length `opaque[N]`: the bytes and zero padding to a multiple of four.
    pub fn fixed_opaque(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.buf.resize(self.buf.len() + pad(bytes.len()), 0);
    }

    /// Variable-length `opaque<>` or `string<>`: a length word, the bytes, padding. The caller
    /// keeps the bound (every type in [`crate::protocol`] does).
    pub fn opaque(&mut self, bytes: &[u8]) {
        // Lengths over u32 cannot be framed at all (a message is at most 32 MiB).
        self.u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        self.fixed_opaque(bytes);
    }

    /// The bytes written.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads XDR from a byte slice.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Decoder<'a> {
        Decoder { buf, at: 0 }
    }

    fn take(&mut self, what: &'static str, need: usize) -> Result<&'a [u8], XdrError> {
        let have = self.buf.len() - self.at;
        if need > have {
            return Err(XdrError::Truncated {
                what,
                at: self.at,
                need,
                have,
            });
        }
        let bytes = &self.buf[self.at..self.at + need];
        self.at += need;
        Ok(bytes)
    }

    fn word<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], XdrError> {
        let bytes = self.take(what, N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// `unsigned int`.
    pub fn u32(&mut self) -> Result<u32, XdrError> {
        Ok(u32::from_be_bytes(self.word("unsigned int")?))
    }

    /// `int`.
    pub fn i32(&mut self) -> Result<i32, XdrError> {
        Ok(i32::from_be_bytes(self.word("int")?))
    }

    /// `unsigned hyper`.
    pub fn u64(&mut self) -> Result<u64, XdrError> {
        Ok(u64::from_be_bytes(self.word("unsigned hyper")?))
    }

    /// `hyper`.
    pub fn i64(&mut self) -> Result<i64, XdrError> {
        Ok(i64::from_be_bytes(self.word("hyper")?))
    }

    /// Fixed-length `opaque[N]` (and its padding).
    pub fn fixed_opaque(&mut self, len: usize) -> Result<&'a [u8], XdrError> {
        let bytes = self.take("opaque", len)?;
        self.take("padding", pad(len))?;
        Ok(bytes)
    }

    /// A length word checked against `max` before anything is read or allocated for it.
    pub fn length(&mut self, what: &'static str, max: u32) -> Result<usize, XdrError> {
        let len = self.u32()?;
        if len > max {
            return Err(XdrError::TooLong { what, len, max });
        }
        Ok(len as usize)
    }

    /// Variable-length `opaque<max>`.
    pub fn opaque(&mut self, max: u32) -> Result<&'a [u8], XdrError> {
        let len = self.length("opaque", max)?;
        self.fixed_opaque(len)
    }

    /// `string<max>`, as UTF-8.
    pub fn string(&mut self, max: u32) -> Result<String, XdrError> {
        let len = self.length("string", max)?;
        let bytes = self.fixed_opaque(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| XdrError::NotUtf8)
    }

    /// The flag of an optional value (`type *name`): whether the value follows.
    pub fn present(&mut self) -> Result<bool, XdrError> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            flag => Err(XdrError::BadOptional { flag }),
        }
    }

    /// Refuses bytes left over after the value (libvirt's `xdr_*` would ignore them; a
    /// message that has them is not one libvirt sends).
    pub fn finish(self) -> Result<(), XdrError> {
        match self.buf.len() - self.at {
            0 => Ok(()),
            left => Err(XdrError::Trailing { left }),
        }
    }
}

/// Zero bytes after `len` bytes to reach a multiple of four.
fn pad(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// A value with an XDR shape.
pub trait Xdr: Sized {
    /// Appends the value.
    fn encode(&self, out: &mut Encoder);
    /// Reads one value.
    fn decode(input: &mut Decoder<'_>) -> Result<Self, XdrError>;
}

/// The value's bytes.
pub fn to_bytes<T: Xdr>(value: &T) -> Vec<u8> {
    let mut out = Encoder::new();
    value.encode(&mut out);
    out.finish()
}

/// Exactly one value from `bytes`, nothing left over.
pub fn from_bytes<T: Xdr>(bytes: &[u8]) -> Result<T, XdrError> {
    let mut input = Decoder::new(bytes);
    let value = T::decode(&mut input)?;
    input.finish()?;
    Ok(value)
}

macro_rules! xdr_number {
    ($($ty:ty => $method:ident),*) => {$(
        impl Xdr for $ty {
            fn encode(&self, out: &mut Encoder) {
                out.$method(*self);
            }
            fn decode(input: &mut Decoder<'_>) -> Result<Self, XdrError> {
                input.$method()
            }
        }
    )*};
}

xdr_number!(u32 => u32, i32 => i32, u64 => u64, i64 => i64);

/// `remote_nonnull_string`: a string of at most [`REMOTE_STRING_MAX`] bytes.
impl Xdr for String {
    fn encode(&self, out: &mut Encoder) {
        out.opaque(self.as_bytes());
    }
    fn decode(input: &mut Decoder<'_>) -> Result<Self, XdrError> {
        input.string(REMOTE_STRING_MAX)
    }
}

/// `type *name`: a presence flag, then the value when present.
impl<T: Xdr> Xdr for Option<T> {
    fn encode(&self, out: &mut Encoder) {
        match self {
            None => out.u32(0),
            Some(value) => {
                out.u32(1);
                value.encode(out);
            }
        }
    }
    fn decode(input: &mut Decoder<'_>) -> Result<Self, XdrError> {
        if input.present()? {
            Ok(Some(T::decode(input)?))
        } else {
            Ok(None)
        }
    }
}

/// `opaque[N]` (a UUID is `opaque[16]`).
impl<const N: usize> Xdr for [u8; N] {
    fn encode(&self, out: &mut Encoder) {
        out.fixed_opaque(self);
    }
    fn decode(input: &mut Decoder<'_>) -> Result<Self, XdrError> {
        let mut value = [0; N];
        value.copy_from_slice(input.fixed_opaque(N)?);
        Ok(value)
    }
}

/// `T name<MAX>`: a variable-length array with the `.x` file's bound.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct List<T, const MAX: u32>(pub Vec<T>);

impl<T: Xdr, const MAX: u32> Xdr for List<T, MAX> {
    fn encode(&self, out: &mut Encoder) {
        out.u32(u32::try_from(self.0.len()).unwrap_or(u32::MAX));
        self.0.iter().for_each(|item| item.encode(out));
    }
    fn decode(input: &mut Decoder<'_>) -> Result<Self, XdrError> {
        let len = input.length("array", MAX)?;
        // Each element takes at least four bytes: never reserve more than the bytes could hold.
        let mut items = Vec::with_capacity(len.min(input.buf.len() / 4));
        for _ in 0..len {
            items.push(T::decode(input)?);
        }
        Ok(List(items))
    }
}

/// `void`: the empty argument or reply.
impl Xdr for () {
    fn encode(&self, _: &mut Encoder) {}
    fn decode(_: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(())
    }
}

/// Defines a struct whose XDR shape is its fields in order (as `rpcgen` lays out a `.x` struct).
#[macro_export]
#[doc(hidden)]
macro_rules! xdr_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        impl $crate::xdr::Xdr for $name {
            fn encode(&self, out: &mut $crate::xdr::Encoder) {
                $($crate::xdr::Xdr::encode(&self.$field, out);)*
            }
            #[allow(unused_variables)]
            fn decode(input: &mut $crate::xdr::Decoder<'_>) -> Result<Self, $crate::xdr::XdrError> {
                Ok(Self {
                    $($field: $crate::xdr::Xdr::decode(input)?,)*
                })
            }
        }
    };
}
