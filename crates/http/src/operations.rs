//! The implemented Graph operations, one module per resource area.

mod device_quality;

pub(crate) use device_quality::LogTeleconferenceDeviceQuality;
