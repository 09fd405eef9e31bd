//! A value that readers share and a writer replaces whole: what named lists
//! and rule-set handles are built on. A reader sees the old value or the new
//! one, never a mix, and a replacement never disturbs a reader in flight.

use std::sync::{Arc, RwLock, RwLockReadGuard};

/// A shared, replaceable `T`; clones share it.
#[derive(Debug)]
pub struct Swap<T>(Arc<RwLock<Arc<T>>>);

impl<T> Clone for Swap<T> {
    fn clone(&self) -> Self {
        Swap(self.0.clone())
    }
}

impl<T> Swap<T> {
    /// Shares `value`.
    pub fn new(value: T) -> Self {
        Swap(Arc::new(RwLock::new(Arc::new(value))))
    }

    fn read(&self) -> RwLockReadGuard<'_, Arc<T>> {
        match self.0.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Runs `f` on the current value, without cloning anything.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.read())
    }

    /// The current value, kept alive as long as the caller holds it.
    pub fn load(&self) -> Arc<T> {
        self.read().clone()
    }

    /// Replaces the value.
    pub fn store(&self, value: T) {
        let new = Arc::new(value);
        match self.0.write() {
            Ok(mut g) => *g = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }
}
