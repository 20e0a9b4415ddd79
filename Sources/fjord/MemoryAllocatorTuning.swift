import Glibc

/// glibc malloc settings for the broker process, applied before it starts.
///
/// A produce request of a megabyte is read into a buffer of its own size on the event loop and released on the
/// I/O pool once appended. With glibc's defaults such a buffer is first `mmap`ped, and once the dynamic threshold
/// has moved, taken from the event loop's arena, whose top is given back to the kernel (`madvise`) as soon as more
/// than twice the threshold is free: either way the next request's buffer lands on fresh pages, and the kernel
/// zeroes and maps every 4 KiB of it again — measured at 10–20 times the minor page faults of handling the same
/// load on the event loop, and +40–50% broker CPU per MB for 1 KiB records. Fixed thresholds keep buffers of up to
/// `mmapThresholdBytes` in the arenas and let an arena keep up to `trimThresholdBytes` free before trimming, so
/// request buffers are recycled instead of faulted in (Benchmarks/README.md, "Allocator", has the figures).
enum MemoryAllocatorTuning {
    /// Allocations at or above this size are `mmap`ped (and unmapped on free). glibc's default starts at 128 KiB.
    static let mmapThresholdBytes: Int32 = 8 << 20
    /// Free memory at the top of an arena beyond this is returned to the kernel. glibc's default is 128 KiB
    /// (dynamic: twice the mmap threshold).
    static let trimThresholdBytes: Int32 = 32 << 20

    /// Applies the thresholds unless the operator set glibc's own tunables (`GLIBC_TUNABLES`), which then win.
    static func applyBrokerDefaults() {
        if let tunables = getenv("GLIBC_TUNABLES"), String(cString: tunables).contains("glibc.malloc.") { return }
        // malloc.h is not part of the Glibc module: look `mallopt` up by name (glibc's ABI, stable since 1996).
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(mMmapThreshold, mmapThresholdBytes)
        _ = mallopt(mTrimThreshold, trimThresholdBytes)
    }

    /// `M_MMAP_THRESHOLD` and `M_TRIM_THRESHOLD` from glibc's malloc.h.
    private static let mMmapThreshold: Int32 = -3
    private static let mTrimThreshold: Int32 = -1
}
