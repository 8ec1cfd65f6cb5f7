//! The fast path for batch evaluation: an expression whose every node has a static primitive
//! type (int, uint, double, bool, string, bytes) compiles to typed closures that read row values
//! directly and return unboxed results, instead of walking `Node` with boxed `Value`s. Same
//! semantics as `eval` (same checks, same error kinds); anything else (lists, maps, macros,
//! `dyn`, unchecked programs) keeps the generic evaluator.

use super::compile::{ArOp, CmpOp, Const, Func, Node};
use super::error::{EvalError, EvalKind};
use super::eval::{
    conversion_error, double_arith, int_arith, parse_double, parse_int, range_error, uint_arith,
};
use super::regex::Regex;
use super::types::Ty;
use super::value::{format_double, numeric_cmp, Value};
use crate::keys::canonical_int;
use crate::xxh3::{xxh3_64, xxh3_64_u64le};
use core::cell::RefCell;
use core::cmp::Ordering;
use std::rc::Rc;

pub type R<T> = Result<T, Box<EvalError>>;

/// One row's values, by declared variable: ints, uints (as bits) and bools in `n`, doubles in
/// `f`, strings and bytes in `b`.
pub struct RowVals<'a> {
    pub n: Vec<i64>,
    pub f: Vec<f64>,
    pub b: Vec<&'a [u8]>,
}

impl<'a> RowVals<'a> {
    pub fn new(vars: usize) -> RowVals<'a> {
        RowVals {
            n: vec![0; vars],
            f: vec![0.0; vars],
            b: vec![&[]; vars],
        }
    }
}

type IntFn = Box<dyn for<'a> Fn(&RowVals<'a>) -> R<i64>>;
type UintFn = Box<dyn for<'a> Fn(&RowVals<'a>) -> R<u64>>;
type DblFn = Box<dyn for<'a> Fn(&RowVals<'a>) -> R<f64>>;
type BoolFn = Box<dyn for<'a> Fn(&RowVals<'a>) -> R<bool>>;
type WriteFn = Box<dyn for<'a> Fn(&RowVals<'a>, &mut Vec<u8>) -> R<()>>;

/// A string or bytes expression: a column, a literal, or something that appends its bytes.
pub enum SFn {
    Var(usize),
    Const(Box<[u8]>),
    Write(WriteFn),
}

impl SFn {
    #[inline(always)]
    pub fn write(&self, rv: &RowVals, out: &mut Vec<u8>) -> R<()> {
        match self {
            SFn::Var(i) => {
                out.extend_from_slice(rv.b[*i]);
                Ok(())
            }
            SFn::Const(c) => {
                out.extend_from_slice(c);
                Ok(())
            }
            SFn::Write(f) => f(rv, out),
        }
    }

    /// The bytes, copied into `scratch` only when they are computed.
    #[inline(always)]
    fn get<'s>(&'s self, rv: &'s RowVals, scratch: &'s mut Vec<u8>) -> R<&'s [u8]> {
        match self {
            SFn::Var(i) => Ok(rv.b[*i]),
            SFn::Const(c) => Ok(c),
            SFn::Write(f) => {
                scratch.clear();
                f(rv, scratch)?;
                Ok(&scratch[..])
            }
        }
    }
}

pub enum Fast {
    Int(IntFn),
    Uint(UintFn),
    Double(DblFn),
    Bool(BoolFn),
    Str(SFn),
    Bytes(SFn),
}

fn err(kind: EvalKind, msg: &str) -> Box<EvalError> {
    Box::new(EvalError::new(kind, msg.to_string()))
}

fn boxed(e: EvalError) -> Box<EvalError> {
    Box::new(e)
}

/// Appends the decimal digits of `v` (no allocation, no formatting machinery).
fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
}

fn scratch() -> RefCell<Vec<u8>> {
    RefCell::new(Vec::new())
}

/// Compiles `n` if every node is supported; `decls` are the declared variable types.
pub fn compile(n: &Node, decls: &[Ty]) -> Option<Fast> {
    use Fast::*;
    if let Some(f) = hash_mod(n, decls) {
        return Some(f);
    }
    Some(match n {
        Node::Const(c) => match c {
            Const::Bool(b) => {
                let b = *b;
                Bool(Box::new(move |_| Ok(b)))
            }
            Const::Int(i) => {
                let i = *i;
                Int(Box::new(move |_| Ok(i)))
            }
            Const::Uint(u) => {
                let u = *u;
                Uint(Box::new(move |_| Ok(u)))
            }
            Const::Double(d) => {
                let d = *d;
                Double(Box::new(move |_| Ok(d)))
            }
            Const::Str(s) => Str(SFn::Const(s.as_bytes().into())),
            Const::Bytes(b) => Bytes(SFn::Const(b.clone())),
            _ => return None,
        },
        Node::Var(i) => {
            let i = *i;
            match decls.get(i)? {
                Ty::Int => Int(Box::new(move |rv| Ok(rv.n[i]))),
                Ty::Uint => Uint(Box::new(move |rv| Ok(rv.n[i] as u64))),
                Ty::Bool => Bool(Box::new(move |rv| Ok(rv.n[i] != 0))),
                Ty::Double => Double(Box::new(move |rv| Ok(rv.f[i]))),
                Ty::String => Str(SFn::Var(i)),
                Ty::Bytes => Bytes(SFn::Var(i)),
                _ => return None,
            }
        }
        Node::Not(x) => match compile(x, decls)? {
            Bool(f) => Bool(Box::new(move |rv| f(rv).map(|b| !b))),
            _ => return None,
        },
        Node::Neg(x) => match compile(x, decls)? {
            Int(f) => Int(Box::new(move |rv| {
                f(rv)?.checked_neg().ok_or_else(|| err(EvalKind::Overflow, "integer overflow in -_"))
            })),
            Double(f) => Double(Box::new(move |rv| f(rv).map(|d| -d))),
            _ => return None,
        },
        Node::And(a, b) | Node::Or(a, b) => {
            let short = matches!(n, Node::Or(..));
            let (fa, fb) = match (compile(a, decls)?, compile(b, decls)?) {
                (Bool(x), Bool(y)) => (x, y),
                _ => return None,
            };
            Bool(Box::new(move |rv| {
                let l = fa(rv);
                if let Ok(x) = l {
                    if x == short {
                        return Ok(short);
                    }
                }
                let r = fb(rv);
                match (l, r) {
                    (_, Ok(y)) if y == short => Ok(short),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                    _ => Ok(!short),
                }
            }))
        }
        Node::Cond(c, a, b) => {
            let fc = match compile(c, decls)? {
                Bool(f) => f,
                _ => return None,
            };
            if let (Node::Const(Const::Int(x)), Node::Const(Const::Int(y))) = (&**a, &**b) {
                let (x, y) = (*x, *y);
                return Some(Int(Box::new(move |rv| Ok(if fc(rv)? { x } else { y }))));
            }
            match (compile(a, decls)?, compile(b, decls)?) {
                (Int(x), Int(y)) => Int(Box::new(move |rv| if fc(rv)? { x(rv) } else { y(rv) })),
                (Uint(x), Uint(y)) => Uint(Box::new(move |rv| if fc(rv)? { x(rv) } else { y(rv) })),
                (Double(x), Double(y)) => Double(Box::new(move |rv| if fc(rv)? { x(rv) } else { y(rv) })),
                (Bool(x), Bool(y)) => Bool(Box::new(move |rv| if fc(rv)? { x(rv) } else { y(rv) })),
                (Str(x), Str(y)) => Str(SFn::Write(Box::new(move |rv, out| if fc(rv)? { x.write(rv, out) } else { y.write(rv, out) }))),
                (Bytes(x), Bytes(y)) => Bytes(SFn::Write(Box::new(move |rv, out| if fc(rv)? { x.write(rv, out) } else { y.write(rv, out) }))),
                _ => return None,
            }
        }
        Node::Arith(op, a, b) => arith(*op, compile(a, decls)?, compile(b, decls)?)?,
        Node::Cmp(op, a, b) => cmp(*op, compile(a, decls)?, compile(b, decls)?)?,
        Node::MatchConst(x, re) => match compile(x, decls)? {
            Str(s) => {
                let re: Rc<Regex> = re.clone();
                let sc = scratch();
                Bool(Box::new(move |rv| {
                    let mut buf = sc.borrow_mut();
                    let t = s.get(rv, &mut buf)?;
                    // SAFETY: string values are UTF-8 (checked columns, literals, conversions).
                    Ok(re.is_match(unsafe { core::str::from_utf8_unchecked(t) }))
                }))
            }
            _ => return None,
        },
        Node::Call(f, args) => call(*f, args, decls)?,
        _ => return None,
    })
}

/// `shard_hash(column) % Nu`, the most common routing expression, as one closure.
fn hash_mod(n: &Node, decls: &[Ty]) -> Option<Fast> {
    let (inner, m) = match n {
        Node::Arith(ArOp::Rem, a, b) => match (&**a, &**b) {
            (Node::Call(Func::ShardHash, args), Node::Const(Const::Uint(m))) if *m > 0 => (args, *m),
            _ => return None,
        },
        _ => return None,
    };
    let i = match inner.as_slice() {
        [Node::Var(i)] => *i,
        _ => return None,
    };
    Some(Fast::Uint(match decls.get(i)? {
        Ty::Int => Box::new(move |rv| Ok(xxh3_64_u64le(rv.n[i] as u64) % m)),
        Ty::String | Ty::Bytes => Box::new(move |rv| Ok(xxh3_64(rv.b[i]) % m)),
        _ => return None,
    }))
}

fn num_value(f: &Fast, rv: &RowVals) -> R<Value<'static>> {
    Ok(match f {
        Fast::Int(g) => Value::Int(g(rv)?),
        Fast::Uint(g) => Value::Uint(g(rv)?),
        Fast::Double(g) => Value::Double(g(rv)?),
        _ => Value::Null,
    })
}

fn arith(op: ArOp, a: Fast, b: Fast) -> Option<Fast> {
    use Fast::*;
    Some(match (a, b) {
        (Int(x), Int(y)) => Int(Box::new(move |rv| int_arith(op, x(rv)?, y(rv)?).map_err(boxed))),
        (Uint(x), Uint(y)) => Uint(Box::new(move |rv| uint_arith(op, x(rv)?, y(rv)?).map_err(boxed))),
        (Double(x), Double(y)) if op != ArOp::Rem => {
            Double(Box::new(move |rv| Ok(double_arith(op, x(rv)?, y(rv)?))))
        }
        (Str(x), Str(y)) if op == ArOp::Add => Str(concat(x, y)),
        (Bytes(x), Bytes(y)) if op == ArOp::Add => Bytes(concat(x, y)),
        _ => return None,
    })
}

fn concat(x: SFn, y: SFn) -> SFn {
    SFn::Write(Box::new(move |rv, out| {
        x.write(rv, out)?;
        y.write(rv, out)
    }))
}

fn ordered(op: CmpOp, o: Option<Ordering>) -> bool {
    match (op, o) {
        (CmpOp::Eq, o) => o == Some(Ordering::Equal),
        (CmpOp::Ne, o) => o != Some(Ordering::Equal),
        (_, None) => false,
        (CmpOp::Lt, Some(o)) => o == Ordering::Less,
        (CmpOp::Le, Some(o)) => o != Ordering::Greater,
        (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
        (_, Some(o)) => o != Ordering::Less,
    }
}

fn cmp(op: CmpOp, a: Fast, b: Fast) -> Option<Fast> {
    use Fast::*;
    Some(match (a, b) {
        // A column against a literal is the common case: compare in place (equality first
        // checks the length, so most rows never look at the bytes).
        (Str(SFn::Var(i)), Str(SFn::Const(c)))
        | (Str(SFn::Const(c)), Str(SFn::Var(i)))
        | (Bytes(SFn::Var(i)), Bytes(SFn::Const(c)))
        | (Bytes(SFn::Const(c)), Bytes(SFn::Var(i)))
            if matches!(op, CmpOp::Eq | CmpOp::Ne) =>
        {
            let want = op == CmpOp::Eq;
            Bool(Box::new(move |rv| Ok((rv.b[i] == &c[..]) == want)))
        }
        (Str(SFn::Var(i)), Str(SFn::Const(c))) | (Bytes(SFn::Var(i)), Bytes(SFn::Const(c))) => {
            Bool(Box::new(move |rv| Ok(ordered(op, Some(rv.b[i].cmp(&c[..]))))))
        }
        (Str(SFn::Const(c)), Str(SFn::Var(i))) | (Bytes(SFn::Const(c)), Bytes(SFn::Var(i))) => {
            Bool(Box::new(move |rv| Ok(ordered(op, Some(c[..].cmp(rv.b[i]))))))
        }
        (Str(x), Str(y)) | (Bytes(x), Bytes(y)) => {
            let (s1, s2) = (scratch(), scratch());
            Bool(Box::new(move |rv| {
                let (mut b1, mut b2) = (s1.borrow_mut(), s2.borrow_mut());
                let p = x.get(rv, &mut b1)?;
                let q = y.get(rv, &mut b2)?;
                Ok(ordered(op, Some(p.cmp(q))))
            }))
        }
        (Bool(x), Bool(y)) => Bool(Box::new(move |rv| {
            let (p, q) = (x(rv)?, y(rv)?);
            Ok(ordered(op, Some(p.cmp(&q))))
        })),
        (Int(x), Int(y)) => Bool(Box::new(move |rv| {
            let (p, q) = (x(rv)?, y(rv)?);
            Ok(ordered(op, Some(p.cmp(&q))))
        })),
        (Uint(x), Uint(y)) => Bool(Box::new(move |rv| {
            let (p, q) = (x(rv)?, y(rv)?);
            Ok(ordered(op, Some(p.cmp(&q))))
        })),
        (x @ (Int(_) | Uint(_) | Double(_)), y @ (Int(_) | Uint(_) | Double(_))) => Bool(Box::new(move |rv| {
            let p = num_value(&x, rv)?;
            let q = num_value(&y, rv)?;
            Ok(ordered(op, numeric_cmp(&p, &q)))
        })),
        _ => return None,
    })
}

fn call(f: Func, args: &[Node], decls: &[Ty]) -> Option<Fast> {
    use Fast::*;
    let mut fs: Vec<Fast> = Vec::with_capacity(args.len());
    for a in args {
        fs.push(compile(a, decls)?);
    }
    if fs.len() == 2 {
        let y = fs.pop()?;
        let x = fs.pop()?;
        let (x, y) = match (x, y) {
            (Str(x), Str(y)) => (x, y),
            _ => return None,
        };
        let (s1, s2) = (scratch(), scratch());
        let test: fn(&[u8], &[u8]) -> bool = match f {
            Func::Contains => |a, b| {
                // SAFETY: both are UTF-8 strings.
                unsafe { core::str::from_utf8_unchecked(a).contains(core::str::from_utf8_unchecked(b)) }
            },
            Func::StartsWith => |a, b| a.starts_with(b),
            Func::EndsWith => |a, b| a.ends_with(b),
            _ => return None,
        };
        return Some(Bool(Box::new(move |rv| {
            let (mut b1, mut b2) = (s1.borrow_mut(), s2.borrow_mut());
            let p = x.get(rv, &mut b1)?;
            let q = y.get(rv, &mut b2)?;
            Ok(test(p, q))
        })));
    }
    if fs.len() != 1 {
        return None;
    }
    let x = fs.pop()?;
    Some(match (f, x) {
        (Func::Int, Int(g)) | (Func::Dyn, Int(g)) => Int(g),
        (Func::Uint, Uint(g)) | (Func::Dyn, Uint(g)) => Uint(g),
        (Func::Double, Double(g)) | (Func::Dyn, Double(g)) => Double(g),
        (Func::String, Str(g)) | (Func::Dyn, Str(g)) => Str(g),
        (Func::Bytes, Bytes(g)) | (Func::Dyn, Bytes(g)) => Bytes(g),
        (Func::Bool, Bool(g)) | (Func::Dyn, Bool(g)) => Bool(g),
        (Func::Bytes, Str(g)) => Bytes(g),
        (Func::Int, Uint(g)) => Int(Box::new(move |rv| {
            let u = g(rv)?;
            if u > i64::MAX as u64 {
                return Err(boxed(range_error("int", &Value::Uint(u))));
            }
            Ok(u as i64)
        })),
        (Func::Int, Double(g)) => Int(Box::new(move |rv| {
            let d = g(rv)?;
            if !(d > -9.223372036854775808e18 && d < 9.223372036854775808e18) {
                return Err(boxed(range_error("int", &Value::Double(d))));
            }
            Ok(d as i64)
        })),
        (Func::Int, Str(g)) => {
            let sc = scratch();
            Int(Box::new(move |rv| {
                let mut b = sc.borrow_mut();
                let t = g.get(rv, &mut b)?;
                // SAFETY: string values are UTF-8.
                let s = unsafe { core::str::from_utf8_unchecked(t) };
                parse_int(s).ok_or_else(|| boxed(conversion_error("int", &Value::str(s))))
            }))
        }
        (Func::Uint, Int(g)) => Uint(Box::new(move |rv| {
            let i = g(rv)?;
            if i < 0 {
                return Err(boxed(range_error("uint", &Value::Int(i))));
            }
            Ok(i as u64)
        })),
        (Func::Uint, Double(g)) => Uint(Box::new(move |rv| {
            let d = g(rv)?;
            if !(d >= 0.0 && d < 1.8446744073709551616e19) {
                return Err(boxed(range_error("uint", &Value::Double(d))));
            }
            Ok(d as u64)
        })),
        (Func::Uint, Str(g)) => {
            let sc = scratch();
            Uint(Box::new(move |rv| {
                let mut b = sc.borrow_mut();
                let t = g.get(rv, &mut b)?;
                let ok = !t.is_empty() && t.iter().all(|c| c.is_ascii_digit());
                // SAFETY: string values are UTF-8.
                let s = unsafe { core::str::from_utf8_unchecked(t) };
                let v = if ok { s.parse::<u64>().ok() } else { None };
                v.ok_or_else(|| boxed(conversion_error("uint", &Value::str(s))))
            }))
        }
        (Func::Double, Int(g)) => Double(Box::new(move |rv| g(rv).map(|i| i as f64))),
        (Func::Double, Uint(g)) => Double(Box::new(move |rv| g(rv).map(|u| u as f64))),
        (Func::Double, Str(g)) => {
            let sc = scratch();
            Double(Box::new(move |rv| {
                let mut b = sc.borrow_mut();
                let t = g.get(rv, &mut b)?;
                // SAFETY: string values are UTF-8.
                let s = unsafe { core::str::from_utf8_unchecked(t) };
                parse_double(s).ok_or_else(|| boxed(conversion_error("double", &Value::str(s))))
            }))
        }
        (Func::String, Int(g)) => Str(SFn::Write(Box::new(move |rv, out| {
            write_i64(out, g(rv)?);
            Ok(())
        }))),
        (Func::String, Uint(g)) => Str(SFn::Write(Box::new(move |rv, out| {
            write_u64(out, g(rv)?);
            Ok(())
        }))),
        (Func::String, Bool(g)) => Str(SFn::Write(Box::new(move |rv, out| {
            out.extend_from_slice(if g(rv)? { b"true" } else { b"false" });
            Ok(())
        }))),
        (Func::String, Double(g)) => Str(SFn::Write(Box::new(move |rv, out| {
            out.extend_from_slice(format_double(g(rv)?).as_bytes());
            Ok(())
        }))),
        (Func::String, Bytes(g)) => Str(SFn::Write(Box::new(move |rv, out| {
            let start = out.len();
            g.write(rv, out)?;
            if core::str::from_utf8(&out[start..]).is_err() {
                return Err(err(EvalKind::BadUtf8, "invalid UTF-8 in bytes, cannot convert to string"));
            }
            Ok(())
        }))),
        (Func::Size, Str(g)) => {
            let sc = scratch();
            Int(Box::new(move |rv| {
                let mut b = sc.borrow_mut();
                let t = g.get(rv, &mut b)?;
                Ok(t.iter().filter(|&&c| (c as i8) >= -0x40).count() as i64)
            }))
        }
        (Func::Size, Bytes(g)) => {
            let sc = scratch();
            Int(Box::new(move |rv| {
                let mut b = sc.borrow_mut();
                Ok(g.get(rv, &mut b)?.len() as i64)
            }))
        }
        (Func::ShardHash, Int(g)) => Uint(Box::new(move |rv| Ok(xxh3_64_u64le(g(rv)? as u64)))),
        (Func::ShardHash, Uint(g)) => Uint(Box::new(move |rv| {
            let u = g(rv)?;
            match canonical_int(u as i128) {
                Ok(c) => Ok(xxh3_64_u64le(c)),
                Err(_) => Err(err(
                    EvalKind::ShardHashRange,
                    "shard_hash: uint keys above 2^63-1 cannot be routed (canonical keys are signed 64-bit)",
                )),
            }
        })),
        (Func::ShardHash, Str(g)) | (Func::ShardHash, Bytes(g)) => {
            let sc = scratch();
            Uint(Box::new(move |rv| {
                let mut b = sc.borrow_mut();
                Ok(xxh3_64(g.get(rv, &mut b)?))
            }))
        }
        _ => return None,
    })
}
