// glibc's malloc serves the large tensors of a prefill with fresh mmap'd pages and returns
// them on free, so every step pays page faults and zeroing again; mimalloc keeps and reuses
// them (measured: a 1024-token prefill of Qwen3-0.6B shapes spent about a quarter of its
// CPU time in the kernel's page-fault path without it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    bench::cli::main()
}
