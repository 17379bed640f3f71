//! serve's allocator (jemalloc, `crates/cli/src/main.rs`), counting: benches print allocations
//! and bytes a call (every thread's, the journal writer's included), a figure that, unlike
//! time, a shared machine does not blur; their times are then those of the allocator serve
//! runs with. Included by the benches that count (`#[path]`): each bench is its own crate.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

#[cfg(target_env = "msvc")]
use std::alloc::System as Inner;
#[cfg(not(target_env = "msvc"))]
use tikv_jemallocator::Jemalloc as Inner;

pub struct Counting;
/// On only while a batch is counted, so timed runs pay no shared counter.
pub static COUNTING: AtomicBool = AtomicBool::new(false);
pub static ALLOCS: AtomicU64 = AtomicU64::new(0);
pub static BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(l.size() as u64, Relaxed);
        }
        Inner.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        Inner.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(n as u64, Relaxed);
        }
        Inner.realloc(p, l, n)
    }
}
