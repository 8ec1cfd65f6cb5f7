//! From the parsed expression to an executable tree: names are resolved (declared variables,
//! qualified names and the container, macro variables, type denotations), operators and
//! functions become dedicated nodes, and, when checking is on, every node is type-checked
//! against the overload table. With checking off (conformance `disable_check`), unknown names
//! and functions become runtime errors instead.

use super::ast::{Expr, ExprKind, MacroKind};
use super::error::{CompileError, CompileKind};
use super::regex::Regex;
use super::types::{is_known_function, join_lenient, resolve, signatures, Ty};
use super::proto::{Registry, Wkt};
use super::time::Getter;
use super::value::TypeName;
use std::rc::Rc;

/// A declared variable (a `cel_columns` entry, or a conformance binding).
#[derive(Clone, Debug)]
pub struct Decl {
    pub name: String,
    pub ty: Ty,
}

#[derive(Clone, Debug, Default)]
pub struct Env {
    pub vars: Vec<Decl>,
    /// Namespace for name resolution (`a.b` resolves `x` as `a.b.x`, `a.x`, `x`).
    pub container: String,
    /// Type-check (default). Off only for conformance cases that ask for it.
    pub unchecked: bool,
    /// Declared protobuf message and enum types.
    pub types: Rc<Registry>,
}

#[derive(Clone, Debug)]
pub enum Const {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(Box<str>),
    Bytes(Box<[u8]>),
    Type(TypeName),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Size,
    Contains,
    StartsWith,
    EndsWith,
    Matches,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Bool,
    Dyn,
    Type,
    ShardHash,
    Timestamp,
    Duration,
    /// A calendar getter of a timestamp (optionally in a time zone) or duration.
    Get(Getter),
}

#[derive(Debug)]
pub struct CompNode {
    pub kind: MacroKind,
    pub slot: usize,
    pub range: Node,
    pub body: Node,
    pub transform: Option<Node>,
}

#[derive(Debug)]
pub enum Node {
    Const(Const),
    Var(usize),
    /// An undeclared name in an unchecked expression: an error when evaluated.
    Unbound(Box<str>),
    /// A call to an unknown function in an unchecked expression: an error when evaluated.
    Unknown(Box<str>),
    Select(Box<Node>, Box<str>),
    Has(Box<Node>, Box<str>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Neg(Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    Arith(ArOp, Box<Node>, Box<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    In(Box<Node>, Box<Node>),
    Index(Box<Node>, Box<Node>),
    Call(Func, Vec<Node>),
    /// `s.matches(re)` with a constant pattern, compiled once.
    MatchConst(Box<Node>, Rc<Regex>),
    List(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// A message literal: the type (index into the registry) and (field index, value).
    Struct(Rc<Registry>, usize, Vec<(usize, Node)>),
    /// A literal of a well-known type that is a CEL value (`google.protobuf.Int32Value{value: 1}`).
    WktStruct(Wkt, Vec<(Box<str>, Node)>),
    Comp(Box<CompNode>),
}

pub struct Compiled {
    pub root: Node,
    pub ty: Ty,
    /// Activation size: declared variables, then macro variables.
    pub slots: usize,
}

pub fn compile(src: &str, env: &Env) -> Result<Compiled, CompileError> {
    let ast = super::parser::parse(src)?;
    let mut c = Compiler {
        env,
        src,
        locals: Vec::new(),
        slots: env.vars.len(),
    };
    let (root, ty) = c.expr(&ast)?;
    Ok(Compiled {
        root,
        ty,
        slots: c.slots,
    })
}

struct Compiler<'e> {
    env: &'e Env,
    src: &'e str,
    /// Macro variables in scope, innermost last: (name, slot, type).
    locals: Vec<(String, usize, Ty)>,
    slots: usize,
}

const TYPE_DENOTATIONS: &[&str] = &[
    "bool",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
];

fn type_of_denotation(t: TypeName) -> Ty {
    Ty::Type(Box::new(match t {
        TypeName::Null => Ty::Null,
        TypeName::Bool => Ty::Bool,
        TypeName::Int => Ty::Int,
        TypeName::Uint => Ty::Uint,
        TypeName::Double => Ty::Double,
        TypeName::String => Ty::String,
        TypeName::Bytes => Ty::Bytes,
        TypeName::List => Ty::list(Ty::Dyn),
        TypeName::Map => Ty::map(Ty::Dyn, Ty::Dyn),
        TypeName::Type => Ty::Type(Box::new(Ty::Dyn)),
        TypeName::Timestamp => Ty::Timestamp,
        TypeName::Duration => Ty::Duration,
        TypeName::Message(_) => Ty::Dyn,
    }))
}

impl<'e> Compiler<'e> {
    fn checking(&self) -> bool {
        !self.env.unchecked
    }

    fn text(&self, e: &Expr) -> &str {
        self.src.get(e.start as usize..e.end as usize).unwrap_or("")
    }

    fn undeclared(&self, name: &str, pos: u32) -> CompileError {
        CompileError::new(
            CompileKind::Undeclared,
            pos as usize,
            format!(
                "undeclared reference to '{}' (in container '{}')",
                name, self.env.container
            ),
        )
    }

    fn expr(&mut self, e: &Expr) -> Result<(Node, Ty), CompileError> {
        Ok(match &e.kind {
            ExprKind::Null => (Node::Const(Const::Null), Ty::Null),
            ExprKind::Bool(b) => (Node::Const(Const::Bool(*b)), Ty::Bool),
            ExprKind::Int(i) => (Node::Const(Const::Int(*i)), Ty::Int),
            ExprKind::IntMin => (Node::Const(Const::Int(i64::MIN)), Ty::Int),
            ExprKind::Uint(u) => (Node::Const(Const::Uint(*u)), Ty::Uint),
            ExprKind::Double(d) => (Node::Const(Const::Double(*d)), Ty::Double),
            ExprKind::Str(s) => (Node::Const(Const::Str(s.as_str().into())), Ty::String),
            ExprKind::Bytes(b) => (Node::Const(Const::Bytes(b.as_slice().into())), Ty::Bytes),
            ExprKind::Ident(name) => {
                if let Some(r) = self.qualified(e) {
                    return Ok(r);
                }
                if let Some((_, slot, ty)) = self.locals.iter().rev().find(|(n, _, _)| n == name) {
                    return Ok((Node::Var(*slot), ty.clone()));
                }
                if TYPE_DENOTATIONS.contains(&name.as_str()) {
                    let t = TypeName::from_name(name).unwrap_or(TypeName::Type);
                    return Ok((Node::Const(Const::Type(t)), type_of_denotation(t)));
                }
                if self.checking() {
                    return Err(self.undeclared(name.trim_start_matches('.'), e.pos));
                }
                (Node::Unbound(name.as_str().into()), Ty::Dyn)
            }
            ExprKind::Select(operand, field) => {
                if let Some(r) = self.qualified(e) {
                    return Ok(r);
                }
                let (n, t) = self.expr(operand)?;
                let ty = self.field_type(&t, e.pos)?;
                (Node::Select(Box::new(n), field.as_str().into()), ty)
            }
            ExprKind::Has(operand, field) => {
                let (n, t) = self.expr(operand)?;
                self.field_type(&t, e.pos)?;
                (Node::Has(Box::new(n), field.as_str().into()), Ty::Bool)
            }
            ExprKind::List(items) => {
                let mut nodes = Vec::with_capacity(items.len());
                let mut elem = Ty::Free;
                for it in items {
                    let (n, t) = self.expr(it)?;
                    elem = join_lenient(&elem, &t);
                    nodes.push(n);
                }
                (Node::List(nodes), Ty::list(elem))
            }
            ExprKind::Map(entries) => {
                let mut nodes = Vec::with_capacity(entries.len());
                let (mut kt, mut vt) = (Ty::Free, Ty::Free);
                for (k, v) in entries {
                    let (kn, ktt) = self.expr(k)?;
                    let (vn, vtt) = self.expr(v)?;
                    kt = join_lenient(&kt, &ktt);
                    vt = join_lenient(&vt, &vtt);
                    nodes.push((kn, vn));
                }
                (Node::Map(nodes), Ty::map(kt, vt))
            }
            ExprKind::Struct(name, fields) => self.message_literal(e, name, fields)?,
            ExprKind::Call(name, args) => self.call(e, name, None, args)?,
            ExprKind::Method(target, name, args) => self.call(e, name, Some(target), args)?,
            ExprKind::Comp(c) => {
                let (range, rt) = self.expr(&c.range)?;
                let var_ty = match &rt {
                    Ty::List(el) => (**el).clone(),
                    Ty::Map(k, _) => (**k).clone(),
                    Ty::Dyn | Ty::Free => Ty::Dyn,
                    other => {
                        if self.checking() {
                            return Err(CompileError::new(
                                CompileKind::NoOverload,
                                c.range.start as usize,
                                format!(
                                    "expression of type '{}' cannot be the range of a comprehension (must be list or map)",
                                    other.name()
                                ),
                            ));
                        }
                        Ty::Dyn
                    }
                };
                let slot = self.slots;
                self.slots += 1;
                self.locals.push((c.var.clone(), slot, var_ty.clone()));
                let (body, bt) = self.expr(&c.body)?;
                let transform = match &c.transform {
                    Some(t) => Some(self.expr(t)?),
                    None => None,
                };
                self.locals.pop();
                let pred_is_body = !(c.kind == MacroKind::Map && transform.is_none());
                if pred_is_body && self.checking() && !matches!(bt, Ty::Bool | Ty::Dyn | Ty::Free) {
                    return Err(CompileError::new(
                        CompileKind::NoOverload,
                        c.body.start as usize,
                        format!("the predicate of a macro must be bool, got '{}'", bt.name()),
                    ));
                }
                let ty = match c.kind {
                    MacroKind::All | MacroKind::Exists | MacroKind::ExistsOne => Ty::Bool,
                    MacroKind::Filter => Ty::list(var_ty),
                    MacroKind::Map => Ty::list(match &transform {
                        Some((_, tt)) => tt.clone(),
                        None => bt.clone(),
                    }),
                };
                let node = Node::Comp(Box::new(CompNode {
                    kind: c.kind,
                    slot,
                    range,
                    body,
                    transform: transform.map(|(n, _)| n),
                }));
                (node, ty)
            }
        })
    }

    /// The type of `x.f` for `x: t`: map values, or `dyn`.
    fn field_type(&self, t: &Ty, pos: u32) -> Result<Ty, CompileError> {
        match t {
            Ty::Map(k, v) if matches!(**k, Ty::String | Ty::Dyn | Ty::Free) => Ok((**v).clone()),
            Ty::Dyn | Ty::Free => Ok(Ty::Dyn),
            _ if !self.checking() => Ok(Ty::Dyn),
            other => Err(CompileError::new(
                CompileKind::NoOverload,
                pos as usize,
                format!("type '{}' does not support field selection", other.name()),
            )),
        }
    }

    /// Resolves `a.b.c` against declared (possibly dotted) variable names, longest prefix
    /// first, through the container. `None` when it is not a declared name.
    fn qualified(&self, e: &Expr) -> Option<(Node, Ty)> {
        let mut segs: Vec<&str> = Vec::new();
        let mut cur = e;
        loop {
            match &cur.kind {
                ExprKind::Select(inner, f) => {
                    segs.push(f);
                    cur = inner;
                }
                ExprKind::Ident(n) => {
                    segs.push(n);
                    break;
                }
                _ => return None,
            }
        }
        segs.reverse();
        let first = segs[0];
        let absolute = first.starts_with('.');
        if !absolute && self.locals.iter().any(|(n, _, _)| n == first) {
            return None;
        }
        let segs: Vec<&str> = segs.iter().map(|s| s.trim_start_matches('.')).collect();
        let mut prefixes: Vec<String> = Vec::new();
        if !absolute && !self.env.container.is_empty() {
            let parts: Vec<&str> = self.env.container.split('.').collect();
            for k in (1..=parts.len()).rev() {
                prefixes.push(format!("{}.", parts[..k].join(".")));
            }
        }
        prefixes.push(String::new());
        for k in (1..=segs.len()).rev() {
            let name = segs[..k].join(".");
            for p in &prefixes {
                let full = format!("{}{}", p, name);
                if let Some(i) = self.env.vars.iter().position(|d| d.name == full) {
                    let mut node = Node::Var(i);
                    let mut ty = self.env.vars[i].ty.clone();
                    for f in &segs[k..] {
                        ty = match self.field_type(&ty, e.pos) {
                            Ok(t) => t,
                            Err(_) => Ty::Dyn,
                        };
                        node = Node::Select(Box::new(node), (*f).into());
                    }
                    return Some((node, ty));
                }
            }
        }
        // Qualified type names (`google.protobuf.Timestamp`, declared messages) and enum values.
        let name = segs.join(".");
        prefixes.iter().find_map(|p| {
            let full = format!("{}{}", p, name);
            let types = &self.env.types;
            if let Some(t @ (TypeName::Timestamp | TypeName::Duration)) = TypeName::from_name(&full) {
                return Some((Node::Const(Const::Type(t)), type_of_denotation(t)));
            }
            if full == "google.protobuf.NullValue.NULL_VALUE" {
                return Some((Node::Const(Const::Null), Ty::Null));
            }
            if let Some(i) = types.message(&full) {
                let t = TypeName::Message(types.messages[i].name);
                return Some((Node::Const(Const::Type(t)), type_of_denotation(t)));
            }
            types.enum_value(&full).map(|v| (Node::Const(Const::Int(v as i64)), Ty::Int))
        })
    }

    /// The full names `name` may stand for inside the container, most specific first.
    fn candidates(&self, name: &str) -> Vec<String> {
        if let Some(abs) = name.strip_prefix('.') {
            return vec![abs.to_string()];
        }
        let parts: Vec<&str> = self.env.container.split('.').filter(|p| !p.is_empty()).collect();
        let mut out: Vec<String> = (1..=parts.len()).rev().map(|k| format!("{}.{}", parts[..k].join("."), name)).collect();
        out.push(name.to_string());
        out
    }

    /// `Type{field: value, ...}`.
    fn message_literal(&mut self, e: &Expr, name: &str, fields: &[(String, Expr)]) -> Result<(Node, Ty), CompileError> {
        let types = self.env.types.clone();
        let full = self.candidates(name).into_iter().find(|n| types.message(n).is_some() || Wkt::of(n).is_some());
        let full = match full {
            Some(f) => f,
            None => {
                return Err(CompileError::new(
                    CompileKind::Undeclared,
                    e.pos as usize,
                    format!("undeclared message type '{}' (in container '{}'): declare it with @message", name, self.env.container),
                ))
            }
        };
        if let Some(ty) = types.message(&full) {
            let mut out = Vec::with_capacity(fields.len());
            for (f, v) in fields {
                let i = types.messages[ty].fields.iter().position(|d| &*d.name == f.as_str()).ok_or_else(|| {
                    CompileError::new(CompileKind::Undeclared, v.start as usize, format!("no such field '{}' in message '{}'", f, full))
                })?;
                out.push((i, self.expr(v)?.0));
            }
            return Ok((Node::Struct(types, ty, out), Ty::Dyn));
        }
        let w = Wkt::of(&full).ok_or_else(|| self.undeclared(name, e.pos))?;
        let mut out = Vec::with_capacity(fields.len());
        for (f, v) in fields {
            out.push((f.as_str().into(), self.expr(v)?.0));
        }
        let ty = match w {
            Wkt::Timestamp => Ty::Timestamp,
            Wkt::Duration => Ty::Duration,
            _ => Ty::Dyn,
        };
        Ok((Node::WktStruct(w, out), ty))
    }

    fn no_overload(&self, e: &Expr, name: &str, args: &[&Expr], tys: &[Ty]) -> CompileError {
        let shown: Vec<String> = tys.iter().map(|t| t.name()).collect();
        let mut msg = format!(
            "found no matching overload for '{}' applied to '({})'",
            name,
            shown.join(", ")
        );
        let arith = ["_+_", "_-_", "_*_", "_/_", "_%_"];
        if arith.contains(&name) && tys.len() == 2 && args.len() == 2 {
            let int_uint = matches!((&tys[0], &tys[1]), (Ty::Int, Ty::Uint) | (Ty::Uint, Ty::Int));
            if int_uint {
                let op = &name[1..name.len() - 1];
                let (l, r) = (self.text(args[0]), self.text(args[1]));
                let (int_side, uint_is_left) = if tys[0] == Ty::Int { (0, false) } else { (1, true) };
                let fix1 = if int_side == 0 {
                    format!("uint({}) {} {}", l, op, r)
                } else {
                    format!("{} {} uint({})", l, op, r)
                };
                let uint_text = if uint_is_left { l } else { r };
                let as_int = uint_text.trim_end_matches(|c| c == 'u' || c == 'U');
                let literal = !as_int.is_empty() && as_int.len() < uint_text.len() && as_int.bytes().all(|b| b.is_ascii_hexdigit() || b == b'x' || b == b'X');
                let fix2 = if literal {
                    if uint_is_left {
                        format!("{} {} {}", as_int, op, r)
                    } else {
                        format!("{} {} {}", l, op, as_int)
                    }
                } else if uint_is_left {
                    format!("int({}) {} {}", l, op, r)
                } else {
                    format!("{} {} int({})", l, op, r)
                };
                msg.push_str(&format!(
                    "; CEL never mixes int and uint: write `{}` or `{}`",
                    fix1, fix2
                ));
            }
        }
        CompileError::new(CompileKind::NoOverload, e.pos as usize, msg)
    }

    fn call(&mut self, e: &Expr, name: &str, target: Option<&Expr>, args: &[Expr]) -> Result<(Node, Ty), CompileError> {
        let receiver = target.is_some();
        let mut all: Vec<&Expr> = Vec::new();
        if let Some(t) = target {
            all.push(t);
        }
        all.extend(args.iter());
        let sigs = signatures(name, receiver);
        if sigs.is_none() {
            if self.checking() {
                if is_known_function(name) {
                    let mut tys = Vec::new();
                    for a in &all {
                        tys.push(self.expr(a)?.1);
                    }
                    return Err(self.no_overload(e, name, &all, &tys));
                }
                return Err(self.undeclared(name, e.pos));
            }
            return Ok((Node::Unknown(name.into()), Ty::Dyn));
        }
        let mut nodes = Vec::with_capacity(all.len());
        let mut tys = Vec::with_capacity(all.len());
        for a in &all {
            let (n, t) = self.expr(a)?;
            nodes.push(n);
            tys.push(t);
        }
        let ty = match sigs.as_ref().and_then(|s| resolve(s, &tys)) {
            Some(t) => t,
            None if self.checking() => return Err(self.no_overload(e, name, &all, &tys)),
            None => Ty::Dyn,
        };
        let arity = nodes.len();
        let mut it = nodes.into_iter();
        let mut next = || Box::new(it.next().unwrap_or(Node::Const(Const::Null)));
        let node = match (name, arity) {
            ("_&&_", 2) => Node::And(next(), next()),
            ("_||_", 2) => Node::Or(next(), next()),
            ("!_", 1) => Node::Not(next()),
            ("-_", 1) => Node::Neg(next()),
            ("_?_:_", 3) => Node::Cond(next(), next(), next()),
            ("_+_", 2) => Node::Arith(ArOp::Add, next(), next()),
            ("_-_", 2) => Node::Arith(ArOp::Sub, next(), next()),
            ("_*_", 2) => Node::Arith(ArOp::Mul, next(), next()),
            ("_/_", 2) => Node::Arith(ArOp::Div, next(), next()),
            ("_%_", 2) => Node::Arith(ArOp::Rem, next(), next()),
            ("_==_", 2) => Node::Cmp(CmpOp::Eq, next(), next()),
            ("_!=_", 2) => Node::Cmp(CmpOp::Ne, next(), next()),
            ("_<_", 2) => Node::Cmp(CmpOp::Lt, next(), next()),
            ("_<=_", 2) => Node::Cmp(CmpOp::Le, next(), next()),
            ("_>_", 2) => Node::Cmp(CmpOp::Gt, next(), next()),
            ("_>=_", 2) => Node::Cmp(CmpOp::Ge, next(), next()),
            ("@in", 2) => Node::In(next(), next()),
            ("_[_]", 2) => Node::Index(next(), next()),
            ("matches", 2) => {
                let s = next();
                let pat = next();
                if let Node::Const(Const::Str(p)) = &*pat {
                    let at = all.get(1).map_or(e.pos, |a| a.start);
                    let re = Regex::new(p).map_err(|m| {
                        CompileError::new(
                            CompileKind::BadRegex,
                            at as usize,
                            format!("invalid regular expression {:?}: {}", &**p, m),
                        )
                    })?;
                    Node::MatchConst(s, Rc::new(re))
                } else {
                    Node::Call(Func::Matches, vec![*s, *pat])
                }
            }
            _ => {
                let f = match name {
                    "size" => Func::Size,
                    "contains" => Func::Contains,
                    "startsWith" => Func::StartsWith,
                    "endsWith" => Func::EndsWith,
                    "int" => Func::Int,
                    "uint" => Func::Uint,
                    "double" => Func::Double,
                    "string" => Func::String,
                    "bytes" => Func::Bytes,
                    "bool" => Func::Bool,
                    "dyn" => Func::Dyn,
                    "type" => Func::Type,
                    "shard_hash" => Func::ShardHash,
                    "timestamp" => Func::Timestamp,
                    "duration" => Func::Duration,
                    g => match Getter::from_name(g) {
                        Some(g) if receiver => Func::Get(g),
                        _ => return Ok((Node::Unknown(name.into()), Ty::Dyn)),
                    },
                };
                Node::Call(f, it.collect())
            }
        };
        Ok((node, ty))
    }
}
