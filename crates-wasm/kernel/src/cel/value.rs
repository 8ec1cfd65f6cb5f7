//! Runtime values. Strings and bytes borrow from column memory or the program when they can
//! (`Buf::B`) and are reference-counted when computed (`Buf::O`), so reading a column row or a
//! literal never copies. Equality follows CEL's heterogeneous numeric equality; ordering is
//! defined for numbers (across int, uint and double), strings, bytes, bools, timestamps and
//! durations.

use super::error::{EResult, EvalError, EvalKind};
use core::cmp::Ordering;
use std::rc::Rc;

#[derive(Clone, Debug)]
pub enum Buf<'a> {
    B(&'a [u8]),
    O(Rc<[u8]>),
}

impl<'a> Buf<'a> {
    #[inline(always)]
    pub fn bytes(&self) -> &[u8] {
        match self {
            Buf::B(b) => b,
            Buf::O(o) => o,
        }
    }

    pub fn owned(v: Vec<u8>) -> Buf<'a> {
        Buf::O(Rc::from(v))
    }
}

/// The runtime types a value can have (`type(x)`), named as CEL names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeName {
    Null,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    List,
    Map,
    Type,
    Timestamp,
    Duration,
    /// A protobuf message type (its interned full name).
    Message(&'static str),
}

impl TypeName {
    pub fn name(self) -> &'static str {
        match self {
            TypeName::Null => "null_type",
            TypeName::Bool => "bool",
            TypeName::Int => "int",
            TypeName::Uint => "uint",
            TypeName::Double => "double",
            TypeName::String => "string",
            TypeName::Bytes => "bytes",
            TypeName::List => "list",
            TypeName::Map => "map",
            TypeName::Type => "type",
            TypeName::Timestamp => "google.protobuf.Timestamp",
            TypeName::Duration => "google.protobuf.Duration",
            TypeName::Message(n) => n,
        }
    }

    pub fn from_name(n: &str) -> Option<TypeName> {
        Some(match n {
            "null_type" => TypeName::Null,
            "bool" => TypeName::Bool,
            "int" => TypeName::Int,
            "uint" => TypeName::Uint,
            "double" => TypeName::Double,
            "string" => TypeName::String,
            "bytes" => TypeName::Bytes,
            "list" => TypeName::List,
            "map" => TypeName::Map,
            "type" => TypeName::Type,
            "google.protobuf.Timestamp" => TypeName::Timestamp,
            "google.protobuf.Duration" => TypeName::Duration,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    /// Always valid UTF-8.
    Str(Buf<'a>),
    Bytes(Buf<'a>),
    List(Rc<Vec<Value<'a>>>),
    Map(Rc<MapValue<'a>>),
    Type(TypeName),
    /// Nanoseconds since the Unix epoch, within years 0001-9999.
    Timestamp(i128),
    /// Nanoseconds.
    Duration(i64),
    Message(Rc<super::proto::Msg<'a>>),
}

/// A map in insertion order (CEL iterates maps in the order a literal or binding gave them).
/// Keys are int, uint, bool or string; numeric keys are unique across int and uint.
#[derive(Clone, Debug, Default)]
pub struct MapValue<'a> {
    pub entries: Vec<(Value<'a>, Value<'a>)>,
}

impl<'a> MapValue<'a> {
    /// Looks a key up with CEL's rules: numbers match across int, uint and integral doubles;
    /// a key of an unsupported type simply is not found.
    pub fn get(&self, key: &Value) -> Option<&Value<'a>> {
        self.entries.iter().find(|(k, _)| key_eq(k, key)).map(|(_, v)| v)
    }

    /// Adds an entry, rejecting unsupported key types and repeated keys.
    pub fn insert(&mut self, key: Value<'a>, value: Value<'a>) -> EResult<()> {
        if !matches!(key, Value::Int(_) | Value::Uint(_) | Value::Bool(_) | Value::Str(_)) {
            return Err(EvalError::new(
                EvalKind::UnsupportedKey,
                format!("unsupported key type: {}", key.type_name().name()),
            ));
        }
        if self.get(&key).is_some() {
            return Err(EvalError::new(
                EvalKind::RepeatedKey,
                format!("Failed with repeated key: {}", key.render()),
            ));
        }
        self.entries.push((key, value));
        Ok(())
    }
}

fn key_eq(stored: &Value, probe: &Value) -> bool {
    match (stored, probe) {
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Str(a), Value::Str(b)) => a.bytes() == b.bytes(),
        (Value::Int(_) | Value::Uint(_), Value::Int(_) | Value::Uint(_) | Value::Double(_)) => {
            numeric_cmp(stored, probe) == Some(Ordering::Equal)
        }
        _ => false,
    }
}

impl<'a> Value<'a> {
    pub fn type_name(&self) -> TypeName {
        match self {
            Value::Null => TypeName::Null,
            Value::Bool(_) => TypeName::Bool,
            Value::Int(_) => TypeName::Int,
            Value::Uint(_) => TypeName::Uint,
            Value::Double(_) => TypeName::Double,
            Value::Str(_) => TypeName::String,
            Value::Bytes(_) => TypeName::Bytes,
            Value::List(_) => TypeName::List,
            Value::Map(_) => TypeName::Map,
            Value::Type(_) => TypeName::Type,
            Value::Timestamp(_) => TypeName::Timestamp,
            Value::Duration(_) => TypeName::Duration,
            Value::Message(m) => TypeName::Message(m.ty().name),
        }
    }

    pub fn str(s: &'a str) -> Value<'a> {
        Value::Str(Buf::B(s.as_bytes()))
    }

    pub fn string(s: String) -> Value<'a> {
        Value::Str(Buf::owned(s.into_bytes()))
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            // SAFETY: string values are UTF-8 by construction (literals, checked columns,
            // UTF-8-checked conversions and concatenations of those).
            Value::Str(b) => Some(unsafe { core::str::from_utf8_unchecked(b.bytes()) }),
            _ => None,
        }
    }

    /// A short rendering for error messages.
    pub fn render(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Uint(u) => format!("{}u", u),
            Value::Double(d) => format_double(*d),
            Value::Str(_) => format!("{:?}", self.as_str().unwrap_or("")),
            Value::Bytes(b) => {
                let mut s = String::from("b\"");
                for &c in b.bytes().iter().take(32) {
                    if (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\' {
                        s.push(c as char);
                    } else {
                        s.push_str(&format!("\\x{:02x}", c));
                    }
                }
                if b.bytes().len() > 32 {
                    s.push_str("...");
                }
                s.push('"');
                s
            }
            Value::List(l) => format!("[list of {}]", l.len()),
            Value::Map(m) => format!("{{map of {}}}", m.entries.len()),
            Value::Type(t) => t.name().to_string(),
            Value::Timestamp(t) => format!("timestamp({:?})", super::time::format_timestamp(*t)),
            Value::Duration(d) => format!("duration({:?})", super::time::format_duration(*d)),
            Value::Message(m) => format!("{}{{{} fields set}}", m.ty().name, m.fields.len()),
        }
    }
}

/// Numeric comparison across int, uint and double (`None` for NaN or non-numbers). Ints and
/// doubles compare through the double value of the int, as cel-go does.
pub fn numeric_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Uint(x), Value::Uint(y)) => Some(x.cmp(y)),
        (Value::Double(x), Value::Double(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Uint(y)) => Some((*x as i128).cmp(&(*y as i128))),
        (Value::Uint(x), Value::Int(y)) => Some((*x as i128).cmp(&(*y as i128))),
        (Value::Int(x), Value::Double(y)) => (*x as f64).partial_cmp(y),
        (Value::Double(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Uint(x), Value::Double(y)) => (*x as f64).partial_cmp(y),
        (Value::Double(x), Value::Uint(y)) => x.partial_cmp(&(*y as f64)),
        _ => None,
    }
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Uint(_) | Value::Double(_))
}

/// CEL equality: heterogeneous across numbers, structural for lists and maps, false (never an
/// error) across other types.
pub fn equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x.bytes() == y.bytes(),
        (Value::Bytes(x), Value::Bytes(y)) => x.bytes() == y.bytes(),
        (Value::Type(x), Value::Type(y)) => x == y,
        (Value::Timestamp(x), Value::Timestamp(y)) => x == y,
        (Value::Duration(x), Value::Duration(y)) => x == y,
        (Value::Message(x), Value::Message(y)) => super::proto::msg_equals(x, y),
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equals(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.entries.len() == y.entries.len()
                && x.entries
                    .iter()
                    .all(|(k, v)| y.get(k).map_or(false, |w| equals(v, w)))
        }
        _ if is_number(a) && is_number(b) => numeric_cmp(a, b) == Some(Ordering::Equal),
        _ => false,
    }
}

/// CEL ordering (`<`, `<=`, `>`, `>=`): numbers across types, strings (by code point, which is
/// UTF-8 byte order), bytes, bools. `Ok(None)` means unordered (a NaN operand).
pub fn compare(a: &Value, b: &Value, op: &str) -> EResult<Option<Ordering>> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(Some(x.bytes().cmp(y.bytes()))),
        (Value::Bytes(x), Value::Bytes(y)) => Ok(Some(x.bytes().cmp(y.bytes()))),
        (Value::Bool(x), Value::Bool(y)) => Ok(Some(x.cmp(y))),
        (Value::Timestamp(x), Value::Timestamp(y)) => Ok(Some(x.cmp(y))),
        (Value::Duration(x), Value::Duration(y)) => Ok(Some(x.cmp(y))),
        _ if is_number(a) && is_number(b) => Ok(numeric_cmp(a, b)),
        _ => Err(EvalError::no_overload(
            op,
            &[a.type_name().name(), b.type_name().name()],
        )),
    }
}

/// `string(double)`: the shortest digits that round-trip, laid out like Go's
/// `strconv.FormatFloat(x, 'g', -1, 64)` (cel-go): exponent form below 1e-4 and from 1e6.
pub fn format_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "d.ddddde[-]x".
    let e = format!("{:e}", x);
    let (mant, exp) = match e.split_once('e') {
        Some(p) => p,
        None => return e,
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let nd = digits.len() as i32;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    // Go's 'g' with the shortest precision switches to exponent form when the decimal
    // exponent is below -4 or at least 6 (so 1e6 -> "1e+06", 123456.0 -> "123456").
    let dp = exp + 1;
    let eprec = 6;
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
        return out;
    }
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        for _ in 0..(dp - nd) {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}
