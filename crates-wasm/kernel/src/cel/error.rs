//! CEL errors: compile errors carry a byte position in the source, evaluation errors a kind (its
//! ABI code) and a message. Both messages follow cel-go's wording where the spec names one.

/// Kinds of compile error (ABI `kernel_cel_error_kind` after a failed compile).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompileKind {
    Syntax = 1,
    Undeclared = 2,
    NoOverload = 3,
    BadRegex = 4,
    BadDeclaration = 5,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub kind: CompileKind,
    /// Byte offset into the expression.
    pub pos: u32,
    pub msg: String,
}

impl CompileError {
    pub fn new(kind: CompileKind, pos: usize, msg: String) -> Self {
        CompileError {
            kind,
            pos: pos as u32,
            msg,
        }
    }

    pub fn syntax(pos: usize, msg: String) -> Self {
        CompileError::new(CompileKind::Syntax, pos, msg)
    }
}

/// Kinds of evaluation error (ABI `kernel_cel_error_kind` after a failed evaluation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalKind {
    Overflow = 1,
    DivideByZero = 2,
    ModulusByZero = 3,
    NoOverload = 4,
    NoSuchKey = 5,
    IndexOutOfRange = 6,
    InvalidArgument = 7,
    Range = 8,
    Conversion = 9,
    Unbound = 10,
    UnknownFunction = 11,
    Regex = 12,
    ShardHashRange = 13,
    NullColumn = 14,
    BadUtf8 = 15,
    RepeatedKey = 16,
    UnsupportedKey = 17,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError {
    pub kind: EvalKind,
    pub msg: String,
}

impl EvalError {
    pub fn new(kind: EvalKind, msg: String) -> Self {
        EvalError { kind, msg }
    }

    pub fn overflow(op: &str) -> Self {
        EvalError::new(EvalKind::Overflow, format!("integer overflow in {}", op))
    }

    pub fn no_overload(func: &str, args: &[&str]) -> Self {
        EvalError::new(
            EvalKind::NoOverload,
            format!(
                "no such overload: found no matching overload for '{}' applied to '({})'",
                func,
                args.join(", ")
            ),
        )
    }
}

pub type EResult<T> = Result<T, EvalError>;
