//! End-to-end tests: every test runs the real `layerhound` binary on images built in
//! code by the fixture builder. One test binary, several modules.

mod bad_inputs;
mod cli;
mod fixture;
mod forms;
mod images;
mod support;
