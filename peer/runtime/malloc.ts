/**
 * glibc malloc settings for the peer and the node processes it starts (bin/peer exports them as
 * GLIBC_TUNABLES unless the user set that variable, even empty; musl and other libcs ignore it).
 *
 * By default glibc serves every allocation of 128 KiB or more with its own mmap() and returns it
 * with munmap() when freed, so each camera frame or 1 MiB message a process handles arrives in
 * fresh pages that the kernel faults in one 4 KiB page at a time (glibc raises that threshold only
 * after freeing such a block, and only to its size). On the VMs here a fault costs enough that
 * this dominated large messages: mosquitto took 12-17 ms of CPU per 1 MiB message with the default
 * and 0.7-0.9 ms with these settings (per-process /proc accounting, 5 s rounds); the four-VGA
 * measure went from 1.83 vCPUs and a growing queue to 1.04 vCPUs, every frame delivered (bench/README.md).
 *
 * mmap_threshold 32 MiB (glibc's largest): buffers below it come from the heap and are reused.
 * trim_threshold 128 MiB: up to that much freed memory at the heap's top is kept for reuse
 * rather than handed back to the kernel at every free, the price for not faulting it in again.
 * Measured after 15 s of 1 MiB end-to-end throughput: resident peers 347–395 MB (343–346 MB with
 * glibc's defaults), node processes 195–197 MB (142 MB now, 180–183 MB at their peak).
 */
export const PEER_MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728'
