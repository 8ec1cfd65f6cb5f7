//! shardy routing kernel: one implementation of the routing rules for every host (Bun, Deno, Node,
//! edge workers, Python through wasmtime). XXH3-64 routing over canonical key bytes, key encodings,
//! SipHash-1-3 and CRC32, as batch calls over Arrow buffers. The ABI is specified in ABI.md.
//!
//! The pure modules below work on safe slices and are unit-tested natively (`cargo test`); the
//! `exports` module binds them to wasm linear memory and exists only on wasm32.

pub mod batch;
pub mod column;
pub mod crc32;
pub mod errors;
pub mod keys;
pub mod siphash;
pub mod xxh3;

#[cfg(test)]
mod tests;

/// Reported by `kernel_abi_version`; bump on any incompatible ABI change.
pub const ABI_VERSION: u32 = 1;

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
