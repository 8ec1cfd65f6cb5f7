//! The value encoding of the scalar calls (ABI.md, "CEL values"): a tag byte, then the
//! payload, little-endian. Also parses the declaration text of `kernel_cel_compile`.

use super::compile::{Decl, Env};
use super::proto::{parse_registry, Registry};
use super::types::Ty;
use super::value::{Buf, MapValue, TypeName, Value};
use std::rc::Rc;

pub const TAG_NULL: u8 = 0;
pub const TAG_BOOL: u8 = 1;
pub const TAG_INT: u8 = 2;
pub const TAG_UINT: u8 = 3;
pub const TAG_DOUBLE: u8 = 4;
pub const TAG_STRING: u8 = 5;
pub const TAG_BYTES: u8 = 6;
pub const TAG_LIST: u8 = 7;
pub const TAG_MAP: u8 = 8;
pub const TAG_TYPE: u8 = 9;
pub const TAG_TIMESTAMP: u8 = 10;
pub const TAG_DURATION: u8 = 11;
pub const TAG_MESSAGE: u8 = 12;
/// In `kernel_cel_eval_values` input: the variable has no value (evaluating it is an error).
pub const TAG_ABSENT: u8 = 0xff;

const MAX_NESTING: u32 = 64;
const NANOS: i128 = 1_000_000_000;

pub fn tag_of(v: &Value) -> u8 {
    match v {
        Value::Null => TAG_NULL,
        Value::Bool(_) => TAG_BOOL,
        Value::Int(_) => TAG_INT,
        Value::Uint(_) => TAG_UINT,
        Value::Double(_) => TAG_DOUBLE,
        Value::Str(_) => TAG_STRING,
        Value::Bytes(_) => TAG_BYTES,
        Value::List(_) => TAG_LIST,
        Value::Map(_) => TAG_MAP,
        Value::Type(_) => TAG_TYPE,
        Value::Timestamp(_) => TAG_TIMESTAMP,
        Value::Duration(_) => TAG_DURATION,
        Value::Message(_) => TAG_MESSAGE,
    }
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

pub fn encode(v: &Value, out: &mut Vec<u8>) {
    out.push(tag_of(v));
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push(*b as u8),
        Value::Int(i) => out.extend_from_slice(&i.to_le_bytes()),
        Value::Uint(u) => out.extend_from_slice(&u.to_le_bytes()),
        Value::Double(d) => out.extend_from_slice(&d.to_bits().to_le_bytes()),
        Value::Str(b) | Value::Bytes(b) => {
            put_len(out, b.bytes().len());
            out.extend_from_slice(b.bytes());
        }
        Value::List(l) => {
            put_len(out, l.len());
            for e in l.iter() {
                encode(e, out);
            }
        }
        Value::Map(m) => {
            put_len(out, m.entries.len());
            for (k, val) in m.entries.iter() {
                encode(k, out);
                encode(val, out);
            }
        }
        Value::Type(t) => {
            put_len(out, t.name().len());
            out.extend_from_slice(t.name().as_bytes());
        }
        Value::Timestamp(ns) => put_timestamp(out, *ns),
        Value::Duration(ns) => put_duration(out, *ns),
        Value::Message(m) => {
            let t = m.ty();
            put_len(out, t.name.len());
            out.extend_from_slice(t.name.as_bytes());
            put_len(out, m.fields.len());
            for (i, v) in m.fields.iter() {
                put_len(out, t.fields[*i].number as usize);
                encode(v, out);
            }
        }
    }
}

/// Timestamps and durations: i64 seconds, then i32 nanoseconds (`0..1e9` for timestamps, the
/// sign of the seconds for durations).
fn put_seconds_nanos(out: &mut Vec<u8>, secs: i128, nanos: i128) {
    out.extend_from_slice(&(secs as i64).to_le_bytes());
    out.extend_from_slice(&(nanos as i32).to_le_bytes());
}

pub fn put_timestamp(out: &mut Vec<u8>, ns: i128) {
    put_seconds_nanos(out, ns.div_euclid(NANOS), ns.rem_euclid(NANOS));
}

pub fn put_duration(out: &mut Vec<u8>, ns: i64) {
    put_seconds_nanos(out, ns as i128 / NANOS, ns as i128 % NANOS);
}

pub struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
    /// The message types encoded messages may have.
    types: Rc<Registry>,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], types: Rc<Registry>) -> Reader<'a> {
        Reader { buf, at: 0, types }
    }

    pub fn done(&self) -> bool {
        self.at >= self.buf.len()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.buf.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<usize> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    /// i64 seconds and i32 nanoseconds as nanoseconds.
    fn seconds_nanos(&mut self) -> Option<i128> {
        let secs = self.u64()? as i64 as i128;
        let b = self.take(4)?;
        let nanos = i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i128;
        if nanos.abs() >= NANOS {
            return None;
        }
        Some(secs * NANOS + nanos)
    }

    fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }

    /// The next value; `Ok(None)` for `TAG_ABSENT`. Strings and bytes borrow from the input.
    pub fn value(&mut self) -> Option<Option<Value<'a>>> {
        let tag = self.u8()?;
        if tag == TAG_ABSENT {
            return Some(None);
        }
        self.value_tagged(tag, 0).map(Some)
    }

    fn value_tagged(&mut self, tag: u8, depth: u32) -> Option<Value<'a>> {
        if depth > MAX_NESTING {
            return None;
        }
        Some(match tag {
            TAG_NULL => Value::Null,
            TAG_BOOL => Value::Bool(self.u8()? != 0),
            TAG_INT => Value::Int(self.u64()? as i64),
            TAG_UINT => Value::Uint(self.u64()?),
            TAG_DOUBLE => Value::Double(f64::from_bits(self.u64()?)),
            TAG_STRING => {
                let n = self.u32()?;
                let b = self.take(n)?;
                core::str::from_utf8(b).ok()?;
                Value::Str(Buf::B(b))
            }
            TAG_BYTES => {
                let n = self.u32()?;
                Value::Bytes(Buf::B(self.take(n)?))
            }
            TAG_LIST => {
                let n = self.u32()?;
                let mut v = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let t = self.u8()?;
                    v.push(self.value_tagged(t, depth + 1)?);
                }
                Value::List(Rc::new(v))
            }
            TAG_MAP => {
                let n = self.u32()?;
                let mut m = MapValue::default();
                for _ in 0..n {
                    let kt = self.u8()?;
                    let k = self.value_tagged(kt, depth + 1)?;
                    let vt = self.u8()?;
                    let v = self.value_tagged(vt, depth + 1)?;
                    m.insert(k, v).ok()?;
                }
                Value::Map(Rc::new(m))
            }
            TAG_TYPE => {
                let n = self.u32()?;
                let name = core::str::from_utf8(self.take(n)?).ok()?;
                match TypeName::from_name(name) {
                    Some(t) => Value::Type(t),
                    None => Value::Type(TypeName::Message(self.types.messages.get(self.types.message(name)?)?.name)),
                }
            }
            TAG_MESSAGE => {
                let n = self.u32()?;
                let name = core::str::from_utf8(self.take(n)?).ok()?;
                let ty = self.types.message(name)?;
                let count = self.u32()?;
                let mut fields = Vec::with_capacity(count.min(256));
                for _ in 0..count {
                    let number = self.u32()? as u32;
                    let i = self.types.messages[ty].fields.iter().position(|f| f.number == number)?;
                    let t = self.u8()?;
                    fields.push((i, self.value_tagged(t, depth + 1)?));
                }
                let types = self.types.clone();
                super::proto::construct(&types, ty, fields).ok()?
            }
            TAG_TIMESTAMP => super::time::checked_timestamp(self.seconds_nanos()?).ok()?,
            TAG_DURATION => super::time::checked_duration(self.seconds_nanos()?).ok()?,
            _ => return None,
        })
    }
}

/// Parses the declarations of `kernel_cel_compile`: one per line, `<name> <type>` (a CEL type:
/// `int`, `list(string)`, `map(string, int)`, ...), or `@container <name>`. `None` with the
/// offending line number when a line is malformed or a name repeats.
pub fn parse_decls(text: &str, unchecked: bool) -> Result<Env, usize> {
    let mut env = Env {
        unchecked,
        ..Env::default()
    };
    let mut types: Vec<(usize, &str)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if ["@message ", "@field ", "@enum ", "@value "].iter().any(|p| line.starts_with(p)) {
            types.push((i + 1, line));
            continue;
        }
        let (name, rest) = match line.split_once(' ') {
            Some(p) => p,
            None => return Err(i + 1),
        };
        if name == "@container" {
            env.container = rest.trim().to_string();
            continue;
        }
        let valid = !name.is_empty()
            && name.split('.').all(|seg| {
                let b = seg.as_bytes();
                !b.is_empty() && (b[0].is_ascii_alphabetic() || b[0] == b'_') && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
            });
        if !valid || env.vars.iter().any(|d| d.name == name) {
            return Err(i + 1);
        }
        let ty = Ty::parse(rest.trim()).ok_or(i + 1)?;
        env.vars.push(Decl {
            name: name.to_string(),
            ty,
        });
    }
    if !types.is_empty() {
        env.types = Rc::new(parse_registry(&types)?);
    }
    Ok(env)
}
