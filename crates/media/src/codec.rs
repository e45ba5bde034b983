//! Audio files in and out: any format symphonia reads (WAV — the format Graph documents for prompts —, MP3, Ogg
//! Vorbis), mixed down to mono and resampled to the engine's rate with rubato; WAV out with hound.

use std::io::Cursor;

use rubato::{Fft, FixedSync, Resampler, audioadapter_buffers::direct::InterleavedSlice};
use symphonia::core::{
    codecs::audio::AudioDecoderOptions,
    errors::Error as SymphoniaError,
    formats::{FormatOptions, TrackType, probe::Hint},
    io::MediaSourceStream,
    meta::MetadataOptions,
};

use crate::frame::{Clip, SAMPLE_RATE};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the file is not audio in a format Switchboard reads (WAV, MP3, Ogg Vorbis): {0}")]
    Unsupported(String),
    #[error("the audio could not be decoded: {0}")]
    Corrupt(String),
    #[error("the audio is longer than the {max_seconds} s allowed")]
    TooLong { max_seconds: u64 },
    #[error("the file holds no audio")]
    Empty,
}

/// Decodes a whole file into a clip at the engine's rate. `extension` helps recognise the format.
pub fn decode(bytes: Vec<u8>, extension: Option<&str>, max_seconds: u64) -> Result<Clip, DecodeError> {
    let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    if let Some(extension) = extension {
        hint.with_extension(extension);
    }
    let mut format = symphonia::default::get_probe()
        .probe(&hint, stream, FormatOptions::default(), MetadataOptions::default())
        .map_err(|e| DecodeError::Unsupported(e.to_string()))?;
    let track = format.default_track(TrackType::Audio).ok_or(DecodeError::Empty)?;
    let track_id = track.id;
    let declared_frames = track.num_frames;
    let parameters = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| DecodeError::Unsupported("the track has no audio codec parameters".into()))?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(parameters, &AudioDecoderOptions::default())
        .map_err(|e| DecodeError::Unsupported(e.to_string()))?;
    // Reserved whole when the container says how long it is: growing by doubling would hold up to twice the audio.
    let most =
        declared_frames.zip(parameters.sample_rate).map(|(frames, rate)| frames.min(max_seconds * u64::from(rate)));
    let mut mono: Vec<f32> = Vec::with_capacity(most.and_then(|n| usize::try_from(n).ok()).unwrap_or(0));
    let mut rate = 0u32;
    let mut interleaved: Vec<f32> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => return Err(DecodeError::Corrupt(e.to_string())),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            // A damaged packet is skipped, as players do.
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(e) => return Err(DecodeError::Corrupt(e.to_string())),
        };
        rate = buffer.spec().rate();
        let channels = buffer.spec().channels().count().max(1);
        interleaved.resize(buffer.samples_interleaved(), 0.0);
        buffer.copy_to_slice_interleaved(&mut interleaved);
        mono.extend(interleaved.chunks(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32));
        if rate > 0 && mono.len() as u64 > max_seconds * u64::from(rate) {
            return Err(DecodeError::TooLong { max_seconds });
        }
    }
    if mono.is_empty() || rate == 0 {
        return Err(DecodeError::Empty);
    }
    let resampled = if rate == SAMPLE_RATE { mono } else { resample(&mono, rate)? };
    // In place: the f32 buffer becomes the i16 one.
    Ok(Clip::new(resampled.into_iter().map(|s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16).collect()))
}

/// `samples` at `rate`, at the engine's rate instead.
fn resample(samples: &[f32], rate: u32) -> Result<Vec<f32>, DecodeError> {
    let corrupt = |e: &dyn std::fmt::Display| DecodeError::Corrupt(format!("resampling from {rate} Hz: {e}"));
    let mut resampler =
        Fft::<f32>::new(rate as usize, SAMPLE_RATE as usize, 1024, 1, FixedSync::Input).map_err(|e| corrupt(&e))?;
    let input = InterleavedSlice::new(samples, 1, samples.len()).map_err(|e| corrupt(&e))?;
    let capacity = resampler.process_all_needed_output_len(samples.len());
    let mut output = vec![0.0f32; capacity];
    let mut adapter = InterleavedSlice::new_mut(&mut output, 1, capacity).map_err(|e| corrupt(&e))?;
    let (_, produced) =
        resampler.process_all_into_buffer(&input, &mut adapter, samples.len(), None).map_err(|e| corrupt(&e))?;
    output.truncate(produced);
    Ok(output)
}

/// `samples` as a 16 kHz mono 16-bit WAV file (what Graph's recordings are, judging by their size).
pub fn wav(samples: &[i16]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    {
        let mut writer = hound::WavWriter::new(&mut bytes, spec).expect("invariant: writing to memory cannot fail");
        let mut samples_writer = writer.get_i16_writer(u32::try_from(samples.len()).unwrap_or(u32::MAX));
        for sample in samples {
            samples_writer.write_sample(*sample);
        }
        samples_writer.flush().expect("invariant: writing to memory cannot fail");
        writer.finalize().expect("invariant: writing to memory cannot fail");
    }
    bytes.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::tone;

    fn wav_at(rate: u32, channels: u16, seconds: f64, hz: f64) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut bytes = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut bytes, spec).unwrap();
        let n = (f64::from(rate) * seconds) as usize;
        for i in 0..n {
            let value = ((std::f64::consts::TAU * hz * i as f64 / f64::from(rate)).sin() * 8000.0) as i16;
            for _ in 0..channels {
                writer.write_sample(value).unwrap();
            }
        }
        writer.finalize().unwrap();
        bytes.into_inner()
    }

    #[test]
    fn wav_round_trips_at_the_engine_rate() {
        let clip = tone(440.0, 500);
        let decoded = decode(wav(clip.samples()), Some("wav"), 60).unwrap();
        assert!(decoded.samples() == clip.samples(), "16 kHz mono comes back sample for sample");
    }

    #[test]
    fn other_rates_and_stereo_are_resampled_and_mixed_down() {
        for rate in [8_000, 44_100, 48_000] {
            let decoded = decode(wav_at(rate, 2, 1.0, 440.0), None, 60).unwrap();
            let length = decoded.samples().len() as i64;
            assert!((length - 16_000).abs() <= 16, "{rate} Hz: {length} samples");
            let analysis = crate::analysis::analyze(decoded.samples());
            let middle = &analysis.windows[5];
            assert!((middle.dominant_hz.unwrap() - 440.0).abs() < 10.0, "{rate} Hz: {middle:?}");
        }
    }

    #[test]
    fn garbage_and_overlong_files_are_refused_with_a_reason() {
        assert!(matches!(decode(b"not audio at all".to_vec(), None, 60), Err(DecodeError::Unsupported(_))));
        assert_eq!(decode(wav_at(8000, 1, 3.0, 440.0), None, 2), Err(DecodeError::TooLong { max_seconds: 2 }));
    }
}
