//! The three things `virStorageVolCreateXML` needs from a raw volume's XML here: `<name>`,
//! `<capacity>` and `<allocation>` (with libvirt's `unit` attribute). Not an XML parser: the
//! first element of each name is taken, as every client recorded writes each once.

use stream_core::{Error, ErrorKind};

use crate::server::wire_error::XML_ERROR;

/// What the volume XML asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// `<name>`.
    pub name: String,
    /// `<capacity>` in bytes.
    pub capacity: u64,
    /// `<allocation>` in bytes (0 when absent).
    pub allocation: u64,
}

fn xml_error(detail: &str) -> Error {
    Error::libvirt(
        ErrorKind::InvalidArgument,
        XML_ERROR,
        stream_core::domain::STORAGE,
        format!("XML error: {detail}"),
    )
}

/// The element's attributes and text: `<tag attrs>text</tag>`.
fn element<'a>(xml: &'a str, tag: &str) -> Option<(&'a str, &'a str)> {
    let open = format!("<{tag}");
    let mut from = 0;
    while let Some(at) = xml[from..].find(&open) {
        let start = from + at + open.len();
        let rest = &xml[start..];
        // `<name` must not match `<namespace`.
        if rest.starts_with(['>', ' ', '\t', '\n', '\r']) {
            let close = rest.find('>')?;
            let attrs = &rest[..close];
            let body = &rest[close + 1..];
            let end = body.find(&format!("</{tag}>"))?;
            return Some((attrs, body[..end].trim()));
        }
        from = start;
    }
    None
}

/// `virScaleInteger`'s units: powers of 1024 for `K`, `KiB`..., of 1000 for `KB`...
fn scale(unit: &str) -> Option<u64> {
    let power = |c: char| "bkmgtpe".find(c.to_ascii_lowercase());
    let unit = unit.trim();
    if unit.is_empty() || unit == "bytes" {
        return Some(1);
    }
    let mut chars = unit.chars();
    let exponent = power(chars.next()?)? as u32;
    let base: u64 = match chars.as_str() {
        "" | "iB" | "ib" => 1024,
        "B" | "b" => 1000,
        _ => return None,
    };
    base.checked_pow(exponent)
}

fn size(xml: &str, tag: &str) -> Result<Option<u64>, Error> {
    let Some((attrs, text)) = element(xml, tag) else {
        return Ok(None);
    };
    let unit = attrs
        .split("unit=")
        .nth(1)
        .map(|v| v.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
        .unwrap_or_default();
    let factor = scale(&unit).ok_or_else(|| xml_error(&format!("unknown unit '{unit}'")))?;
    let value: u64 = text
        .parse()
        .map_err(|_| xml_error(&format!("malformed {tag} '{text}'")))?;
    value
        .checked_mul(factor)
        .map(Some)
        .ok_or_else(|| xml_error(&format!("{tag} '{text}{unit}' is too large")))
}

/// Reads a volume XML, refusing one without a name or capacity.
pub fn parse(xml: &str) -> Result<VolumeSpec, Error> {
    let name = element(xml, "name")
        .map(|(_, text)| text.to_string())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| xml_error("missing volume name element"))?;
    let capacity = size(xml, "capacity")?.ok_or_else(|| xml_error("missing capacity element"))?;
    let allocation = size(xml, "allocation")?.unwrap_or(0);
    Ok(VolumeSpec {
        name,
        capacity,
        allocation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_recorded_clients_send() {
        // virsh vol-create-as and virtstream --create (fixtures/rpc/libvirt-9.0).
        let virsh = "<volume>\n  <name>sparse1</name>\n  <capacity>1048576</capacity>\n  <allocation>0</allocation>\n  <target>\n    <format type='raw'/>\n  </target>\n</volume>";
        let ours = "<volume><name>vs1</name><capacity unit='bytes'>1048576</capacity><allocation unit='bytes'>0</allocation><target><format type='raw'/></target></volume>";
        for xml in [virsh, ours] {
            let spec = parse(xml).unwrap();
            assert_eq!((spec.capacity, spec.allocation), (1 << 20, 0));
        }
        let spec = parse("<volume><name>a</name><capacity unit='G'>1</capacity></volume>").unwrap();
        assert_eq!(spec.capacity, 1 << 30);
        assert_eq!(
            parse("<volume><capacity>1</capacity></volume>")
                .unwrap_err()
                .message(),
            "XML error: missing volume name element"
        );
    }
}
