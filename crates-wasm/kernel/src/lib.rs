//! shardy routing kernel: one implementation of the routing rules for every host (Bun, Deno, Node,
//! edge workers, Python through wasmtime). XXH3-64 routing over canonical key bytes, key encodings,
//! SipHash-1-3 and CRC32, as batch calls over Arrow buffers. The ABI is specified in ABI.md.
//!
//! The pure modules below work on safe slices and are unit-tested natively (`cargo test`); the
//! `exports` module binds them to wasm linear memory and exists only on wasm32.

pub mod batch;
pub mod cel;
pub mod column;
pub mod crc32;
pub mod errors;
pub mod keys;
pub mod siphash;
pub mod xxh3;

#[cfg(test)]
mod tests;

/// Reported by `kernel_abi_version`; bump on any incompatible ABI change.
pub const ABI_VERSION: u32 = 2;

#[cfg(target_arch = "wasm32")]
mod exports {
    use crate::batch;
    use crate::column::{bitmap_bytes, Bitmap, Column, ColumnType, Descriptor};
    use crate::errors::{Code, KResult, KernelError};
    use crate::keys::Encoding;
    use core::sync::atomic::{AtomicU32, Ordering};
    use std::alloc::{alloc, dealloc, Layout};

    static ERROR_ROW: AtomicU32 = AtomicU32::new(0);

    const ALIGN: usize = 8;

    fn layout(size: u32) -> Option<Layout> {
        Layout::from_size_align((size as usize).max(1), ALIGN).ok()
    }

    /// An 8-byte aligned block of `size` bytes, 0 when memory cannot grow.
    #[no_mangle]
    pub extern "C" fn kernel_alloc(size: u32) -> u32 {
        match layout(size) {
            // SAFETY: the layout has a non-zero size.
            Some(l) => unsafe { alloc(l) as usize as u32 },
            None => 0,
        }
    }

    /// Frees a block from `kernel_alloc`; `size` must be the size it was allocated with.
    #[no_mangle]
    pub extern "C" fn kernel_free(ptr: u32, size: u32) {
        if let (true, Some(l)) = (ptr != 0, layout(size)) {
            // SAFETY: the host passes back a pointer and size it got from kernel_alloc.
            unsafe { dealloc(ptr as usize as *mut u8, l) }
        }
    }

    #[no_mangle]
    pub extern "C" fn kernel_abi_version() -> u32 {
        crate::ABI_VERSION
    }

    #[no_mangle]
    pub extern "C" fn kernel_error_row() -> u32 {
        ERROR_ROW.load(Ordering::Relaxed)
    }

    /// A byte range of linear memory the call reads or writes.
    #[derive(Clone, Copy)]
    struct Region {
        ptr: u32,
        len: usize,
    }

    impl Region {
        /// Checks that `len` bytes at `ptr` lie inside linear memory (0 is never a valid pointer).
        fn new(ptr: u32, len: usize) -> KResult<Region> {
            let memory = core::arch::wasm32::memory_size(0) as u64 * 65536;
            if len > 0 && (ptr == 0 || ptr as u64 + len as u64 > memory) {
                return Err(KernelError::call(Code::BadArgument));
            }
            Ok(Region { ptr, len })
        }

        fn aligned(self, align: usize) -> KResult<Region> {
            if self.ptr as usize % align != 0 {
                return Err(KernelError::call(Code::BadArgument));
            }
            Ok(self)
        }

        fn overlaps(self, other: Region) -> bool {
            let (a, b) = (self.ptr as usize, other.ptr as usize);
            self.len > 0 && other.len > 0 && a < b + other.len && b < a + self.len
        }

        /// SAFETY: the caller must not hold a mutable view of an overlapping region.
        unsafe fn bytes<'a>(self) -> &'a [u8] {
            if self.len == 0 {
                &[]
            } else {
                core::slice::from_raw_parts(self.ptr as usize as *const u8, self.len)
            }
        }

        /// SAFETY: the region must be aligned for `T` and overlap no other live view.
        unsafe fn typed_mut<'a, T>(self) -> &'a mut [T] {
            let n = self.len / core::mem::size_of::<T>();
            if n == 0 {
                &mut []
            } else {
                core::slice::from_raw_parts_mut(self.ptr as usize as *mut T, n)
            }
        }
    }

    /// A column bound to linear memory, with the regions it reads (for the overlap check).
    struct Bound<'a> {
        col: Column<'a>,
        reads: [Region; 4],
    }

    impl<'a> Bound<'a> {
        /// Fails if `out` overlaps anything the call reads.
        fn disjoint_from(&self, out: Region) -> KResult<()> {
            if self.reads.iter().any(|r| r.overlaps(out)) {
                return Err(KernelError::call(Code::BadArgument));
            }
            Ok(())
        }
    }

    fn bind<'a>(desc_ptr: u32) -> KResult<Bound<'a>> {
        let bad = || KernelError::call(Code::BadArgument);
        let desc_region = Region::new(desc_ptr, Descriptor::SIZE)?;
        let mut raw = [0u8; Descriptor::SIZE];
        // SAFETY: the region was checked to lie in memory.
        raw.copy_from_slice(unsafe { desc_region.bytes() });
        let d = Descriptor::parse(&raw);
        let ty = ColumnType::from_code(d.type_code).ok_or_else(bad)?;
        let len = d.len as usize;
        let values = Region::new(d.values_ptr, d.values_len as usize)?;
        let offsets = match ty.offset_width() {
            Some(w) => Region::new(
                d.offsets_ptr,
                len.checked_add(1)
                    .and_then(|n| n.checked_mul(w))
                    .ok_or_else(bad)?,
            )?,
            None => Region::new(0, 0)?,
        };
        let bit_offset = d.validity_bit_offset as usize;
        let validity = if d.validity_ptr == 0 {
            Region::new(0, 0)?
        } else {
            Region::new(
                d.validity_ptr,
                bitmap_bytes(bit_offset, len).ok_or_else(bad)?,
            )?
        };
        // SAFETY: every region lies in memory; outputs are checked against them before any write.
        let col = unsafe {
            let bitmap = if d.validity_ptr == 0 {
                None
            } else {
                Some(Bitmap::new(validity.bytes(), bit_offset))
            };
            Column::new(
                ty,
                len,
                values.bytes(),
                offsets.bytes(),
                bitmap,
                d.values_base,
            )?
            .with_values_bit_offset(d.values_bit_offset as usize)?
        };
        Ok(Bound {
            col,
            reads: [desc_region, values, offsets, validity],
        })
    }

    /// An output region of `count` elements of `T`, inside memory, aligned, not overlapping inputs.
    fn output<'a, T>(bound: &Bound, ptr: u32, count: usize) -> KResult<&'a mut [T]> {
        let size = core::mem::size_of::<T>();
        let bytes = count
            .checked_mul(size)
            .ok_or_else(|| KernelError::call(Code::BadArgument))?;
        let region = Region::new(ptr, bytes)?.aligned(size)?;
        bound.disjoint_from(region)?;
        // SAFETY: checked in memory, aligned, and disjoint from every input view.
        Ok(unsafe { region.typed_mut::<T>() })
    }

    /// Turns a result into the ABI's return code, recording the failing row.
    fn finish(result: KResult<()>) -> i32 {
        match result {
            Ok(()) => 0,
            Err(e) => {
                ERROR_ROW.store(e.row, Ordering::Relaxed);
                e.code as i32
            }
        }
    }

    #[no_mangle]
    pub extern "C" fn kernel_route_hash(col: u32, num_dbs: u32, out: u32) -> i32 {
        finish((|| {
            let b = bind(col)?;
            let out = output::<i32>(&b, out, b.col.len)?;
            batch::route_hash(&b.col, num_dbs, out)
        })())
    }

    #[no_mangle]
    pub extern "C" fn kernel_xxh3_batch(col: u32, out: u32) -> i32 {
        finish((|| {
            let b = bind(col)?;
            let out = output::<u64>(&b, out, b.col.len)?;
            batch::xxh3_batch(&b.col, out)
        })())
    }

    #[no_mangle]
    pub extern "C" fn kernel_siphash13_batch(col: u32, out: u32) -> i32 {
        finish((|| {
            let b = bind(col)?;
            let out = output::<u64>(&b, out, b.col.len)?;
            batch::siphash13_batch(&b.col, out)
        })())
    }

    #[no_mangle]
    pub extern "C" fn kernel_crc32_batch(col: u32, out: u32) -> i32 {
        finish((|| {
            let b = bind(col)?;
            let out = output::<u32>(&b, out, b.col.len)?;
            batch::crc32_batch(&b.col, out)
        })())
    }

    #[no_mangle]
    pub extern "C" fn kernel_encode_keys(
        col: u32,
        encoding: u32,
        out_offsets: u32,
        out_data: u32,
        out_cap: u32,
    ) -> i32 {
        finish((|| {
            let bad = || KernelError::call(Code::BadArgument);
            let enc = Encoding::from_code(encoding).ok_or_else(bad)?;
            if out_cap > i32::MAX as u32 {
                return Err(bad());
            }
            let b = bind(col)?;
            let rows = b.col.len.checked_add(1).ok_or_else(bad)?;
            let offsets_region = Region::new(out_offsets, rows.checked_mul(4).ok_or_else(bad)?)?;
            let data_region = Region::new(out_data, out_cap as usize)?;
            if offsets_region.overlaps(data_region) {
                return Err(bad());
            }
            let offsets = output::<i32>(&b, out_offsets, rows)?;
            let data = output::<u8>(&b, out_data, out_cap as usize)?;
            batch::encode_keys(&b.col, enc, offsets, data).map(|_| ())
        })())
    }

    /// A checked view of `len` bytes at `ptr`; an invalid range traps, as these calls have no
    /// error channel and the host only passes ranges it allocated.
    fn scalar_input<'a>(ptr: u32, len: u32) -> &'a [u8] {
        match Region::new(ptr, len as usize) {
            // SAFETY: checked to lie in memory; nothing is written during the call.
            Ok(r) => unsafe { r.bytes() },
            Err(_) => core::arch::wasm32::unreachable(),
        }
    }

    // ---- CEL (ABI.md, "CEL") ----

    use crate::cel::batch::{self as celbatch, BatchError};
    use crate::cel::codec::{self, Reader};
    use crate::cel::error::CompileKind;
    use crate::cel::{Program, RouteKey};
    use crate::cel::value::Value;
    use core::cell::{Cell, RefCell};

    thread_local! {
        static PROGRAMS: RefCell<Vec<Option<Program>>> = RefCell::new(Vec::new());
        static TEXT: RefCell<Vec<u8>> = RefCell::new(Vec::new());
        static CEL_ERROR: Cell<(u32, u32)> = Cell::new((0, 0));
    }

    fn set_text(bytes: &[u8]) {
        TEXT.with(|t| {
            let mut t = t.borrow_mut();
            t.clear();
            t.extend_from_slice(bytes);
        });
    }

    /// Records a CEL failure: kind, position (compile) or column (call), message.
    fn cel_fail(code: Code, row: u32, kind: u32, pos: u32, msg: &str) -> i32 {
        ERROR_ROW.store(row, Ordering::Relaxed);
        CEL_ERROR.with(|c| c.set((kind, pos)));
        set_text(msg.as_bytes());
        code as i32
    }

    fn input<'a>(ptr: u32, len: u32) -> KResult<&'a [u8]> {
        // SAFETY: checked to lie in memory; nothing writes it during the call.
        Region::new(ptr, len as usize).map(|r| unsafe { r.bytes() })
    }

    fn with_program<R>(h: u32, f: impl FnOnce(&mut Program) -> R) -> Option<R> {
        PROGRAMS.with(|p| {
            let mut p = p.borrow_mut();
            match p.get_mut((h as usize).wrapping_sub(1)) {
                Some(Some(prog)) => Some(f(prog)),
                _ => None,
            }
        })
    }

    fn bad_handle(h: u32) -> i32 {
        cel_fail(Code::CelBadHandle, NO_ROW_U32, 0, 0, &format!("CEL program handle {} is not live", h))
    }

    const NO_ROW_U32: u32 = crate::errors::NO_ROW;

    #[no_mangle]
    pub extern "C" fn kernel_cel_error_kind() -> u32 {
        CEL_ERROR.with(|c| c.get().0)
    }

    #[no_mangle]
    pub extern "C" fn kernel_cel_error_pos() -> u32 {
        CEL_ERROR.with(|c| c.get().1)
    }

    #[no_mangle]
    pub extern "C" fn kernel_cel_text_ptr() -> u32 {
        TEXT.with(|t| t.borrow().as_ptr() as usize as u32)
    }

    #[no_mangle]
    pub extern "C" fn kernel_cel_text_len() -> u32 {
        TEXT.with(|t| t.borrow().len() as u32)
    }

    /// Compiles `src` against the declarations; returns a handle, or 0 (see the CEL error).
    #[no_mangle]
    pub extern "C" fn kernel_cel_compile(src: u32, src_len: u32, decls: u32, decls_len: u32, flags: u32) -> u32 {
        let (src, decls) = match (input(src, src_len), input(decls, decls_len)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => {
                cel_fail(Code::BadArgument, NO_ROW_U32, 0, 0, "expression or declarations outside memory");
                return 0;
            }
        };
        let (src, decls) = match (core::str::from_utf8(src), core::str::from_utf8(decls)) {
            (Ok(a), Ok(b)) => (a, b),
            _ => {
                cel_fail(Code::CelCompile, NO_ROW_U32, CompileKind::Syntax as u32, 0, "expression is not valid UTF-8");
                return 0;
            }
        };
        let env = match codec::parse_decls(decls, flags & 1 != 0) {
            Ok(e) => e,
            Err(line) => {
                let msg = format!("declaration line {} is malformed (want `<name> <type>`, unique names)", line);
                cel_fail(Code::CelCompile, NO_ROW_U32, CompileKind::BadDeclaration as u32, line as u32, &msg);
                return 0;
            }
        };
        match Program::compile(src, env) {
            Ok(prog) => PROGRAMS.with(|p| {
                let mut p = p.borrow_mut();
                let slot = p.iter().position(|x| x.is_none());
                let i = match slot {
                    Some(i) => {
                        p[i] = Some(prog);
                        i
                    }
                    None => {
                        p.push(Some(prog));
                        p.len() - 1
                    }
                };
                (i + 1) as u32
            }),
            Err(e) => {
                cel_fail(Code::CelCompile, NO_ROW_U32, e.kind as u32, e.pos, &e.msg);
                0
            }
        }
    }

    #[no_mangle]
    pub extern "C" fn kernel_cel_free(h: u32) {
        PROGRAMS.with(|p| {
            if let Some(slot) = p.borrow_mut().get_mut((h as usize).wrapping_sub(1)) {
                *slot = None;
            }
        });
    }

    /// Writes the static result type (`int`, `list(string)`, `dyn`, ...) to the text buffer.
    #[no_mangle]
    pub extern "C" fn kernel_cel_type(h: u32) -> i32 {
        match with_program(h, |p| p.result_type().name()) {
            Some(name) => {
                set_text(name.as_bytes());
                0
            }
            None => bad_handle(h),
        }
    }

    /// Sets categorical routing tokens: a u32 count, then that many encoded int, uint, string
    /// or bytes values. A count of 0xFFFFFFFF clears them (direct mode).
    #[no_mangle]
    pub extern "C" fn kernel_cel_set_routing(h: u32, ptr: u32, len: u32) -> i32 {
        let buf = match input(ptr, len) {
            Ok(b) => b,
            Err(e) => return cel_fail(e.code, NO_ROW_U32, 0, 0, "routing tokens outside memory"),
        };
        let tokens = (|| {
            let n = u32::from_le_bytes([*buf.first()?, *buf.get(1)?, *buf.get(2)?, *buf.get(3)?]);
            if n == u32::MAX {
                return Some(None);
            }
            let mut r = Reader::new(buf.get(4..)?, Default::default());
            let mut out = Vec::new();
            for _ in 0..n {
                out.push(RouteKey::of(&r.value()??)?);
            }
            Some(Some(out))
        })();
        let tokens = match tokens {
            Some(t) => t,
            None => return cel_fail(Code::CelBadInput, NO_ROW_U32, 0, 0, "malformed routing tokens"),
        };
        match with_program(h, |p| match tokens {
            Some(t) => p.set_routing(t),
            None => p.routing = None,
        }) {
            Some(()) => 0,
            None => bad_handle(h),
        }
    }

    fn batch_fail(prog: &Program, e: BatchError) -> i32 {
        match e {
            BatchError::ColumnType { col } => {
                let msg = match prog.env.vars.get(col) {
                    Some(d) => format!("column '{}' (declared {}) has an Arrow type that does not fit, or too few rows", d.name, d.ty.name()),
                    None => "the number of columns does not match the declarations".into(),
                };
                cel_fail(Code::UnsupportedType, NO_ROW_U32, 0, col as u32, &msg)
            }
            BatchError::Kernel { code, row } => cel_fail(code, row as u32, 0, 0, ""),
            BatchError::Eval { row, err } => cel_fail(Code::CelEval, row as u32, err.kind as u32, 0, &err.msg),
            BatchError::ResultType { row, got } => cel_fail(
                Code::CelResultType,
                row as u32,
                0,
                0,
                &format!("CEL routing result must be int, uint, string or bytes, got {}", got.name()),
            ),
            BatchError::ShardRange { row, value } => cel_fail(
                Code::CelShardRange,
                row as u32,
                0,
                0,
                &format!("CEL shard id {} is outside [0, 2^31-1]", value),
            ),
        }
    }

    /// Binds `ncols` consecutive descriptors.
    fn bind_all<'a>(descs: u32, ncols: u32) -> KResult<Vec<Bound<'a>>> {
        let mut out = Vec::with_capacity(ncols as usize);
        for i in 0..ncols {
            let at = (i as u64) * Descriptor::SIZE as u64 + descs as u64;
            if at > u32::MAX as u64 {
                return Err(KernelError::call(Code::BadArgument));
            }
            out.push(bind(at as u32)?);
        }
        Ok(out)
    }

    fn out_region<'a, T>(bound: &[Bound], ptr: u32, count: usize) -> KResult<&'a mut [T]> {
        let size = core::mem::size_of::<T>();
        let bytes = count.checked_mul(size).ok_or_else(|| KernelError::call(Code::BadArgument))?;
        let region = Region::new(ptr, bytes)?.aligned(size)?;
        for b in bound {
            b.disjoint_from(region)?;
        }
        // SAFETY: checked in memory, aligned, and disjoint from every input view.
        Ok(unsafe { region.typed_mut::<T>() })
    }

    /// Evaluates every row: `rows` tags (u8), values (i64) and `rows + 1` i32 offsets into the
    /// string/bytes data, which is left in the text buffer.
    #[no_mangle]
    pub extern "C" fn kernel_cel_eval_batch(h: u32, descs: u32, ncols: u32, rows: u32, tags: u32, vals: u32, offsets: u32) -> i32 {
        let rows = rows as usize;
        let bound = match bind_all(descs, ncols) {
            Ok(b) => b,
            Err(e) => return cel_fail(e.code, NO_ROW_U32, 0, 0, "bad column descriptors"),
        };
        let outs = (|| {
            let t = out_region::<u8>(&bound, tags, rows)?;
            let v = out_region::<i64>(&bound, vals, rows)?;
            let o = out_region::<i32>(&bound, offsets, rows + 1)?;
            let regions = [(tags, rows), (vals, rows * 8), (offsets, rows * 4 + 4)];
            for (i, a) in regions.iter().enumerate() {
                for b in regions.iter().skip(i + 1) {
                    if Region::new(a.0, a.1)?.overlaps(Region::new(b.0, b.1)?) {
                        return Err(KernelError::call(Code::BadArgument));
                    }
                }
            }
            Ok((t, v, o))
        })();
        let (t, v, o) = match outs {
            Ok(x) => x,
            Err(e) => return cel_fail(e.code, NO_ROW_U32, 0, 0, "bad output buffers"),
        };
        let cols: Vec<Column> = bound.iter().map(|b| b.col).collect();
        let r = PROGRAMS.with(|p| {
            let p = p.borrow();
            let prog = match p.get((h as usize).wrapping_sub(1)) {
                Some(Some(prog)) => prog,
                _ => return None,
            };
            let r = TEXT.with(|data| {
                let mut data = data.borrow_mut();
                celbatch::eval_batch(prog, &cols, rows, celbatch::Outputs { tags: t, vals: v, offsets: o, data: &mut data })
            });
            Some(r.map_err(|e| batch_fail(prog, e)))
        });
        match r {
            None => bad_handle(h),
            Some(Ok(())) => 0,
            Some(Err(code)) => code,
        }
    }

    /// Shard id of every row into `out` (`rows` x i32); -1 for an unknown categorical token.
    #[no_mangle]
    pub extern "C" fn kernel_cel_route_batch(h: u32, descs: u32, ncols: u32, rows: u32, out: u32) -> i32 {
        let rows = rows as usize;
        let bound = match bind_all(descs, ncols) {
            Ok(b) => b,
            Err(e) => return cel_fail(e.code, NO_ROW_U32, 0, 0, "bad column descriptors"),
        };
        let out = match out_region::<i32>(&bound, out, rows) {
            Ok(o) => o,
            Err(e) => return cel_fail(e.code, NO_ROW_U32, 0, 0, "bad output buffer"),
        };
        let cols: Vec<Column> = bound.iter().map(|b| b.col).collect();
        let r = PROGRAMS.with(|p| {
            let p = p.borrow();
            let prog = match p.get((h as usize).wrapping_sub(1)) {
                Some(Some(prog)) => prog,
                _ => return None,
            };
            Some(celbatch::route_batch(prog, &cols, rows, out).map_err(|e| batch_fail(prog, e)))
        });
        match r {
            None => bad_handle(h),
            Some(Ok(())) => 0,
            Some(Err(code)) => code,
        }
    }

    /// Evaluates once with encoded values for the declared variables (in order; tag 0xFF =
    /// unbound) and, with `route` set, also routes the result. The encoded result, then (when
    /// routing) the i32 shard id, are left in the text buffer.
    fn eval_values(h: u32, ptr: u32, len: u32, route: bool) -> i32 {
        let buf = match input(ptr, len) {
            Ok(b) => b,
            Err(e) => return cel_fail(e.code, NO_ROW_U32, 0, 0, "values outside memory"),
        };
        let r = PROGRAMS.with(|p| {
            let p = p.borrow();
            let prog = match p.get((h as usize).wrapping_sub(1)) {
                Some(Some(prog)) => prog,
                _ => return None,
            };
            let mut reader = Reader::new(buf, prog.env.types.clone());
            let mut vars: Vec<Option<Value>> = Vec::with_capacity(prog.env.vars.len());
            for _ in 0..prog.env.vars.len() {
                match reader.value() {
                    Some(v) => vars.push(v),
                    None => return Some(cel_fail(Code::CelBadInput, NO_ROW_U32, 0, 0, "malformed encoded values")),
                }
            }
            if !reader.done() {
                return Some(cel_fail(Code::CelBadInput, NO_ROW_U32, 0, 0, "more encoded values than declarations"));
            }
            Some(match prog.eval(vars) {
                Err(err) => cel_fail(Code::CelEval, 0, err.kind as u32, 0, &err.msg),
                Ok(v) => {
                    let mut out = Vec::new();
                    codec::encode(&v, &mut out);
                    if route {
                        match celbatch::route_value(prog, &v, 0) {
                            Ok(id) => out.extend_from_slice(&id.to_le_bytes()),
                            Err(e) => return Some(batch_fail(prog, e)),
                        }
                    }
                    set_text(&out);
                    0
                }
            })
        });
        r.unwrap_or_else(|| bad_handle(h))
    }

    #[no_mangle]
    pub extern "C" fn kernel_cel_eval_values(h: u32, ptr: u32, len: u32) -> i32 {
        eval_values(h, ptr, len, false)
    }

    #[no_mangle]
    pub extern "C" fn kernel_cel_route_values(h: u32, ptr: u32, len: u32) -> i32 {
        eval_values(h, ptr, len, true)
    }

    #[no_mangle]
    pub extern "C" fn kernel_crc32(ptr: u32, len: u32, crc: u32) -> u32 {
        crate::crc32::update(crc, scalar_input(ptr, len))
    }

    #[no_mangle]
    pub extern "C" fn kernel_xxh3(ptr: u32, len: u32) -> u64 {
        crate::xxh3::xxh3_64(scalar_input(ptr, len))
    }

    #[no_mangle]
    pub extern "C" fn kernel_siphash13(ptr: u32, len: u32) -> u64 {
        crate::siphash::siphash13(scalar_input(ptr, len))
    }
}
