//! CEL for routing: lexer, parser (with macros), type checker, and an evaluator that runs once
//! per row over Arrow columns (`batch`) or over one set of encoded values (`codec`). The custom
//! function `shard_hash(int|uint|string|bytes) -> uint` is the routing hash of §4.1.
//!
//! Scope: the CEL core language with timestamps and durations and protobuf messages of types the
//! host declares, without extension libraries (see ABI.md, "CEL").

pub mod ast;
pub mod batch;
pub mod codec;
pub mod compile;
pub mod error;
pub mod eval;
pub mod fast;
pub mod lexer;
pub mod parser;
pub mod proto;
pub mod regex;
pub mod select;
pub mod time;
pub mod types;
pub mod value;

#[cfg(test)]
mod tests;

use compile::{compile, Compiled, Env};
use core::hash::{BuildHasherDefault, Hasher};
use error::{CompileError, EResult};
use std::collections::HashMap;
use types::Ty;
use value::Value;

/// A categorical routing token, compared by value and kind (ints match across int and uint
/// results, as Python ints do).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RouteKey {
    Int(i128),
    Str(Vec<u8>),
    Bytes(Vec<u8>),
}

impl RouteKey {
    pub fn of(v: &Value) -> Option<RouteKey> {
        match v {
            Value::Int(i) => Some(RouteKey::Int(*i as i128)),
            Value::Uint(u) => Some(RouteKey::Int(*u as i128)),
            Value::Str(b) => Some(RouteKey::Str(b.bytes().to_vec())),
            Value::Bytes(b) => Some(RouteKey::Bytes(b.bytes().to_vec())),
            _ => None,
        }
    }
}

/// FNV-1a: a fast, deterministic hash for short routing tokens (no per-process keys needed:
/// the tokens come from the config, not from an adversary).
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf29ce484222325 } else { self.0 };
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        self.0 = h;
    }
}

type FnvMap<K> = HashMap<K, u32, BuildHasherDefault<Fnv>>;

/// Categorical routing tokens by kind, looked up without allocating.
#[derive(Default)]
pub struct RoutingTable {
    ints: FnvMap<i128>,
    strs: FnvMap<Vec<u8>>,
    bytes: FnvMap<Vec<u8>>,
}

impl RoutingTable {
    pub fn int(&self, v: i128) -> Option<u32> {
        self.ints.get(&v).copied()
    }

    pub fn str(&self, v: &[u8]) -> Option<u32> {
        self.strs.get(v).copied()
    }

    pub fn bytes(&self, v: &[u8]) -> Option<u32> {
        self.bytes.get(v).copied()
    }
}

/// A compiled expression with its declarations, ready to evaluate many times.
pub struct Program {
    compiled: Compiled,
    pub env: Env,
    /// Typed closures for batch evaluation when every node has a primitive static type.
    pub fast: Option<fast::Fast>,
    /// `col == "lit" ? A : B` routed without evaluating per row.
    pub select: Option<select::Select>,
    /// Categorical routing: token -> shard index (`routing_values`); `None` for direct mode.
    pub routing: Option<RoutingTable>,
}

impl Program {
    pub fn compile(src: &str, env: Env) -> Result<Program, CompileError> {
        let compiled = compile(src, &env)?;
        let decls: Vec<Ty> = env.vars.iter().map(|d| d.ty.clone()).collect();
        let fast = if env.unchecked { None } else { fast::compile(&compiled.root, &decls) };
        let select = if env.unchecked { None } else { select::Select::recognize(&compiled.root, &decls) };
        Ok(Program {
            compiled,
            env,
            fast,
            select,
            routing: None,
        })
    }

    /// The static result type (`dyn` when only evaluation can tell).
    pub fn result_type(&self) -> &Ty {
        &self.compiled.ty
    }

    pub fn root(&self) -> &compile::Node {
        &self.compiled.root
    }

    /// A fresh activation: one slot per declared variable, then the macro variables.
    pub fn slots<'a>(&self) -> eval::Slots<'a> {
        vec![None; self.compiled.slots]
    }

    /// Evaluates with `vars` bound to the declared variables in order (`None` = unbound).
    pub fn eval<'a>(&'a self, vars: Vec<Option<Value<'a>>>) -> EResult<Value<'a>> {
        let mut s = self.slots();
        for (slot, v) in s.iter_mut().zip(vars) {
            *slot = v;
        }
        eval::eval(&self.compiled.root, &mut s)
    }

    /// Sets the categorical routing tokens (their order gives the shard index).
    pub fn set_routing(&mut self, tokens: Vec<RouteKey>) {
        let mut t = RoutingTable::default();
        for (i, k) in tokens.into_iter().enumerate() {
            let i = i as u32;
            match k {
                RouteKey::Int(v) => t.ints.entry(v).or_insert(i),
                RouteKey::Str(v) => t.strs.entry(v).or_insert(i),
                RouteKey::Bytes(v) => t.bytes.entry(v).or_insert(i),
            };
        }
        self.routing = Some(t);
    }
}
