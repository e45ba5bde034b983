//! What a stretch of audio contains, in terms a test can assert on: the level and dominant frequency of every
//! 100 ms, the DTMF keys in it, and where it was silent.

use realfft::RealFftPlanner;

use crate::{dtmf, frame::SAMPLE_RATE};

/// The analysis window.
pub const WINDOW_MS: u64 = 100;
const WINDOW_SAMPLES: usize = (SAMPLE_RATE as u64 * WINDOW_MS / 1000) as usize;
/// Windows quieter than this count as silence.
pub const SILENCE_DBFS: f64 = -50.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Offset of the window's start, in ms.
    pub at_ms: u64,
    /// RMS level in dB below full scale; `None` for digital silence.
    pub level_dbfs: Option<f64>,
    /// The strongest frequency, when the window is not silent.
    pub dominant_hz: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub at_ms: u64,
    pub key: char,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub from_ms: u64,
    pub to_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub duration_ms: u64,
    pub windows: Vec<Window>,
    pub keys: Vec<Key>,
    pub silences: Vec<Span>,
}

pub fn analyze(samples: &[i16]) -> Analysis {
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(WINDOW_SAMPLES);
    let hann: Vec<f32> = (0..WINDOW_SAMPLES)
        .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / WINDOW_SAMPLES as f32).cos())
        .collect();
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut windows = Vec::new();
    for (index, chunk) in samples.chunks(WINDOW_SAMPLES).enumerate() {
        let at_ms = index as u64 * WINDOW_MS;
        let sum_squares: f64 = chunk.iter().map(|s| f64::from(*s).powi(2)).sum();
        let rms = (sum_squares / chunk.len() as f64).sqrt();
        let level_dbfs = (rms > 0.0).then(|| 20.0 * (rms / f64::from(i16::MAX)).log10());
        let dominant_hz = level_dbfs.filter(|level| *level > SILENCE_DBFS).and_then(|_| {
            input.iter_mut().for_each(|x| *x = 0.0);
            for ((x, s), w) in input.iter_mut().zip(chunk).zip(&hann) {
                *x = f32::from(*s) * w;
            }
            fft.process(&mut input, &mut spectrum).ok()?;
            let magnitudes: Vec<f32> = spectrum.iter().map(|c| c.norm()).collect();
            let (peak, _) = magnitudes.iter().enumerate().skip(1).max_by(|a, b| a.1.total_cmp(b.1))?;
            // Interpolate between bins (a parabola through the peak and its neighbours) for better than 10 Hz.
            let (left, centre, right) =
                (magnitudes[peak - 1], magnitudes[peak], *magnitudes.get(peak + 1).unwrap_or(&0.0));
            let denominator = left - 2.0 * centre + right;
            let offset = if denominator.abs() > f32::EPSILON { 0.5 * (left - right) / denominator } else { 0.0 };
            let bin_hz = f64::from(SAMPLE_RATE) / WINDOW_SAMPLES as f64;
            Some((peak as f64 + f64::from(offset)) * bin_hz)
        });
        windows.push(Window { at_ms, level_dbfs, dominant_hz });
    }
    let mut silences: Vec<Span> = Vec::new();
    for window in &windows {
        if window.level_dbfs.is_some_and(|level| level > SILENCE_DBFS) {
            continue;
        }
        let end = window.at_ms + WINDOW_MS;
        match silences.last_mut() {
            Some(span) if span.to_ms == window.at_ms => span.to_ms = end,
            _ => silences.push(Span { from_ms: window.at_ms, to_ms: end }),
        }
    }
    let duration_ms = samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE);
    if let Some(last) = silences.last_mut() {
        last.to_ms = last.to_ms.min(duration_ms);
    }
    let keys = dtmf::keys_in(samples).into_iter().map(|(at_ms, key)| Key { at_ms, key }).collect();
    Analysis { duration_ms, windows, keys, silences }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{dtmf, silence, tone};

    #[test]
    fn a_tone_then_silence_then_a_key() {
        let mut samples = tone(1000.0, 500).samples().to_vec();
        samples.extend_from_slice(silence(300).samples());
        samples.extend_from_slice(dtmf('4', 100).unwrap().samples());
        let analysis = analyze(&samples);
        assert_eq!(analysis.duration_ms, 900);
        let middle = &analysis.windows[2];
        assert!((middle.dominant_hz.unwrap() - 1000.0).abs() < 2.0, "{middle:?}");
        assert!((middle.level_dbfs.unwrap() + 13.0).abs() < 0.5, "−10 dBFS peak is −13 dBFS RMS: {middle:?}");
        assert_eq!(analysis.silences, [Span { from_ms: 500, to_ms: 800 }]);
        assert_eq!(analysis.keys.iter().map(|k| k.key).collect::<String>(), "4");
        assert_eq!(analysis.windows[6].level_dbfs, None, "digital silence has no level");
    }
}
