//! NVIDIA GPUs through NVML: board power, the total-energy counter (preferred for energy),
//! temperature, clocks and throttle reasons, per GPU.
//!
//! The driver's library is loaded at run time, so a machine without an NVIDIA driver simply
//! has no `nvml` sampler.
//!
//! Power: NVML's instantaneous board power (`NVML_FI_DEV_POWER_INSTANT`) where the driver
//! has it, else `nvmlDeviceGetPowerUsage`, which on Ampere and newer (H100 included) is an
//! average over the last second and lags a change of load by up to that second. The source's
//! description says which was read.
//!
//! Energy: the total-energy counter, read with every sample so that a measurement of a
//! fraction of a second has counter readings around it. One read cost 3.8 ms of CPU on an H100
//! (driver 580), so at the default 10 Hz the sampler uses about 4% of one core per GPU. Each
//! GPU's power is also written as a second rail (`gpu0-power`, no counter): its integral is the
//! cross-check of the counter's energy, stored with every measurement as
//! `energy_from_power_j`. An earlier check over a 50 s window with a 30 s matrix-multiply load
//! found the two within 0.05%.

use std::time::Duration;

use nvml_wrapper::bitmasks::device::ThrottleReasons;
use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::enums::device::SampleValue;
use nvml_wrapper::Nvml;

use nvml_wrapper::structs::device::FieldId;

use super::{
    integrated_power_rail, PowerError, RailReading, Sample, Scope, Source, Thermal, Ticker,
};
use crate::clock::RunClock;

const NAME: &str = "nvml";

/// `NVML_FI_DEV_POWER_INSTANT`: the board's instantaneous power in milliwatts.
const FIELD_POWER_INSTANT: u32 = 186;

/// Every GPU NVML sees, polled every interval.
pub struct NvmlSource {
    nvml: Nvml,
    devices: u32,
    ticker: Ticker,
    description: String,
    /// Whether the instantaneous power field answers (else the 1 s average is read).
    instant_power: bool,
}

impl NvmlSource {
    /// Load NVML and find the GPUs.
    pub fn open(interval: Duration) -> Result<Self, PowerError> {
        let unavailable = |reason: String| PowerError::Unavailable {
            source_name: NAME,
            reason,
        };
        let nvml = Nvml::init().map_err(|e| {
            unavailable(format!(
                "cannot load NVML ({e}); is an NVIDIA driver installed?"
            ))
        })?;
        let devices = nvml
            .device_count()
            .map_err(|e| unavailable(format!("NVML cannot count GPUs: {e}")))?;
        if devices == 0 {
            return Err(unavailable("NVML sees no GPU".into()));
        }
        let mut names = Vec::new();
        for i in 0..devices {
            let device = nvml
                .device_by_index(i)
                .map_err(|e| unavailable(format!("NVML cannot open GPU {i}: {e}")))?;
            device
                .power_usage()
                .map_err(|e| unavailable(format!("GPU {i} does not report its power: {e}")))?;
            let counter = if device.total_energy_consumption().is_ok() {
                "energy counter read with every sample"
            } else {
                "no energy counter"
            };
            names.push(format!(
                "gpu{i} {} ({counter})",
                device.name().unwrap_or_else(|_| "unknown GPU".into())
            ));
        }
        let driver = nvml
            .sys_driver_version()
            .unwrap_or_else(|_| "unknown".into());
        let instant_power = nvml
            .device_by_index(0)
            .ok()
            .and_then(|d| instant_milliwatts(&d))
            .is_some();
        let power_kind = if instant_power {
            "instantaneous board power"
        } else {
            "board power (the driver's 1 s average)"
        };
        Ok(Self {
            nvml,
            devices,
            ticker: Ticker::new(interval),
            description: format!(
                "NVML, driver {driver}: {power_kind} of {}{}",
                names.join(", "),
                if devices > 1 {
                    "; rail `gpus` is their sum"
                } else {
                    ""
                }
            ),
            instant_power,
        })
    }

    fn read(&mut self, clock: &RunClock) -> Result<Sample, PowerError> {
        let mut sample = Sample {
            source: NAME.into(),
            ..Sample::default()
        };
        let mut sum_w = 0.0;
        let mut sum_j = Some(0.0);
        for i in 0..self.devices {
            let device = self
                .nvml
                .device_by_index(i)
                .map_err(|e| PowerError::Failed {
                    source_name: NAME,
                    reason: format!("GPU {i} is gone: {e}"),
                })?;
            let milliwatts = match self.instant_power.then(|| instant_milliwatts(&device)) {
                Some(Some(mw)) => mw,
                _ => device.power_usage().map_err(|e| PowerError::Failed {
                    source_name: NAME,
                    reason: format!("GPU {i} power: {e}"),
                })?,
            };
            let watts = f64::from(milliwatts) / 1000.0;
            let counter_j = device
                .total_energy_consumption()
                .ok()
                .map(|mj| mj as f64 / 1000.0);
            sum_w += watts;
            sum_j = sum_j.zip(counter_j).map(|(a, b)| a + b);
            let rail = format!("gpu{i}");
            if counter_j.is_some() {
                sample.rails.push(RailReading::watts(
                    integrated_power_rail(&rail),
                    Scope::GpuBoard,
                    watts,
                ));
            }
            sample.rails.push(RailReading {
                counter_j,
                ..RailReading::watts(rail, Scope::GpuBoard, watts)
            });
            read_thermal(&device, i, &mut sample.thermal);
        }
        if self.devices > 1 {
            sample.rails.push(RailReading {
                counter_j: sum_j,
                ..RailReading::watts("gpus", Scope::GpuBoard, sum_w)
            });
        }
        sample.t_s = clock.now_s();
        Ok(sample)
    }
}

fn read_thermal(device: &nvml_wrapper::Device<'_>, i: u32, thermal: &mut Thermal) {
    if let Ok(t) = device.temperature(TemperatureSensor::Gpu) {
        thermal.temps_c.insert(format!("gpu{i}"), t as f64);
    }
    for (clock, name) in [(Clock::SM, "sm"), (Clock::Memory, "mem")] {
        if let Ok(mhz) = device.clock_info(clock) {
            thermal
                .clocks_mhz
                .insert(format!("gpu{i}_{name}"), mhz as f64);
        }
    }
    if let Ok(reasons) = device.current_throttle_reasons() {
        thermal
            .throttle
            .extend(throttle_names(reasons).map(|r| format!("gpu{i}:{r}")));
    }
}

/// NVML's throttle reasons, by the names results use.
pub fn throttle_names(reasons: ThrottleReasons) -> impl Iterator<Item = &'static str> {
    [
        (ThrottleReasons::GPU_IDLE, "gpu_idle"),
        (
            ThrottleReasons::APPLICATIONS_CLOCKS_SETTING,
            "applications_clocks_setting",
        ),
        (ThrottleReasons::SW_POWER_CAP, "sw_power_cap"),
        (ThrottleReasons::HW_SLOWDOWN, "hw_slowdown"),
        (ThrottleReasons::SYNC_BOOST, "sync_boost"),
        (ThrottleReasons::SW_THERMAL_SLOWDOWN, "sw_thermal_slowdown"),
        (ThrottleReasons::HW_THERMAL_SLOWDOWN, "hw_thermal_slowdown"),
        (
            ThrottleReasons::HW_POWER_BRAKE_SLOWDOWN,
            "hw_power_brake_slowdown",
        ),
    ]
    .into_iter()
    .filter(move |(flag, _)| reasons.contains(*flag))
    .map(|(_, name)| name)
}

/// The board's instantaneous power in milliwatts, where the driver exposes the field.
fn instant_milliwatts(device: &nvml_wrapper::Device<'_>) -> Option<u32> {
    let values = device
        .field_values_for(&[FieldId(FIELD_POWER_INSTANT)])
        .ok()?;
    let sample = values.into_iter().next()?.ok()?;
    match sample.value.ok()? {
        SampleValue::U32(mw) => Some(mw),
        SampleValue::U64(mw) => u32::try_from(mw).ok(),
        SampleValue::I64(mw) => u32::try_from(mw).ok(),
        _ => None,
    }
}

impl Source for NvmlSource {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError> {
        self.ticker.wait();
        self.read(clock).map(Some)
    }

    fn max_gap(&self) -> Duration {
        self.ticker.interval()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_reasons_are_named_and_thermal_ones_are_flagged() {
        let reasons = ThrottleReasons::GPU_IDLE | ThrottleReasons::SW_THERMAL_SLOWDOWN;
        let names: Vec<_> = throttle_names(reasons).collect();
        assert_eq!(names, ["gpu_idle", "sw_thermal_slowdown"]);
        let thermal = Thermal {
            throttle: names.iter().map(|n| format!("gpu0:{n}")).collect(),
            ..Thermal::default()
        };
        assert_eq!(thermal.flags(), ["throttle:gpu0:sw_thermal_slowdown"]);
    }

    #[test]
    fn a_machine_without_a_driver_has_no_nvml_sampler_and_does_not_crash() {
        // On machines with an NVIDIA driver this opens; elsewhere it must say why not.
        match NvmlSource::open(Duration::from_millis(100)) {
            Ok(source) => assert!(source.describe().contains("gpu0")),
            Err(PowerError::Unavailable { reason, .. }) => assert!(reason.contains("NVML")),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
}
