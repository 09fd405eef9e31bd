//! A value that readers share and a writer replaces whole: what named lists
//! and rule-set handles are built on. A reader sees the old value or the new
//! one, never a mix; loading takes no lock (`arc-swap`), and a replacement
//! neither waits for readers nor makes one of them free the old value.

use arc_swap::ArcSwap;
use std::sync::Arc;
#[cfg(not(target_arch = "wasm32"))]
use std::time::{Duration, Instant};

/// A shared, replaceable `T`; clones share it.
#[derive(Debug)]
pub struct Swap<T>(Arc<ArcSwap<T>>);

impl<T> Clone for Swap<T> {
    fn clone(&self) -> Self {
        Swap(self.0.clone())
    }
}

impl<T> Swap<T> {
    /// Shares `value`.
    pub fn new(value: T) -> Self {
        Swap(Arc::new(ArcSwap::from_pointee(value)))
    }

    /// Runs `f` on the current value, without cloning anything.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0.load())
    }

    /// The current value, kept alive as long as the caller holds it.
    pub fn load(&self) -> Arc<T> {
        self.0.load_full()
    }

    /// Replaces the value. The old one is freed here, by the writer, once
    /// the readers that still hold it (each for one evaluation) let go.
    pub fn store(&self, value: T) {
        free_when_unshared(self.0.swap(Arc::new(value)));
    }
}

/// Most time a writer waits for readers to let go of what it replaced;
/// past it (a reader holding an `Arc` from [`Swap::load`] for long), the
/// last reader frees it.
#[cfg(not(target_arch = "wasm32"))]
const MAX_WAIT: Duration = Duration::from_millis(200);

/// Drops `old` once nobody else holds it (waiting at most [`MAX_WAIT`]), so
/// that freeing a large value (a million-entry list) costs the writer, not
/// a reader in the middle of an evaluation.
pub(crate) fn free_when_unshared<T>(old: Arc<T>) {
    // wasm32 (the playground) has no clock, `Instant::now` panics there,
    // and a module runs on one thread: no reader can be in flight.
    #[cfg(not(target_arch = "wasm32"))]
    {
        let start = Instant::now();
        while Arc::strong_count(&old) > 1 && start.elapsed() < MAX_WAIT {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
    drop(old);
}
