fn main() -> std::process::ExitCode {
    rwsplit::cli::main()
}
