//! The evaluator: a tree walk over `Node` with CEL's runtime semantics. Every operation checks
//! its operand types at run time (so unchecked expressions behave as CEL specifies), integer
//! arithmetic is checked, `&&`/`||` absorb errors when the other side decides the result, and
//! comprehensions follow the macro definitions (`exists` = fold with `||`, ...).

use super::compile::{ArOp, CmpOp, CompNode, Const, Func, Node};
use super::ast::MacroKind;
use super::error::{EResult, EvalError, EvalKind};
use super::regex::Regex;
use super::proto;
use super::time;
use super::value::{compare, equals, format_double, Buf, MapValue, TypeName, Value};
use crate::keys::canonical_int;
use crate::xxh3::{xxh3_64, xxh3_64_u64le};
use core::cmp::Ordering;
use std::rc::Rc;

/// Variable slots: declared variables first, then macro variables. `None` = no value bound.
pub type Slots<'a> = Vec<Option<Value<'a>>>;

fn tn<'a>(v: &Value<'a>) -> &'static str {
    v.type_name().name()
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

pub fn eval<'a>(n: &'a Node, s: &mut Slots<'a>) -> EResult<Value<'a>> {
    match n {
        Node::Const(c) => Ok(constant(c)),
        Node::Var(i) => match s.get(*i) {
            Some(Some(v)) => Ok(v.clone()),
            _ => Err(EvalError::new(EvalKind::Unbound, "no value bound for a declared variable".into())),
        },
        Node::Unbound(name) => Err(EvalError::new(
            EvalKind::Unbound,
            format!("undeclared reference to '{}' (in container '')", name),
        )),
        Node::Unknown(name) => Err(EvalError::new(
            EvalKind::UnknownFunction,
            format!("unbound function: {}", name),
        )),
        Node::Select(x, f) => {
            let v = eval(x, s)?;
            select(&v, f)
        }
        Node::Has(x, f) => match eval(x, s)? {
            Value::Map(m) => Ok(Value::Bool(m.get(&Value::str(f)).is_some())),
            Value::Message(m) => proto::has(&m, f).map(Value::Bool),
            other => Err(EvalError::new(
                EvalKind::NoOverload,
                format!("has() is not supported on type '{}'", tn(&other)),
            )),
        },
        Node::And(a, b) => logic(a, b, s, false),
        Node::Or(a, b) => logic(a, b, s, true),
        Node::Not(x) => match eval(x, s)? {
            Value::Bool(b) => Ok(Value::Bool(!b)),
            v => Err(EvalError::no_overload("!_", &[tn(&v)])),
        },
        Node::Neg(x) => match eval(x, s)? {
            Value::Int(i) => i.checked_neg().map(Value::Int).ok_or_else(|| EvalError::overflow("-_")),
            Value::Double(d) => Ok(Value::Double(-d)),
            v => Err(EvalError::no_overload("-_", &[tn(&v)])),
        },
        Node::Cond(c, a, b) => match eval(c, s)? {
            Value::Bool(true) => eval(a, s),
            Value::Bool(false) => eval(b, s),
            v => Err(EvalError::no_overload("_?_:_", &[tn(&v)])),
        },
        Node::Arith(op, a, b) => {
            let x = eval(a, s)?;
            let y = eval(b, s)?;
            arith(*op, x, y)
        }
        Node::Cmp(op, a, b) => {
            let x = eval(a, s)?;
            let y = eval(b, s)?;
            cmp(*op, &x, &y)
        }
        Node::In(a, b) => {
            let x = eval(a, s)?;
            let y = eval(b, s)?;
            match &y {
                Value::List(l) => Ok(Value::Bool(l.iter().any(|e| equals(e, &x)))),
                Value::Map(m) => Ok(Value::Bool(m.get(&x).is_some())),
                _ => Err(EvalError::no_overload("@in", &[tn(&x), tn(&y)])),
            }
        }
        Node::Index(a, b) => {
            let x = eval(a, s)?;
            let y = eval(b, s)?;
            index(&x, &y)
        }
        Node::Call(f, args) => call(*f, args, s),
        Node::MatchConst(x, re) => match eval(x, s)? {
            v @ Value::Str(_) => Ok(Value::Bool(re.is_match(v.as_str().unwrap_or("")))),
            v => Err(EvalError::no_overload("matches", &[tn(&v), "string"])),
        },
        Node::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                out.push(eval(it, s)?);
            }
            Ok(Value::List(Rc::new(out)))
        }
        Node::Map(entries) => {
            let mut m = MapValue::default();
            for (k, v) in entries {
                let kv = eval(k, s)?;
                let vv = eval(v, s)?;
                m.insert(kv, vv)?;
            }
            Ok(Value::Map(Rc::new(m)))
        }
        Node::Struct(reg, ty, fields) => {
            let mut vals = Vec::with_capacity(fields.len());
            for (i, n) in fields {
                vals.push((*i, eval(n, s)?));
            }
            proto::construct(reg, *ty, vals)
        }
        Node::WktStruct(w, fields) => {
            let mut vals = Vec::with_capacity(fields.len());
            for (f, n) in fields {
                vals.push((&**f, eval(n, s)?));
            }
            proto::construct_wkt(*w, vals)
        }
        Node::Comp(c) => comprehension(c, s),
    }
}

fn constant(c: &Const) -> Value<'_> {
    match c {
        Const::Null => Value::Null,
        Const::Bool(b) => Value::Bool(*b),
        Const::Int(i) => Value::Int(*i),
        Const::Uint(u) => Value::Uint(*u),
        Const::Double(d) => Value::Double(*d),
        Const::Str(t) => Value::Str(Buf::B(t.as_bytes())),
        Const::Bytes(b) => Value::Bytes(Buf::B(b)),
        Const::Type(t) => Value::Type(*t),
    }
}

/// `&&` / `||`: `short` is the value that decides the result (false for `&&`, true for `||`).
/// An error or a non-bool on one side is absorbed when the other side decides.
fn logic<'a>(a: &'a Node, b: &'a Node, s: &mut Slots<'a>, short: bool) -> EResult<Value<'a>> {
    let name = if short { "_||_" } else { "_&&_" };
    let left = eval(a, s);
    if let Ok(Value::Bool(x)) = &left {
        if *x == short {
            return Ok(Value::Bool(short));
        }
    }
    let right = eval(b, s);
    if let Ok(Value::Bool(y)) = &right {
        if *y == short {
            return Ok(Value::Bool(short));
        }
    }
    match (left, right) {
        (Ok(Value::Bool(_)), Ok(Value::Bool(_))) => Ok(Value::Bool(!short)),
        (Err(e), _) => Err(e),
        (_, Err(e)) => Err(e),
        (Ok(l), Ok(r)) => Err(EvalError::no_overload(name, &[tn(&l), tn(&r)])),
    }
}

fn select<'a>(v: &Value<'a>, field: &str) -> EResult<Value<'a>> {
    match v {
        Value::Map(m) => m
            .get(&Value::str(field))
            .cloned()
            .ok_or_else(|| EvalError::new(EvalKind::NoSuchKey, format!("no such key: {}", field))),
        Value::Message(m) => proto::select(m, field),
        other => Err(EvalError::new(
            EvalKind::NoOverload,
            format!("type '{}' does not support field selection", tn(other)),
        )),
    }
}

fn index<'a>(x: &Value<'a>, y: &Value<'a>) -> EResult<Value<'a>> {
    match x {
        Value::List(l) => {
            let i: i128 = match y {
                Value::Int(i) => *i as i128,
                Value::Uint(u) => *u as i128,
                Value::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e18 => *d as i128,
                other => {
                    return Err(EvalError::new(
                        EvalKind::InvalidArgument,
                        format!("invalid_argument: list index must be an integer, got {}", other.render()),
                    ))
                }
            };
            if i < 0 || i >= l.len() as i128 {
                return Err(EvalError::new(
                    EvalKind::IndexOutOfRange,
                    format!("invalid_argument: index out of bounds: {} (list of size {})", i, l.len()),
                ));
            }
            Ok(l[i as usize].clone())
        }
        Value::Map(m) => m
            .get(y)
            .cloned()
            .ok_or_else(|| EvalError::new(EvalKind::NoSuchKey, format!("no such key: {}", y.render()))),
        other => Err(EvalError::no_overload("_[_]", &[tn(other), tn(y)])),
    }
}

/// The CEL function an arithmetic operator calls (errors name it).
fn arith_name(op: ArOp) -> &'static str {
    match op {
        ArOp::Add => "_+_",
        ArOp::Sub => "_-_",
        ArOp::Mul => "_*_",
        ArOp::Div => "_/_",
        ArOp::Rem => "_%_",
    }
}

fn divide_by_zero(op: ArOp) -> EvalError {
    if op == ArOp::Div {
        EvalError::new(EvalKind::DivideByZero, "division by zero".into())
    } else {
        EvalError::new(EvalKind::ModulusByZero, "modulus by zero".into())
    }
}

/// int arithmetic with CEL's errors: overflow (incl. `MIN / -1`), division or modulus by zero.
pub(crate) fn int_arith(op: ArOp, a: i64, b: i64) -> EResult<i64> {
    if b == 0 && (op == ArOp::Div || op == ArOp::Rem) {
        return Err(divide_by_zero(op));
    }
    let r = match op {
        ArOp::Add => a.checked_add(b),
        ArOp::Sub => a.checked_sub(b),
        ArOp::Mul => a.checked_mul(b),
        ArOp::Div => a.checked_div(b),
        ArOp::Rem => a.checked_rem(b),
    };
    r.ok_or_else(|| EvalError::overflow(arith_name(op)))
}

/// uint arithmetic with CEL's errors: overflow (incl. below zero), division or modulus by zero.
pub(crate) fn uint_arith(op: ArOp, a: u64, b: u64) -> EResult<u64> {
    if b == 0 && (op == ArOp::Div || op == ArOp::Rem) {
        return Err(divide_by_zero(op));
    }
    let r = match op {
        ArOp::Add => a.checked_add(b),
        ArOp::Sub => a.checked_sub(b),
        ArOp::Mul => a.checked_mul(b),
        ArOp::Div => Some(a / b),
        ArOp::Rem => Some(a % b),
    };
    r.ok_or_else(|| EvalError::overflow(arith_name(op)))
}

/// double arithmetic (IEEE 754, no errors); CEL has no `%` on doubles.
pub(crate) fn double_arith(op: ArOp, a: f64, b: f64) -> f64 {
    match op {
        ArOp::Add => a + b,
        ArOp::Sub => a - b,
        ArOp::Mul => a * b,
        _ => a / b,
    }
}

fn arith<'a>(op: ArOp, x: Value<'a>, y: Value<'a>) -> EResult<Value<'a>> {
    match (&x, &y) {
        (Value::Int(a), Value::Int(b)) => int_arith(op, *a, *b).map(Value::Int),
        (Value::Uint(a), Value::Uint(b)) => uint_arith(op, *a, *b).map(Value::Uint),
        (Value::Double(a), Value::Double(b)) if op != ArOp::Rem => Ok(Value::Double(double_arith(op, *a, *b))),
        (Value::Str(a), Value::Str(b)) if op == ArOp::Add => {
            let mut v = Vec::with_capacity(a.bytes().len() + b.bytes().len());
            v.extend_from_slice(a.bytes());
            v.extend_from_slice(b.bytes());
            Ok(Value::Str(Buf::owned(v)))
        }
        (Value::Bytes(a), Value::Bytes(b)) if op == ArOp::Add => {
            let mut v = Vec::with_capacity(a.bytes().len() + b.bytes().len());
            v.extend_from_slice(a.bytes());
            v.extend_from_slice(b.bytes());
            Ok(Value::Bytes(Buf::owned(v)))
        }
        (Value::Timestamp(t), Value::Duration(d)) | (Value::Duration(d), Value::Timestamp(t)) if op == ArOp::Add => {
            time::checked_timestamp(t + *d as i128)
        }
        (Value::Timestamp(t), Value::Duration(d)) if op == ArOp::Sub => time::checked_timestamp(t - *d as i128),
        (Value::Timestamp(a), Value::Timestamp(b)) if op == ArOp::Sub => time::checked_duration(a - b),
        (Value::Duration(a), Value::Duration(b)) if op == ArOp::Add => time::checked_duration(*a as i128 + *b as i128),
        (Value::Duration(a), Value::Duration(b)) if op == ArOp::Sub => time::checked_duration(*a as i128 - *b as i128),
        (Value::List(a), Value::List(b)) if op == ArOp::Add => {
            let mut v = Vec::with_capacity(a.len() + b.len());
            v.extend(a.iter().cloned());
            v.extend(b.iter().cloned());
            Ok(Value::List(Rc::new(v)))
        }
        _ => Err(EvalError::no_overload(arith_name(op), &[tn(&x), tn(&y)])),
    }
}

fn cmp<'a>(op: CmpOp, x: &Value<'a>, y: &Value<'a>) -> EResult<Value<'a>> {
    let name = match op {
        CmpOp::Eq => return Ok(Value::Bool(equals(x, y))),
        CmpOp::Ne => return Ok(Value::Bool(!equals(x, y))),
        CmpOp::Lt => "_<_",
        CmpOp::Le => "_<=_",
        CmpOp::Gt => "_>_",
        CmpOp::Ge => "_>=_",
    };
    let ord = compare(x, y, name)?;
    Ok(Value::Bool(match ord {
        None => false,
        Some(o) => match op {
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            _ => o != Ordering::Less,
        },
    }))
}

fn comprehension<'a>(c: &'a CompNode, s: &mut Slots<'a>) -> EResult<Value<'a>> {
    let range = eval(&c.range, s)?;
    let items: Vec<Value<'a>> = match &range {
        Value::List(l) => l.iter().cloned().collect(),
        Value::Map(m) => m.entries.iter().map(|(k, _)| k.clone()).collect(),
        other => {
            return Err(EvalError::new(
                EvalKind::NoOverload,
                format!("cannot iterate over a value of type '{}'", tn(other)),
            ))
        }
    };
    let saved = s.get(c.slot).cloned().flatten();
    let r = run_comprehension(c, s, items);
    if let Some(slot) = s.get_mut(c.slot) {
        *slot = saved;
    }
    r
}

fn run_comprehension<'a>(c: &'a CompNode, s: &mut Slots<'a>, items: Vec<Value<'a>>) -> EResult<Value<'a>> {
    let mut pending: Option<EvalError> = None;
    let mut count: u64 = 0;
    let mut out: Vec<Value<'a>> = Vec::new();
    for item in items {
        if let Some(slot) = s.get_mut(c.slot) {
            *slot = Some(item.clone());
        }
        let r = eval(&c.body, s);
        match c.kind {
            MacroKind::All | MacroKind::Exists => {
                let decisive = c.kind == MacroKind::Exists;
                match r {
                    Ok(Value::Bool(b)) if b == decisive => return Ok(Value::Bool(decisive)),
                    Ok(Value::Bool(_)) => {}
                    Ok(v) => {
                        if pending.is_none() {
                            let name = if decisive { "_||_" } else { "_&&_" };
                            pending = Some(EvalError::no_overload(name, &["bool", tn(&v)]));
                        }
                    }
                    Err(e) => {
                        if pending.is_none() {
                            pending = Some(e);
                        }
                    }
                }
            }
            MacroKind::ExistsOne => match bool_of(&r?) {
                Some(true) => count += 1,
                Some(false) => {}
                None => return Err(EvalError::no_overload("exists_one", &["non-bool predicate"])),
            },
            MacroKind::Filter => match bool_of(&r?) {
                Some(true) => out.push(item),
                Some(false) => {}
                None => return Err(EvalError::no_overload("filter", &["non-bool predicate"])),
            },
            MacroKind::Map => match &c.transform {
                None => out.push(r?),
                Some(t) => match bool_of(&r?) {
                    Some(true) => out.push(eval(t, s)?),
                    Some(false) => {}
                    None => return Err(EvalError::no_overload("map", &["non-bool predicate"])),
                },
            },
        }
    }
    match c.kind {
        MacroKind::All | MacroKind::Exists => match pending {
            Some(e) => Err(e),
            None => Ok(Value::Bool(c.kind == MacroKind::All)),
        },
        MacroKind::ExistsOne => Ok(Value::Bool(count == 1)),
        MacroKind::Filter | MacroKind::Map => Ok(Value::List(Rc::new(out))),
    }
}

fn call<'a>(f: Func, args: &'a [Node], s: &mut Slots<'a>) -> EResult<Value<'a>> {
    let mut vals: Vec<Value<'a>> = Vec::with_capacity(args.len());
    for a in args {
        vals.push(eval(a, s)?);
    }
    apply(f, vals)
}

pub fn conversion_error(to: &str, v: &Value) -> EvalError {
    EvalError::new(
        EvalKind::Conversion,
        format!("Type conversion error: cannot convert {} to {}", v.render(), to),
    )
}

pub fn range_error(to: &str, v: &Value) -> EvalError {
    EvalError::new(
        EvalKind::Range,
        format!("range error: {} is out of the {} range", v.render(), to),
    )
}

/// The builtin functions, over evaluated arguments (a method's receiver first).
pub fn apply<'a>(f: Func, mut vals: Vec<Value<'a>>) -> EResult<Value<'a>> {
    let name = match f {
        Func::Size => "size",
        Func::Contains => "contains",
        Func::StartsWith => "startsWith",
        Func::EndsWith => "endsWith",
        Func::Matches => "matches",
        Func::Int => "int",
        Func::Uint => "uint",
        Func::Double => "double",
        Func::String => "string",
        Func::Bytes => "bytes",
        Func::Bool => "bool",
        Func::Dyn => "dyn",
        Func::Type => "type",
        Func::ShardHash => "shard_hash",
        Func::Timestamp => "timestamp",
        Func::Duration => "duration",
        Func::Get(g) => g.name(),
    };
    let no = |vals: &[Value]| {
        let names: Vec<&str> = vals.iter().map(|v| v.type_name().name()).collect();
        EvalError::no_overload(name, &names)
    };
    if let Func::Get(g) = f {
        return match (vals.get(0), vals.get(1), vals.len()) {
            (Some(Value::Timestamp(t)), None, 1) => time::timestamp_get(*t, g, None).map(Value::Int),
            (Some(Value::Timestamp(t)), Some(z @ Value::Str(_)), 2) => time::timestamp_get(*t, g, z.as_str()).map(Value::Int),
            (Some(Value::Duration(d)), None, 1) if g.on_duration() => Ok(Value::Int(time::duration_get(*d, g))),
            _ => Err(no(&vals)),
        };
    }
    if vals.len() == 2 {
        let (a, b) = (&vals[0], &vals[1]);
        return match (f, a.as_str(), b.as_str()) {
            (Func::Contains, Some(x), Some(y)) => Ok(Value::Bool(x.contains(y))),
            (Func::StartsWith, Some(x), Some(y)) => Ok(Value::Bool(x.starts_with(y))),
            (Func::EndsWith, Some(x), Some(y)) => Ok(Value::Bool(x.ends_with(y))),
            (Func::Matches, Some(x), Some(y)) => match Regex::new(y) {
                Ok(re) => Ok(Value::Bool(re.is_match(x))),
                Err(m) => Err(EvalError::new(
                    EvalKind::Regex,
                    format!("invalid regular expression {:?}: {}", y, m),
                )),
            },
            _ => Err(no(&vals)),
        };
    }
    if vals.len() != 1 {
        return Err(no(&vals));
    }
    let v = vals.pop().unwrap_or(Value::Null);
    let out = match (f, &v) {
        (Func::Size, Value::Str(_)) => Value::Int(v.as_str().map_or(0, |t| t.chars().count()) as i64),
        (Func::Size, Value::Bytes(b)) => Value::Int(b.bytes().len() as i64),
        (Func::Size, Value::List(l)) => Value::Int(l.len() as i64),
        (Func::Size, Value::Map(m)) => Value::Int(m.entries.len() as i64),
        (Func::Dyn, _) => v,
        (Func::Type, _) => Value::Type(v.type_name()),
        (Func::Int, Value::Int(_)) => v,
        (Func::Int, Value::Uint(u)) => {
            if *u > i64::MAX as u64 {
                return Err(range_error("int", &v));
            }
            Value::Int(*u as i64)
        }
        (Func::Int, Value::Double(d)) => {
            if !(*d > -9.223372036854775808e18 && *d < 9.223372036854775808e18) {
                return Err(range_error("int", &v));
            }
            Value::Int(*d as i64)
        }
        (Func::Int, Value::Timestamp(t)) => Value::Int(t.div_euclid(1_000_000_000) as i64),
        (Func::Int, Value::Str(_)) => {
            let t = v.as_str().unwrap_or("");
            Value::Int(parse_int(t).ok_or_else(|| conversion_error("int", &v))?)
        }
        (Func::Uint, Value::Uint(_)) => v,
        (Func::Uint, Value::Int(i)) => {
            if *i < 0 {
                return Err(range_error("uint", &v));
            }
            Value::Uint(*i as u64)
        }
        (Func::Uint, Value::Double(d)) => {
            if !(*d >= 0.0 && *d < 1.8446744073709551616e19) {
                return Err(range_error("uint", &v));
            }
            Value::Uint(*d as u64)
        }
        (Func::Uint, Value::Str(_)) => {
            let t = v.as_str().unwrap_or("");
            let ok = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            let parsed = if ok { t.parse::<u64>().ok() } else { None };
            Value::Uint(parsed.ok_or_else(|| conversion_error("uint", &v))?)
        }
        (Func::Double, Value::Double(_)) => v,
        (Func::Double, Value::Int(i)) => Value::Double(*i as f64),
        (Func::Double, Value::Uint(u)) => Value::Double(*u as f64),
        (Func::Double, Value::Str(_)) => {
            let t = v.as_str().unwrap_or("");
            Value::Double(parse_double(t).ok_or_else(|| conversion_error("double", &v))?)
        }
        (Func::String, Value::Str(_)) => v,
        (Func::String, Value::Timestamp(t)) => Value::string(time::format_timestamp(*t)),
        (Func::String, Value::Duration(d)) => Value::string(time::format_duration(*d)),
        (Func::Timestamp, Value::Timestamp(_)) | (Func::Duration, Value::Duration(_)) => v,
        (Func::Timestamp, Value::Str(_)) => time::parse_timestamp(v.as_str().unwrap_or(""))?,
        (Func::Timestamp, Value::Int(i)) => time::checked_timestamp(*i as i128 * 1_000_000_000)?,
        (Func::Duration, Value::Str(_)) => time::parse_duration(v.as_str().unwrap_or(""))?,
        (Func::String, Value::Int(i)) => Value::string(i.to_string()),
        (Func::String, Value::Uint(u)) => Value::string(u.to_string()),
        (Func::String, Value::Double(d)) => Value::string(format_double(*d)),
        (Func::String, Value::Bool(b)) => Value::string(b.to_string()),
        (Func::String, Value::Bytes(b)) => match core::str::from_utf8(b.bytes()) {
            Ok(_) => Value::Str(b.clone()),
            Err(_) => {
                return Err(EvalError::new(
                    EvalKind::BadUtf8,
                    format!("invalid UTF-8 in bytes {}, cannot convert to string", v.render()),
                ))
            }
        },
        (Func::Bytes, Value::Bytes(_)) => v,
        (Func::Bytes, Value::Str(b)) => Value::Bytes(b.clone()),
        (Func::Bool, Value::Bool(_)) => v,
        (Func::Bool, Value::Str(_)) => match v.as_str().unwrap_or("") {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Value::Bool(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Value::Bool(false),
            _ => return Err(conversion_error("bool", &v)),
        },
        (Func::ShardHash, _) => Value::Uint(shard_hash(&v)?),
        _ => return Err(no(&[v])),
    };
    Ok(out)
}

/// `shard_hash(x)`: XXH3-64 of the routing key's canonical bytes (reference-format §4.1), so
/// `shard_hash(key) % Nu` routes like HASH sharding with N shards.
pub fn shard_hash(v: &Value) -> EResult<u64> {
    match v {
        Value::Int(i) => Ok(xxh3_64_u64le(*i as u64)),
        Value::Uint(u) => match canonical_int(*u as i128) {
            Ok(c) => Ok(xxh3_64_u64le(c)),
            Err(_) => Err(EvalError::new(
                EvalKind::ShardHashRange,
                format!("shard_hash({}u): uint keys above 2^63-1 cannot be routed (canonical keys are signed 64-bit)", u),
            )),
        },
        Value::Str(b) | Value::Bytes(b) => Ok(xxh3_64(b.bytes())),
        other => Err(EvalError::no_overload("shard_hash", &[tn(other)])),
    }
}

/// `int(string)`: optional sign and decimal digits (Go's `strconv.ParseInt(s, 10, 64)`).
pub fn parse_int(t: &str) -> Option<i64> {
    let digits = t.strip_prefix('-').or_else(|| t.strip_prefix('+')).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.strip_prefix('+').unwrap_or(t).parse().ok()
}

/// `double(string)`: decimal or exponent notation, `inf`/`infinity`/`nan` in any case.
pub fn parse_double(t: &str) -> Option<f64> {
    let body = t.strip_prefix('-').or_else(|| t.strip_prefix('+')).unwrap_or(t);
    let lower = body.to_ascii_lowercase();
    let special = lower == "inf" || lower == "infinity" || lower == "nan";
    let ok = special
        || (!body.is_empty()
            && body.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'+' || b == b'-')
            && body.bytes().any(|b| b.is_ascii_digit()));
    if !ok {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Type name for messages and `type()` results.
pub fn type_name_of(v: &Value) -> TypeName {
    v.type_name()
}
