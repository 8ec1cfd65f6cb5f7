//! Static types for the checker, their CEL spelling (`list(int)`, `map(string, dyn)`), the
//! overload signatures of every operator and function, and overload resolution with type
//! parameters. `Free` is a type not yet known (the element of `[]`): it joins with anything.

#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Dyn,
    Free,
    Null,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    List(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Type(Box<Ty>),
    Timestamp,
    Duration,
    /// A type parameter of a signature (A = 0, B = 1).
    Param(u8),
}

use Ty::*;

impl Ty {
    pub fn list(t: Ty) -> Ty {
        List(Box::new(t))
    }

    pub fn map(k: Ty, v: Ty) -> Ty {
        Map(Box::new(k), Box::new(v))
    }

    /// The spelling of the type, with unresolved types shown as `dyn`.
    pub fn name(&self) -> std::string::String {
        match self {
            Dyn | Free | Param(_) => "dyn".into(),
            Null => "null_type".into(),
            Bool => "bool".into(),
            Int => "int".into(),
            Uint => "uint".into(),
            Double => "double".into(),
            String => "string".into(),
            Bytes => "bytes".into(),
            List(e) => format!("list({})", e.name()),
            Map(k, v) => format!("map({}, {})", k.name(), v.name()),
            Type(t) => format!("type({})", t.name()),
            Timestamp => "google.protobuf.Timestamp".into(),
            Duration => "google.protobuf.Duration".into(),
        }
    }

    pub fn is_dynamic(&self) -> bool {
        matches!(self, Dyn | Free)
    }

    /// Parses a declared type: `int`, `list(string)`, `map(string, int)`, `dyn`, ...
    pub fn parse(text: &str) -> Option<Ty> {
        let mut p = TyParser {
            s: text.as_bytes(),
            at: 0,
        };
        let t = p.ty()?;
        p.space();
        if p.at == p.s.len() {
            Some(t)
        } else {
            None
        }
    }
}

struct TyParser<'s> {
    s: &'s [u8],
    at: usize,
}

impl<'s> TyParser<'s> {
    fn space(&mut self) {
        while self.at < self.s.len() && self.s[self.at] == b' ' {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.space();
        if self.s.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn ty(&mut self) -> Option<Ty> {
        self.space();
        let start = self.at;
        while self.at < self.s.len() && (self.s[self.at].is_ascii_alphanumeric() || b"_.".contains(&self.s[self.at])) {
            self.at += 1;
        }
        let word = core::str::from_utf8(&self.s[start..self.at]).ok()?;
        Some(match word {
            "dyn" => Dyn,
            "null_type" => Null,
            "bool" => Bool,
            "int" => Int,
            "uint" => Uint,
            "double" => Double,
            "string" => String,
            "bytes" => Bytes,
            "google.protobuf.Timestamp" => Timestamp,
            "google.protobuf.Duration" => Duration,
            // A message type: checked as dyn (fields are resolved when evaluating).
            w if w.contains('.') => Dyn,
            "list" => {
                if !self.eat(b'(') {
                    return Some(Ty::list(Dyn));
                }
                let e = self.ty()?;
                if !self.eat(b')') {
                    return None;
                }
                Ty::list(e)
            }
            "map" => {
                if !self.eat(b'(') {
                    return Some(Ty::map(Dyn, Dyn));
                }
                let k = self.ty()?;
                if !self.eat(b',') {
                    return None;
                }
                let v = self.ty()?;
                if !self.eat(b')') {
                    return None;
                }
                Ty::map(k, v)
            }
            "type" => {
                if !self.eat(b'(') {
                    return Some(Type(Box::new(Dyn)));
                }
                let t = self.ty()?;
                if !self.eat(b')') {
                    return None;
                }
                Type(Box::new(t))
            }
            _ => return None,
        })
    }
}

/// The most specific type both `a` and `b` fit, if they agree (`Free` takes the other side,
/// `dyn` absorbs anything).
pub fn join(a: &Ty, b: &Ty) -> Option<Ty> {
    match (a, b) {
        (Free, t) | (t, Free) => Some(t.clone()),
        (Dyn, _) | (_, Dyn) => Some(Dyn),
        (List(x), List(y)) => Some(Ty::list(join(x, y)?)),
        (Map(k1, v1), Map(k2, v2)) => Some(Ty::map(join(k1, k2)?, join(v1, v2)?)),
        // Type values compare at run time whatever they denote (`type(1) == type(1u)`).
        (Type(x), Type(y)) => Some(Type(Box::new(join(x, y).unwrap_or(Dyn)))),
        _ if a == b => Some(a.clone()),
        _ => None,
    }
}

/// Like `join`, but types that disagree become `dyn` (list and map literal elements).
pub fn join_lenient(a: &Ty, b: &Ty) -> Ty {
    join(a, b).unwrap_or(Dyn)
}

fn unify(param: &Ty, arg: &Ty, binds: &mut [Option<Ty>; 2]) -> bool {
    match (param, arg) {
        (Param(i), _) => {
            let slot = &mut binds[*i as usize];
            match slot {
                None => {
                    *slot = Some(arg.clone());
                    true
                }
                Some(bound) => match join(bound, arg) {
                    Some(j) => {
                        *slot = Some(j);
                        true
                    }
                    None => false,
                },
            }
        }
        (Dyn, _) => true,
        (_, Dyn) | (_, Free) => {
            bind_all(param, arg, binds);
            true
        }
        (List(p), List(a)) => unify(p, a, binds),
        (Map(pk, pv), Map(ak, av)) => unify(pk, ak, binds) && unify(pv, av, binds),
        (Type(p), Type(a)) => unify(p, a, binds),
        _ => param == arg,
    }
}

/// Binds every parameter inside `param` to `with` (a dynamic argument).
fn bind_all(param: &Ty, with: &Ty, binds: &mut [Option<Ty>; 2]) {
    match param {
        Param(i) => {
            let slot = &mut binds[*i as usize];
            if slot.is_none() {
                *slot = Some(with.clone());
            }
        }
        List(e) | Type(e) => bind_all(e, with, binds),
        Map(k, v) => {
            bind_all(k, with, binds);
            bind_all(v, with, binds);
        }
        _ => {}
    }
}

fn substitute(t: &Ty, binds: &[Option<Ty>; 2]) -> Ty {
    match t {
        Param(i) => binds[*i as usize].clone().unwrap_or(Free),
        List(e) => Ty::list(substitute(e, binds)),
        Map(k, v) => Ty::map(substitute(k, binds), substitute(v, binds)),
        Type(e) => Type(Box::new(substitute(e, binds))),
        other => other.clone(),
    }
}

pub struct Sig {
    pub params: Vec<Ty>,
    pub result: Ty,
}

fn sig(params: &[Ty], result: Ty) -> Sig {
    Sig {
        params: params.to_vec(),
        result,
    }
}

const A: Ty = Param(0);
const B: Ty = Param(1);

fn la() -> Ty {
    Ty::list(A)
}

fn mab() -> Ty {
    Ty::map(A, B)
}

/// Signatures of a function (receiver first for methods). `None` when the name is unknown.
pub fn signatures(name: &str, receiver: bool) -> Option<Vec<Sig>> {
    let num = [Int, Uint, Double];
    let same = |ts: &[Ty], result: Option<Ty>| -> Vec<Sig> {
        ts.iter()
            .map(|t| sig(&[t.clone(), t.clone()], result.clone().unwrap_or_else(|| t.clone())))
            .collect()
    };
    let conv = |from: &[Ty], to: Ty| -> Vec<Sig> { from.iter().map(|t| sig(&[t.clone()], to.clone())).collect() };
    let v = match (name, receiver) {
        ("_+_", false) => {
            let mut v = same(&[Int, Uint, Double, String, Bytes, Duration], None);
            v.push(sig(&[la(), la()], la()));
            v.push(sig(&[Timestamp, Duration], Timestamp));
            v.push(sig(&[Duration, Timestamp], Timestamp));
            v
        }
        ("_-_", false) => {
            let mut v = same(&[Int, Uint, Double, Duration], None);
            v.push(sig(&[Timestamp, Timestamp], Duration));
            v.push(sig(&[Timestamp, Duration], Timestamp));
            v
        }
        ("_*_", false) | ("_/_", false) => same(&num, None),
        ("_%_", false) => same(&[Int, Uint], None),
        ("-_", false) => vec![sig(&[Int], Int), sig(&[Double], Double)],
        ("!_", false) => vec![sig(&[Bool], Bool)],
        ("_&&_", false) | ("_||_", false) => vec![sig(&[Bool, Bool], Bool)],
        ("_==_", false) | ("_!=_", false) => vec![sig(&[A, A], Bool)],
        ("_<_", false) | ("_<=_", false) | ("_>_", false) | ("_>=_", false) => {
            let mut v = same(&[Int, Uint, Double, String, Bytes, Bool, Timestamp, Duration], Some(Bool));
            for a in num.iter() {
                for b in num.iter() {
                    if a != b {
                        v.push(sig(&[a.clone(), b.clone()], Bool));
                    }
                }
            }
            v
        }
        ("_?_:_", false) => vec![sig(&[Bool, A, A], A)],
        ("@in", false) => vec![sig(&[A, la()], Bool), sig(&[A, mab()], Bool)],
        ("_[_]", false) => vec![sig(&[la(), Int], A), sig(&[mab(), A], B)],
        ("size", _) => vec![
            sig(&[String], Int),
            sig(&[Bytes], Int),
            sig(&[la()], Int),
            sig(&[mab()], Int),
        ],
        ("contains", true) | ("startsWith", true) | ("endsWith", true) => {
            vec![sig(&[String, String], Bool)]
        }
        ("matches", _) => vec![sig(&[String, String], Bool)],
        ("int", false) => conv(&[Int, Uint, Double, String, Timestamp], Int),
        ("uint", false) => conv(&[Int, Uint, Double, String], Uint),
        ("double", false) => conv(&[Int, Uint, Double, String], Double),
        ("string", false) => conv(&[Int, Uint, Double, String, Bytes, Bool, Timestamp, Duration], String),
        ("timestamp", false) => conv(&[String, Int, Timestamp], Timestamp),
        ("duration", false) => conv(&[String, Duration], Duration),
        (g, true) if super::time::Getter::from_name(g).is_some() => {
            let mut v = vec![sig(&[Timestamp], Int), sig(&[Timestamp, String], Int)];
            if super::time::Getter::from_name(g).map_or(false, |g| g.on_duration()) {
                v.push(sig(&[Duration], Int));
            }
            v
        }
        ("bytes", false) => conv(&[String, Bytes], Bytes),
        ("bool", false) => conv(&[Bool, String], Bool),
        ("dyn", false) => vec![sig(&[A], Dyn)],
        ("type", false) => vec![sig(&[A], Type(Box::new(A)))],
        ("shard_hash", false) => conv(&[Int, Uint, String, Bytes], Uint),
        _ => return None,
    };
    Some(v)
}

/// Whether any style of `name` is a known function (for "undeclared" vs "no overload" errors).
pub fn is_known_function(name: &str) -> bool {
    signatures(name, false).is_some() || signatures(name, true).is_some()
}

/// Resolves an overload: the result type, or `None` when no signature accepts `args`. Several
/// matches with different results give `dyn`.
pub fn resolve(sigs: &[Sig], args: &[Ty]) -> Option<Ty> {
    let mut result: Option<Ty> = None;
    let mut matched = false;
    for s in sigs.iter().filter(|s| s.params.len() == args.len()) {
        let mut binds: [Option<Ty>; 2] = [None, None];
        if s.params.iter().zip(args).all(|(p, a)| unify(p, a, &mut binds)) {
            let r = substitute(&s.result, &binds);
            result = Some(match (matched, result) {
                (false, _) | (_, None) => r,
                (true, Some(prev)) => {
                    if prev == r {
                        prev
                    } else {
                        Dyn
                    }
                }
            });
            matched = true;
        }
    }
    result
}
