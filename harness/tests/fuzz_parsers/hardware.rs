//! What bench reads to know the machine: the hardware table (`Table::parse`, a file people
//! edit, whose errors must give `file:line:column`), and the outputs of `sysctl`,
//! `system_profiler -json` (whose errors must give a line and column), `sw_vers`, MLX's
//! device answer, `/proc/cpuinfo` and nvidia-smi's name lines, which may say anything and must
//! never panic.

use std::path::Path;

use bench::hardware::{
    cpuinfo, mlx_device, nvidia, sw_vers, sysctl, system_profiler, Table, TableError,
};

use crate::corpus;
use crate::engine::{Target, Verdict};
use crate::toml_files::located;

/// Keys and values of the tools' outputs and the table's format.
const TOKENS: &[&str] = &[
    "machdep.cpu.brand_string: ",
    "hw.memsize: ",
    "hw.perflevel0.physicalcpu: ",
    "hw.perflevel1.physicalcpu: ",
    "kern.osversion: ",
    "BuildVersion:\t\t",
    "\"architecture\": \"applegpu_g17s\"",
    "\"device_info\": {",
    "Apple M4 Max",
    "model name\t: ",
    "processor\t: 0",
    "\"SPHardwareDataType\": [",
    "\"SPDisplaysDataType\": [",
    "\"sppci_cores\": \"40\"",
    "\"chip_type\": ",
    "\"physical_memory\": \"128 GB\"",
    "NVIDIA H100 80GB HBM3, 81559 MiB",
    "[[chip]]",
    "id = ",
    "vendor = \"apple\"",
    "vendor = \"nvidia\"",
    "memory_bandwidth_gb_s = ",
    "source = ",
    "confidence = \"vendor\"",
    "18446744073709551616",
    "-1",
];

fn check_table(input: &[u8]) -> Verdict {
    let text = String::from_utf8_lossy(input);
    match Table::parse(&text, Path::new("hw.toml")) {
        Ok(_) => Ok(()),
        Err(TableError::Invalid(problem)) => located(&problem.to_string(), "hw.toml", &text),
    }
}

fn check_tools(input: &[u8]) -> Verdict {
    let text = String::from_utf8_lossy(input);
    let _ = sysctl::parse(&text);
    let _ = sw_vers::parse(&text);
    let _ = mlx_device::parse(&text);
    let _ = cpuinfo::parse(&text);
    for line in text.lines() {
        let _ = nvidia::parse_smi_line(line);
    }
    match system_profiler::parse(&text) {
        Ok(_) => Ok(()),
        Err(e) => {
            let said = e.to_string();
            if said.contains("line") && said.contains("column") {
                Ok(())
            } else {
                Err(format!(
                    "system_profiler error without a line and column: {said}"
                ))
            }
        }
    }
}

#[test]
fn hardware_table() {
    Target {
        name: "hardware-table",
        seeds: vec![corpus::file("harness/data/hardware.toml")],
        tokens: TOKENS,
        cases: 20_000,
        check: check_table,
    }
    .run();
}

#[test]
fn hardware_tool_outputs() {
    Target {
        name: "hardware-tools",
        seeds: corpus::files("harness/tests/fixtures/hw", "", &[".txt", ".json", ".csv"]),
        tokens: TOKENS,
        cases: 20_000,
        check: check_tools,
    }
    .run();
}
