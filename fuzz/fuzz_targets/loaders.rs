//! The config and mapping loaders on arbitrary YAML: an answer (a config, a mapping,
//! or problems at file:line:col), never a panic.
#![no_main]

use std::path::Path;

use hookbridge::config::Config;
use hookbridge::mapping::Mapping;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(problems) = Mapping::from_source(Path::new("fuzz.yaml"), text) {
        assert!(problems.to_string().contains("fuzz.yaml:"), "{problems}");
    }
    if let Err(problems) = Config::from_source(Path::new("config.yaml"), text) {
        assert!(problems.to_string().contains("config.yaml:"), "{problems}");
    }
});
