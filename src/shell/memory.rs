//! Giving the allocator's free memory back to the operating system, for the threads that tidy up
//! after a burst (the driver, the commit thread).

/// Gives the allocator's free memory back to the operating system. glibc keeps what a burst freed
/// (tens of MB after a presence flood to thousands of users) unless asked, in every thread's arena.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and releases the allocator's own free lists; it is safe to call
    // at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
