//! Protobuf messages as CEL values, driven by a type registry the host declares (ABI.md,
//! "Message types"): message literals, field selection with defaults, `has()` with proto2/proto3
//! presence, range checks on assignment, enums as ints (cel-spec's legacy semantics), and the
//! well-known types as CEL values: wrappers are their primitive (or null when unset), Any holds
//! the packed value itself, Struct/Value/ListValue are JSON maps, values and lists, Timestamp and
//! Duration the time values. Messages only come from literals and scalar-call bindings; batch
//! routing over Arrow columns never sees them.

use super::error::{EResult, EvalError, EvalKind};
use super::value::{equals, Buf, MapValue, Value};
use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    Int32,
    Int64,
    Uint32,
    Uint64,
    Float,
    Double,
    Bool,
    String,
    Bytes,
}

impl Scalar {
    fn parse(s: &str) -> Option<Scalar> {
        Some(match s {
            "int32" => Scalar::Int32,
            "int64" => Scalar::Int64,
            "uint32" => Scalar::Uint32,
            "uint64" => Scalar::Uint64,
            "float" => Scalar::Float,
            "double" => Scalar::Double,
            "bool" => Scalar::Bool,
            "string" => Scalar::String,
            "bytes" => Scalar::Bytes,
            _ => return None,
        })
    }

    fn zero(self) -> Value<'static> {
        match self {
            Scalar::Int32 | Scalar::Int64 => Value::Int(0),
            Scalar::Uint32 | Scalar::Uint64 => Value::Uint(0),
            Scalar::Float | Scalar::Double => Value::Double(0.0),
            Scalar::Bool => Value::Bool(false),
            Scalar::String => Value::Str(Buf::B(b"")),
            Scalar::Bytes => Value::Bytes(Buf::B(b"")),
        }
    }
}

/// The well-known message types that are CEL values rather than messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wkt {
    Wrapper(Scalar),
    Any,
    Value,
    Struct,
    ListValue,
    Timestamp,
    Duration,
}

impl Wkt {
    pub fn of(name: &str) -> Option<Wkt> {
        Some(match name.strip_prefix("google.protobuf.")? {
            "Int32Value" => Wkt::Wrapper(Scalar::Int32),
            "Int64Value" => Wkt::Wrapper(Scalar::Int64),
            "UInt32Value" => Wkt::Wrapper(Scalar::Uint32),
            "UInt64Value" => Wkt::Wrapper(Scalar::Uint64),
            "FloatValue" => Wkt::Wrapper(Scalar::Float),
            "DoubleValue" => Wkt::Wrapper(Scalar::Double),
            "BoolValue" => Wkt::Wrapper(Scalar::Bool),
            "StringValue" => Wkt::Wrapper(Scalar::String),
            "BytesValue" => Wkt::Wrapper(Scalar::Bytes),
            "Any" => Wkt::Any,
            "Value" => Wkt::Value,
            "Struct" => Wkt::Struct,
            "ListValue" => Wkt::ListValue,
            "Timestamp" => Wkt::Timestamp,
            "Duration" => Wkt::Duration,
            _ => return None,
        })
    }

    /// The value of an unset field of this type.
    fn unset(self) -> Value<'static> {
        match self {
            Wkt::Wrapper(_) | Wkt::Any | Wkt::Value => Value::Null,
            Wkt::Struct => Value::Map(Rc::new(MapValue::default())),
            Wkt::ListValue => Value::List(Rc::new(Vec::new())),
            Wkt::Timestamp => Value::Timestamp(0),
            Wkt::Duration => Value::Duration(0),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    Scalar(Scalar),
    /// An enum (index into `Registry::enums`); `google.protobuf.NullValue` is `NullValue`.
    Enum(usize),
    NullValue,
    /// A message (index into `Registry::messages`).
    Message(usize),
    Wkt(Wkt),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Label {
    /// Implicit presence (proto3 scalars): set means "not the default".
    Implicit,
    /// Explicit presence (proto2 fields, proto3 `optional`, oneof members, messages).
    Explicit,
    Repeated,
    Map(Scalar),
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: Box<str>,
    pub number: u32,
    pub label: Label,
    pub ty: FieldType,
    /// The proto2 `[default = ...]`, if any.
    pub default: Option<Value<'static>>,
}

#[derive(Debug)]
pub struct MsgType {
    /// Interned, so `type(m)` can be a `TypeName::Message`.
    pub name: &'static str,
    pub fields: Vec<Field>,
}

#[derive(Debug)]
pub struct EnumType {
    pub name: Box<str>,
    pub values: Vec<(Box<str>, i32)>,
}

/// The message and enum types a program knows.
#[derive(Debug, Default)]
pub struct Registry {
    pub messages: Vec<MsgType>,
    pub enums: Vec<EnumType>,
}

thread_local! {
    static NAMES: RefCell<HashSet<&'static str>> = RefCell::new(HashSet::new());
}

/// One `&'static str` per distinct type name (bounded by the types hosts declare).
pub fn intern(name: &str) -> &'static str {
    NAMES.with(|n| {
        let mut n = n.borrow_mut();
        if let Some(s) = n.get(name) {
            return *s;
        }
        let s: &'static str = Box::leak(name.to_string().into_boxed_str());
        n.insert(s);
        s
    })
}

/// A message value: its type and its set fields (index into the type's fields, value), in
/// field order. Proto3 implicit-presence fields holding their default are never stored.
#[derive(Debug)]
pub struct Msg<'a> {
    pub reg: Rc<Registry>,
    pub ty: usize,
    pub fields: Vec<(usize, Value<'a>)>,
}

impl<'a> Msg<'a> {
    pub fn ty(&self) -> &MsgType {
        &self.reg.messages[self.ty]
    }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// A proto2 default as declared: numbers and bools as literals, strings and bytes as hex.
fn parse_default(ty: &FieldType, text: &str) -> Option<Value<'static>> {
    Some(match ty {
        FieldType::Scalar(Scalar::Int32 | Scalar::Int64) | FieldType::Enum(_) => Value::Int(text.parse().ok()?),
        FieldType::Scalar(Scalar::Uint32 | Scalar::Uint64) => Value::Uint(text.parse().ok()?),
        FieldType::Scalar(Scalar::Float | Scalar::Double) => Value::Double(super::eval::parse_double(text)?),
        FieldType::Scalar(Scalar::Bool) => Value::Bool(text == "true"),
        FieldType::Scalar(Scalar::String) => {
            let b = parse_hex(text)?;
            core::str::from_utf8(&b).ok()?;
            Value::Str(Buf::owned(b))
        }
        FieldType::Scalar(Scalar::Bytes) => Value::Bytes(Buf::owned(parse_hex(text)?)),
        _ => return None,
    })
}

/// Parses the `@message`/`@field`/`@enum`/`@value` declaration lines (ABI.md). Field types
/// name other types, resolved once all lines are read. `Err` gives the bad line's index in
/// `lines`.
pub fn parse_registry(lines: &[(usize, &str)]) -> Result<Registry, usize> {
    let mut reg = Registry::default();
    // (message index, field index, type name, default text, line) resolved at the end.
    let mut pending: Vec<(usize, usize, String, Option<String>, usize)> = Vec::new();
    let mut last_enum: Option<usize> = None;
    for &(line_no, line) in lines {
        let mut words = line.split(' ').filter(|w| !w.is_empty());
        let bad = || line_no;
        match words.next() {
            Some("@message") => {
                let name = words.next().ok_or_else(bad)?;
                reg.messages.push(MsgType { name: intern(name), fields: Vec::new() });
                last_enum = None;
            }
            Some("@field") => {
                let m = reg.messages.len().checked_sub(1).ok_or_else(bad)?;
                let number: u32 = words.next().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
                let name = words.next().ok_or_else(bad)?;
                let label = match words.next().ok_or_else(bad)? {
                    "implicit" => Label::Implicit,
                    "explicit" => Label::Explicit,
                    "repeated" => Label::Repeated,
                    l => Label::Map(l.strip_prefix("map:").and_then(Scalar::parse).ok_or_else(bad)?),
                };
                let ty = words.next().ok_or_else(bad)?.to_string();
                let default = words.next().map(|w| w.to_string());
                let fields = &mut reg.messages[m].fields;
                fields.push(Field { name: name.into(), number, label, ty: FieldType::NullValue, default: None });
                pending.push((m, fields.len() - 1, ty, default, line_no));
            }
            Some("@enum") => {
                let name = words.next().ok_or_else(bad)?;
                reg.enums.push(EnumType { name: name.into(), values: Vec::new() });
                last_enum = Some(reg.enums.len() - 1);
            }
            Some("@value") => {
                let e = last_enum.ok_or_else(bad)?;
                let name = words.next().ok_or_else(bad)?;
                let number: i32 = words.next().and_then(|w| w.parse().ok()).ok_or_else(bad)?;
                reg.enums[e].values.push((name.into(), number));
            }
            _ => return Err(line_no),
        }
    }
    for (m, f, ty, default, line_no) in pending {
        let resolved = if let Some(s) = Scalar::parse(&ty) {
            FieldType::Scalar(s)
        } else if let Some(name) = ty.strip_prefix("enum:") {
            if name == "google.protobuf.NullValue" {
                FieldType::NullValue
            } else {
                FieldType::Enum(reg.enums.iter().position(|e| &*e.name == name).ok_or(line_no)?)
            }
        } else if let Some(name) = ty.strip_prefix("message:") {
            match Wkt::of(name) {
                Some(w) => FieldType::Wkt(w),
                None => FieldType::Message(reg.messages.iter().position(|t| t.name == name).ok_or(line_no)?),
            }
        } else {
            return Err(line_no);
        };
        let default = match default {
            Some(d) => Some(parse_default(&resolved, &d).ok_or(line_no)?),
            None => None,
        };
        let field = &mut reg.messages[m].fields[f];
        field.ty = resolved;
        field.default = default;
    }
    Ok(reg)
}

impl Registry {
    pub fn message(&self, name: &str) -> Option<usize> {
        self.messages.iter().position(|t| t.name == name)
    }

    /// The number of `Enum.VALUE` (a full name).
    pub fn enum_value(&self, full: &str) -> Option<i32> {
        let (e, v) = full.rsplit_once('.')?;
        let t = self.enums.iter().find(|t| &*t.name == e)?;
        t.values.iter().find(|(n, _)| &**n == v).map(|(_, n)| *n)
    }
}

fn err(kind: EvalKind, msg: String) -> EvalError {
    EvalError::new(kind, msg)
}

fn no_such_field(field: &str) -> EvalError {
    err(EvalKind::NoSuchKey, format!("no such field: {}", field))
}

fn mismatch(field: &str, want: &str, got: &Value) -> EvalError {
    err(
        EvalKind::NoOverload,
        format!("field '{}' of type {} cannot be set to {} ({})", field, want, got.render(), got.type_name().name()),
    )
}

/// Converts a value for a scalar field (range checks for the 32-bit kinds, float rounding).
fn scalar<'a>(field: &str, s: Scalar, v: Value<'a>) -> EResult<Value<'a>> {
    let range = |v: &Value| err(EvalKind::Range, format!("range error: {} does not fit field '{}' ({:?})", v.render(), field, s));
    Ok(match (s, v) {
        (Scalar::Int32, Value::Int(i)) if i < i32::MIN as i64 || i > i32::MAX as i64 => return Err(range(&Value::Int(i))),
        (Scalar::Uint32, Value::Uint(u)) if u > u32::MAX as u64 => return Err(range(&Value::Uint(u))),
        (Scalar::Int32 | Scalar::Int64, v @ Value::Int(_)) => v,
        (Scalar::Uint32 | Scalar::Uint64, v @ Value::Uint(_)) => v,
        // Out of float range saturates to infinity, as protobuf's float conversion does.
        (Scalar::Float, Value::Double(d)) => Value::Double(d as f32 as f64),
        (Scalar::Double, v @ Value::Double(_)) => v,
        (Scalar::Bool, v @ Value::Bool(_)) => v,
        (Scalar::String, v @ Value::Str(_)) => v,
        (Scalar::Bytes, v @ Value::Bytes(_)) => v,
        (s, v) => return Err(mismatch(field, &format!("{:?}", s).to_lowercase(), &v)),
    })
}

/// A CEL value as a google.protobuf.Value (JSON): numbers become doubles, bytes base64,
/// timestamps and durations their strings, maps need string keys.
pub fn to_json<'a>(v: Value<'a>) -> EResult<Value<'a>> {
    Ok(match v {
        Value::Null | Value::Bool(_) | Value::Double(_) | Value::Str(_) => v,
        // JSON numbers are doubles: integers beyond 2^53 keep their digits as strings.
        Value::Int(i) if i.unsigned_abs() > JSON_SAFE => Value::string(i.to_string()),
        Value::Uint(u) if u > JSON_SAFE => Value::string(u.to_string()),
        Value::Int(i) => Value::Double(i as f64),
        Value::Uint(u) => Value::Double(u as f64),
        Value::Bytes(b) => Value::string(base64(b.bytes())),
        Value::Timestamp(t) => Value::string(super::time::format_timestamp(t)),
        Value::Duration(d) => Value::string(super::time::format_duration(d)),
        Value::List(l) => Value::List(Rc::new(l.iter().cloned().map(to_json).collect::<EResult<Vec<_>>>()?)),
        Value::Map(m) => {
            let mut out = MapValue::default();
            for (k, val) in m.entries.iter() {
                if !matches!(k, Value::Str(_)) {
                    return Err(err(EvalKind::InvalidArgument, format!("bad key type: a JSON object (google.protobuf.Struct) needs string keys, got {}", k.render())));
                }
                out.entries.push((k.clone(), to_json(val.clone())?));
            }
            Value::Map(Rc::new(out))
        }
        other => return Err(err(EvalKind::InvalidArgument, format!("{} cannot be a google.protobuf.Value", other.type_name().name()))),
    })
}

/// 2^53 - 1, the largest integer every double holds exactly.
const JSON_SAFE: u64 = (1 << 53) - 1;

fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Converts `v` for a singular value of type `ty`; `None` = the field is left unset (null for
/// message-typed fields).
fn single<'a>(reg: &Rc<Registry>, field: &str, ty: &FieldType, v: Value<'a>) -> EResult<Option<Value<'a>>> {
    Ok(Some(match (ty, v) {
        (FieldType::Scalar(s), v) => scalar(field, *s, v)?,
        (FieldType::Enum(_), Value::Int(i)) => {
            if i < i32::MIN as i64 || i > i32::MAX as i64 {
                return Err(err(EvalKind::Range, format!("range error: enum value {} out of int32 range", i)));
            }
            Value::Int(i)
        }
        (FieldType::NullValue, Value::Null | Value::Int(0)) => Value::Null,
        (FieldType::Message(_) | FieldType::Wkt(_), Value::Null) => match ty {
            FieldType::Wkt(Wkt::Value) => Value::Null,
            FieldType::Wkt(Wkt::Struct | Wkt::ListValue) => {
                return Err(err(EvalKind::NoOverload, format!("unsupported field type: field '{}' (a JSON object or list) cannot be null", field)))
            }
            _ => return Ok(None),
        },
        (FieldType::Message(t), v @ Value::Message(_)) => match &v {
            Value::Message(m) if m.ty().name == reg.messages[*t].name => v,
            _ => return Err(mismatch(field, reg.messages[*t].name, &v)),
        },
        (FieldType::Wkt(Wkt::Wrapper(s)), v) => scalar(field, *s, v)?,
        (FieldType::Wkt(Wkt::Any), v) => v,
        (FieldType::Wkt(Wkt::Value), v) => to_json(v)?,
        (FieldType::Wkt(Wkt::Struct), v @ Value::Map(_)) | (FieldType::Wkt(Wkt::ListValue), v @ Value::List(_)) => to_json(v)?,
        (FieldType::Wkt(Wkt::Timestamp), v @ Value::Timestamp(_)) | (FieldType::Wkt(Wkt::Duration), v @ Value::Duration(_)) => v,
        (_, v) => return Err(mismatch(field, "its declared type", &v)),
    }))
}

fn is_default(v: &Value) -> bool {
    match v {
        Value::Int(0) | Value::Uint(0) | Value::Bool(false) => true,
        Value::Double(d) => *d == 0.0 && d.is_sign_positive(),
        Value::Str(b) | Value::Bytes(b) => b.bytes().is_empty(),
        _ => false,
    }
}

/// Converts `v` for `field`; `None` = unset.
pub fn assign<'a>(reg: &Rc<Registry>, field: &Field, v: Value<'a>) -> EResult<Option<Value<'a>>> {
    let name = &*field.name;
    match (&field.label, v) {
        (Label::Repeated, Value::List(l)) => {
            let mut out = Vec::with_capacity(l.len());
            for e in l.iter() {
                match single(reg, name, &field.ty, e.clone())? {
                    Some(x) => out.push(x),
                    None => return Err(mismatch(name, "a repeated field", e)),
                }
            }
            Ok(if out.is_empty() { None } else { Some(Value::List(Rc::new(out))) })
        }
        (Label::Map(k), Value::Map(m)) => {
            let mut out = MapValue::default();
            for (key, val) in m.entries.iter() {
                let key = scalar(name, *k, key.clone())?;
                let val = single(reg, name, &field.ty, val.clone())?.ok_or_else(|| mismatch(name, "a map field", val))?;
                out.entries.push((key, val));
            }
            Ok(if out.entries.is_empty() { None } else { Some(Value::Map(Rc::new(out))) })
        }
        (Label::Repeated | Label::Map(_), v) => Err(err(
            EvalKind::NoOverload,
            format!("unsupported field type: field '{}' is repeated or a map and cannot be set to {}", name, v.render()),
        )),
        (Label::Implicit, Value::Null) => Err(err(
            EvalKind::NoOverload,
            format!("unsupported field type: field '{}' cannot be null", name),
        )),
        (Label::Implicit, v) => {
            let x = single(reg, name, &field.ty, v)?;
            Ok(x.filter(|x| !is_default(x)))
        }
        (Label::Explicit, Value::Null) if matches!(field.ty, FieldType::Scalar(_) | FieldType::Enum(_)) => Err(err(
            EvalKind::NoOverload,
            format!("unsupported field type: field '{}' cannot be null", name),
        )),
        (Label::Explicit, v) => single(reg, name, &field.ty, v),
    }
}

/// `Type{f: v, ...}` for a registered message.
pub fn construct<'a>(reg: &Rc<Registry>, ty: usize, values: Vec<(usize, Value<'a>)>) -> EResult<Value<'a>> {
    let t = &reg.messages[ty];
    let mut fields: Vec<(usize, Value<'a>)> = Vec::with_capacity(values.len());
    for (i, v) in values {
        if let Some(x) = assign(reg, &t.fields[i], v)? {
            fields.retain(|(j, _)| *j != i);
            fields.push((i, x));
        }
    }
    fields.sort_by_key(|(i, _)| *i);
    Ok(Value::Message(Rc::new(Msg { reg: reg.clone(), ty, fields })))
}

/// `google.protobuf.X{...}` for a well-known type: the CEL value it stands for.
pub fn construct_wkt<'a>(w: Wkt, values: Vec<(&str, Value<'a>)>) -> EResult<Value<'a>> {
    let bad = |f: &str| err(EvalKind::NoSuchKey, format!("no such field: {}", f));
    if w == Wkt::Any {
        return Err(err(
            EvalKind::InvalidArgument,
            "google.protobuf.Any literals need a protobuf wire decoder, which the kernel does not have: assign the message itself to the Any field".into(),
        ));
    }
    let mut out = w.unset();
    if let Wkt::Wrapper(s) = w {
        out = s.zero();
    }
    for (f, v) in values {
        out = match (w, f) {
            (Wkt::Wrapper(s), "value") => scalar(f, s, v)?,
            (Wkt::Struct, "fields") => to_json(v)?,
            (Wkt::ListValue, "values") => to_json(v)?,
            (Wkt::Value, "null_value") => Value::Null,
            (Wkt::Value, "number_value") => scalar(f, Scalar::Double, v)?,
            (Wkt::Value, "string_value") => scalar(f, Scalar::String, v)?,
            (Wkt::Value, "bool_value") => scalar(f, Scalar::Bool, v)?,
            (Wkt::Value, "struct_value") | (Wkt::Value, "list_value") => to_json(v)?,
            (Wkt::Timestamp, "seconds") | (Wkt::Duration, "seconds") => {
                let s = match v {
                    Value::Int(i) => i as i128,
                    other => return Err(mismatch(f, "int64", &other)),
                };
                let base = match out {
                    Value::Timestamp(t) => t.rem_euclid(1_000_000_000),
                    Value::Duration(d) => d as i128 % 1_000_000_000,
                    _ => 0,
                };
                time_value(w, s * 1_000_000_000 + base)?
            }
            (Wkt::Timestamp, "nanos") | (Wkt::Duration, "nanos") => {
                let n = match v {
                    Value::Int(i) if i.abs() < 1_000_000_000 => i as i128,
                    other => return Err(mismatch(f, "int32 nanoseconds", &other)),
                };
                let secs = match out {
                    Value::Timestamp(t) => t.div_euclid(1_000_000_000),
                    Value::Duration(d) => d as i128 / 1_000_000_000,
                    _ => 0,
                };
                time_value(w, secs * 1_000_000_000 + n)?
            }
            _ => return Err(bad(f)),
        };
    }
    Ok(out)
}

fn time_value(w: Wkt, ns: i128) -> EResult<Value<'static>> {
    if w == Wkt::Timestamp {
        super::time::checked_timestamp(ns)
    } else {
        super::time::checked_duration(ns)
    }
}

/// The value of an unset field.
fn default_of<'a>(reg: &Rc<Registry>, f: &Field) -> Value<'a> {
    match (&f.label, &f.ty) {
        (Label::Repeated, _) => Value::List(Rc::new(Vec::new())),
        (Label::Map(_), _) => Value::Map(Rc::new(MapValue::default())),
        _ if f.default.is_some() => f.default.clone().unwrap_or(Value::Null),
        (_, FieldType::Scalar(s)) => s.zero(),
        (_, FieldType::Enum(_)) => Value::Int(0),
        (_, FieldType::NullValue) => Value::Null,
        (_, FieldType::Wkt(w)) => w.unset(),
        (_, FieldType::Message(t)) => Value::Message(Rc::new(Msg { reg: reg.clone(), ty: *t, fields: Vec::new() })),
    }
}

/// `m.field`.
pub fn select<'a>(m: &Msg<'a>, field: &str) -> EResult<Value<'a>> {
    let t = m.ty();
    let i = t.fields.iter().position(|f| &*f.name == field).ok_or_else(|| no_such_field(field))?;
    Ok(match m.fields.iter().find(|(j, _)| *j == i) {
        Some((_, v)) => v.clone(),
        None => default_of(&m.reg, &t.fields[i]),
    })
}

/// `has(m.field)`: set (explicit presence), non-default (implicit), non-empty (repeated, map).
pub fn has(m: &Msg, field: &str) -> EResult<bool> {
    let i = m.ty().fields.iter().position(|f| &*f.name == field).ok_or_else(|| no_such_field(field))?;
    Ok(m.fields.iter().any(|(j, _)| *j == i))
}

/// Message equality: same type and the same set fields with equal values.
pub fn msg_equals(a: &Msg, b: &Msg) -> bool {
    a.ty().name == b.ty().name
        && a.fields.len() == b.fields.len()
        && a.fields.iter().zip(b.fields.iter()).all(|((i, x), (j, y))| i == j && equals(x, y))
}
