//! The `layerhound` command: parses arguments, runs the library, maps the outcome to
//! an exit code (0 nothing found, 1 findings, 2 error or incomplete scan).

mod cli;

use clap::Parser;
use cli::{BaselineCommand, Cli, Command, RulesCommand};
use std::process::ExitCode;

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Scan(args) => cli::run_scan(*args),
        Command::Baseline(BaselineCommand::Create(args)) => cli::run_baseline(*args),
        Command::Completions { shell } => cli::completions(shell),
        Command::Man { dir } => cli::man(dir),
        Command::Rules(RulesCommand::List { format, rules }) => cli::list_rules(format, &rules),
        Command::Rules(RulesCommand::Check { paths }) => cli::check_rules(&paths),
        Command::Cache(c) => cli::run_cache(c),
    }
}
