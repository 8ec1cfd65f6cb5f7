//! Error codes returned across the ABI (see ABI.md). A batch call returns the code of the first
//! failing row and records that row; failures not tied to a row record `NO_ROW`.

/// Row index reported for errors that concern the call itself (bad descriptor, bad argument).
pub const NO_ROW: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Code {
    /// The row is null.
    NullKey = 1,
    /// An unsigned key above 2^63-1 cannot be hashed as a signed 64-bit int.
    IntOutOfRange = 2,
    /// A negative int for u64be/u32be.
    NegativeUnsigned = 3,
    /// An int above 2^32-1 for u32be.
    U32OutOfRange = 4,
    /// The column type does not fit the call or the encoding.
    UnsupportedType = 5,
    /// Unknown type or encoding code, `num_dbs == 0`, buffers outside memory or too short.
    BadArgument = 6,
    /// Offsets decrease, are negative, or point outside the values buffer.
    BadOffsets = 7,
    /// The output capacity is too small.
    OutputTooSmall = 8,
    /// A binary key given to u64be/u32be is not exactly 8/4 bytes long.
    KeyLength = 9,
    /// A CEL expression (or its declarations) does not compile; see `kernel_cel_error_*`.
    CelCompile = 10,
    /// Evaluating a CEL expression failed at the error row; see `kernel_cel_error_*`.
    CelEval = 11,
    /// A CEL routing result is not int, uint, string or bytes (direct mode: not an integer).
    CelResultType = 12,
    /// A direct-mode CEL shard id is negative or above 2^31-1.
    CelShardRange = 13,
    /// Not a live program handle.
    CelBadHandle = 14,
    /// Malformed encoded values or routing tokens.
    CelBadInput = 15,
}

/// A failed call: what went wrong and at which row (`NO_ROW` if not row-specific).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelError {
    pub code: Code,
    pub row: u32,
}

impl KernelError {
    pub fn at(code: Code, row: usize) -> Self {
        KernelError {
            code,
            row: row as u32,
        }
    }

    pub fn call(code: Code) -> Self {
        KernelError { code, row: NO_ROW }
    }
}

pub type KResult<T> = Result<T, KernelError>;
