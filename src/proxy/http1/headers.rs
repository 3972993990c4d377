//! An ordered header list that keeps the wire order, duplicates where they were and the
//! original case of every name. Names and values are spans into one byte buffer owned by the
//! list, so a parsed head costs two allocations whatever its number of fields.
//! Owns nothing of HTTP semantics: `head` and `framing` decide what the fields mean.

/// A byte range in a [`HeaderList`] buffer (`u32` is plenty: a head is at most `tune.bufsize`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// The span of `start..end`; callers pass offsets into a buffer of at most a few MB.
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn get(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Field {
    name: Span,
    value: Span,
}

/// Header fields in wire order. Lookups by name are ASCII case-insensitive, as in HTTP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderList {
    /// Backing bytes: the parsed head (start line included) and anything appended since.
    buf: Vec<u8>,
    fields: Vec<Field>,
}

impl HeaderList {
    /// An empty list.
    pub fn new() -> HeaderList {
        HeaderList::default()
    }

    /// Builds a list over `buf`, whose fields the parser has already located.
    pub(crate) fn from_parts(buf: Vec<u8>, capacity: usize) -> HeaderList {
        HeaderList {
            buf,
            fields: Vec::with_capacity(capacity),
        }
    }

    /// The backing buffer (start-line spans of a head point into it too).
    pub(crate) fn buf(&self) -> &[u8] {
        &self.buf
    }

    /// Copies `bytes` to the end of the buffer and returns their span.
    pub(crate) fn push_bytes(&mut self, bytes: &[u8]) -> Span {
        let start = self.buf.len();
        self.buf.extend_from_slice(bytes);
        Span::new(start, self.buf.len())
    }

    /// Adds a field whose name and value already sit in the buffer.
    pub(crate) fn push_spans(&mut self, name: Span, value: Span) {
        self.fields.push(Field { name, value });
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there is no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields in order, as `(name, value)` with the name in its original case.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.fields
            .iter()
            .map(|f| (f.name.get(&self.buf), f.value.get(&self.buf)))
    }

    /// The field at `index`.
    pub fn at(&self, index: usize) -> Option<(&[u8], &[u8])> {
        self.fields
            .get(index)
            .map(|f| (f.name.get(&self.buf), f.value.get(&self.buf)))
    }

    /// Index of the first field called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.position_from(name, 0)
    }

    fn position_from(&self, name: &str, from: usize) -> Option<usize> {
        let name = name.as_bytes();
        self.fields
            .iter()
            .skip(from)
            .position(|f| f.name.get(&self.buf).eq_ignore_ascii_case(name))
            .map(|i| i + from)
    }

    /// Value of the first field called `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.position(name)
            .and_then(|i| self.at(i))
            .map(|(_, value)| value)
    }

    /// Values of every field called `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Appends `name: value` after the last field.
    pub fn append(&mut self, name: &[u8], value: &[u8]) {
        let name = self.push_bytes(name);
        let value = self.push_bytes(value);
        self.fields.push(Field { name, value });
    }

    /// Inserts `name: value` before the field at `index` (at the end if `index` is past it).
    pub fn insert(&mut self, index: usize, name: &[u8], value: &[u8]) {
        let name = self.push_bytes(name);
        let value = self.push_bytes(value);
        let index = index.min(self.fields.len());
        self.fields.insert(index, Field { name, value });
    }

    /// Removes every field called `name`; returns how many went.
    pub fn remove(&mut self, name: &str) -> usize {
        self.remove_where(|n, _| n.eq_ignore_ascii_case(name.as_bytes()))
    }

    /// Removes every field for which `gone(name, value)` holds; returns
    /// how many went.
    pub fn remove_where(&mut self, mut gone: impl FnMut(&[u8], &[u8]) -> bool) -> usize {
        let before = self.fields.len();
        let buf = &self.buf;
        self.fields
            .retain(|f| !gone(f.name.get(buf), f.value.get(buf)));
        before - self.fields.len()
    }

    /// Removes the field at `index`, if any.
    pub fn remove_at(&mut self, index: usize) {
        if index < self.fields.len() {
            self.fields.remove(index);
        }
    }

    /// Sets the value of the field at `index`, keeping its name and place.
    pub fn set_value_at(&mut self, index: usize, value: &[u8]) {
        if index < self.fields.len() {
            let value = self.push_bytes(value);
            self.fields[index].value = value;
        }
    }

    /// `set-header` semantics: the first field called `name` takes `value` in place, the
    /// others are removed; without one, the field is appended.
    pub fn replace(&mut self, name: &str, value: &[u8]) {
        match self.position(name) {
            Some(first) => {
                self.set_value_at(first, value);
                while let Some(i) = self.position_from(name, first + 1) {
                    self.fields.remove(i);
                }
            }
            None => self.append(name.as_bytes(), value),
        }
    }

    /// Writes `Name: value\r\n` for each field, names as received.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        for (name, value) in self.iter() {
            write_field(out, name, value, false);
        }
    }

    /// Writes the fields as haproxy 2.6 emits them on HTTP/1: names lower-cased (HTX).
    pub fn write_lowercase_to(&self, out: &mut Vec<u8>) {
        for (name, value) in self.iter() {
            write_field(out, name, value, true);
        }
    }
}

/// One `name: value\r\n` line.
pub(crate) fn write_field(out: &mut Vec<u8>, name: &[u8], value: &[u8], lowercase: bool) {
    let at = out.len();
    out.extend_from_slice(name);
    if lowercase {
        out[at..].make_ascii_lowercase();
    }
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
impl HeaderList {
    /// The fields `(name, value)`, in order (tests' shorthand).
    pub(crate) fn of_pairs(fields: &[(&str, &str)]) -> HeaderList {
        let mut h = HeaderList::new();
        for (n, v) in fields {
            h.append(n.as_bytes(), v.as_bytes());
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(h: &HeaderList) -> String {
        let mut out = Vec::new();
        h.write_to(&mut out);
        String::from_utf8(out).expect("test headers are ASCII")
    }

    #[test]
    fn lookups_ignore_case_and_keep_order() {
        let h =
            HeaderList::of_pairs(&[("Host", "a"), ("X-A", "1"), ("x-a", "2"), ("Accept", "*/*")]);
        assert_eq!(h.get("HOST"), Some(&b"a"[..]));
        assert_eq!(h.all("X-a").collect::<Vec<_>>(), [&b"1"[..], &b"2"[..]]);
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.position("accept"), Some(3));
        assert_eq!(text(&h), "Host: a\r\nX-A: 1\r\nx-a: 2\r\nAccept: */*\r\n");
    }

    #[test]
    fn insert_remove_replace() {
        let mut h = HeaderList::of_pairs(&[("A", "1"), ("B", "2"), ("a", "3")]);
        h.insert(1, b"Z", b"0");
        assert_eq!(text(&h), "A: 1\r\nZ: 0\r\nB: 2\r\na: 3\r\n");
        h.replace("a", b"9");
        assert_eq!(text(&h), "A: 9\r\nZ: 0\r\nB: 2\r\n");
        assert_eq!(h.remove("z"), 1);
        h.replace("New", b"x");
        assert_eq!(text(&h), "A: 9\r\nB: 2\r\nNew: x\r\n");
        h.insert(99, b"Last", b"");
        h.remove_at(0);
        assert_eq!(text(&h), "B: 2\r\nNew: x\r\nLast: \r\n");
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn lowercase_output_keeps_values() {
        let h = HeaderList::of_pairs(&[("X-Custom-Header", "Value")]);
        let mut out = Vec::new();
        h.write_lowercase_to(&mut out);
        assert_eq!(out, b"x-custom-header: Value\r\n");
    }
}
