use std::process::ExitCode;

/// A request allocates and frees many small JSON nodes across threads, where glibc's
/// malloc spent a fifth of the gateway's time under load; mimalloc does the same work
/// in a fraction of it (see benches/load.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    hookbridge::cli::main()
}
