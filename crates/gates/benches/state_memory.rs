//! What a principal costs in memory, and what loading one costs in CPU (issue 11): the
//! 10,000 users of `bench/bench.py`'s scale scenario (each with an access key and the AWS
//! managed policy `AmazonBedrockFullAccess` attached), written as stored rows, then parsed
//! (`Entity::from_stored`) and built into a snapshot (`State::from_entities`) as a restart does.
//!
//!     cargo bench -p bg-gates --bench state_memory
//!
//! Prints the heap the snapshot keeps per principal beyond an empty state's (live bytes as
//! glibc's chunks hold them: `max(32, size + 8 rounded up to 16)`; serve's allocator is now
//! jemalloc, whose size classes differ, so read this as a model and the harness's RSS as the
//! measure), the live allocations per
//! principal, and the time of the parse and of the build (median and best of 21 runs). A counting allocator, not RSS: it does not move with the machine's load.

use bg_gates::state::{AccessKey, Change, Entity, Principal, State};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::time::Instant;

struct Live;
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);
static LIVE_ALLOCS: AtomicI64 = AtomicI64::new(0);

/// The size of the chunk glibc's malloc gives a request of `size` bytes on 64-bit Linux.
fn chunk(size: usize) -> i64 {
    ((size + 8 + 15) & !15).max(32) as i64
}

unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(chunk(l.size()), Relaxed);
        LIVE_ALLOCS.fetch_add(1, Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE_BYTES.fetch_sub(chunk(l.size()), Relaxed);
        LIVE_ALLOCS.fetch_sub(1, Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(chunk(n) - chunk(l.size()), Relaxed);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

const ACCOUNT: &str = "111111111111";
const POLICY: &str = "arn:aws:iam::aws:policy/AmazonBedrockFullAccess";

/// The stored rows (kind, JSON body) of a started state plus `n` scale-scenario users and
/// their keys, in the order the scenario writes them (users, then keys).
fn rows(n: usize) -> Vec<(&'static str, Vec<u8>)> {
    let mut changes = State::default().bootstrap_changes();
    let users: Vec<Principal> = (0..n)
        .map(|i| {
            let mut p = Principal::user(ACCOUNT, &format!("u{i:05}"), "/");
            p.attached_policies.push(POLICY.into());
            p
        })
        .collect();
    for u in &users {
        changes.push(Change::Put(Entity::Principal(u.clone())));
    }
    for (i, u) in users.iter().enumerate() {
        changes.push(Change::Put(Entity::AccessKey(AccessKey {
            access_key_id: format!("AKIABENCH{i:011}"),
            secret_access_key: format!("bench-secret-{i}"),
            principal_arn: u.arn.clone(),
            account: ACCOUNT.into(),
            session_token: None,
            expires_unix: None,
            active: true,
            session: None,
            created_unix: 0,
        })));
    }
    changes
        .into_iter()
        .map(|c| match c {
            Change::Put(e) => (e.kind(), serde_json::to_vec(&e).unwrap()),
            Change::Delete { .. } => unreachable!(),
        })
        .collect()
}

fn parse(rows: &[(&'static str, Vec<u8>)]) -> Vec<Entity> {
    rows.iter()
        .map(|(kind, body)| Entity::from_stored(kind, body).unwrap())
        .collect()
}

/// (live bytes, live allocations) the snapshot of `rows` (with `n` users) holds.
fn held(rows: &[(&'static str, Vec<u8>)], n: usize) -> (i64, i64) {
    let (b0, a0) = (LIVE_BYTES.load(Relaxed), LIVE_ALLOCS.load(Relaxed));
    let state = State::from_entities(parse(rows));
    let held = (
        LIVE_BYTES.load(Relaxed) - b0,
        LIVE_ALLOCS.load(Relaxed) - a0,
    );
    assert_eq!((state.principals.len(), state.keys.len()), (n + 1, n + 1));
    drop(state);
    held
}

/// (median, best) of `runs` times of `make` on what `setup` gives (what `make` returns is
/// dropped after the clock stops), in ms. Wall time: a thread that reads its own CPU time
/// (`/proc/thread-self/schedstat`) while it computes sees it advance only at the scheduler's
/// tick (4 ms on this VM), too coarse here; the best of 21 runs is the figure to compare on a
/// shared machine.
fn time_ms<I, T>(
    runs: usize,
    mut setup: impl FnMut() -> I,
    mut make: impl FnMut(I) -> T,
) -> (f64, f64) {
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let input = setup();
            let t = Instant::now();
            let out = std::hint::black_box(make(input));
            let spent = t.elapsed().as_secs_f64() * 1e3;
            drop(out);
            spent
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[runs / 2], ms[0])
}

fn main() {
    let n = 10_000;
    let (empty, full) = (rows(0), rows(n));
    let (e_bytes, e_allocs) = held(&empty, 0);
    let (f_bytes, f_allocs) = held(&full, n);
    let per = |x: i64, y: i64| (x - y) as f64 / n as f64;
    println!(
        "state at {n} principals: {:.1} bytes and {:.2} allocations held per principal beyond empty ({} bytes empty)",
        per(f_bytes, e_bytes),
        per(f_allocs, e_allocs),
        e_bytes
    );
    let json: usize = full.iter().map(|(_, b)| b.len()).sum();
    println!("rows: {} ({} bytes of JSON)", full.len(), json);
    let (p50, p_min) = time_ms(21, || (), |()| parse(&full));
    let (b50, b_min) = time_ms(21, || parse(&full), State::from_entities);
    println!("ms, median (best) of 21: parse {p50:.2} ({p_min:.2}), build {b50:.2} ({b_min:.2})");
}
