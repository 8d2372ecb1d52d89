use std::process::ExitCode;

fn main() -> ExitCode {
    hookbridge::cli::main()
}
