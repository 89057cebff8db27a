//! End-to-end tests: every test runs the real `layerhound` binary on images built in
//! code by the fixture builder. One test binary, several modules.

#![allow(clippy::unwrap_used)] // test helpers fail by panicking

mod architecture;
mod bad_inputs;
mod bounded;
mod cache;
mod chromium;
mod cli;
mod daemon;
mod descriptors;
mod every_rule;
mod firsthour;
mod fixture;
mod forms;
mod gitleaks;
mod hostile;
mod html;
mod huge;
mod images;
mod leaks;
mod nested;
mod packages;
mod policy;
mod precision;
mod sarif;
mod support;
mod system_files;
mod thirdparty;
