//! Audio the engine makes itself: tones, DTMF digits, the record beep and the built-in hold music.

use std::f64::consts::TAU;

use crate::frame::{Clip, FRAME_SAMPLES, Frame, SAMPLE_RATE};

/// Peak amplitude of generated tones: −10 dBFS, loud and clear without clipping when two are mixed.
const LEVEL: f64 = 0.316;

fn samples_for(ms: u64) -> usize {
    usize::try_from(ms * u64::from(SAMPLE_RATE) / 1000).unwrap_or(usize::MAX)
}

/// A sum of sines (equal amplitude, together at `level`), with 5 ms ramps so that it does not click.
fn sines(frequencies: &[f64], ms: u64, level: f64) -> Vec<i16> {
    let n = samples_for(ms);
    let ramp = samples_for(5).min(n / 2).max(1);
    let each = level / frequencies.len() as f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(SAMPLE_RATE);
            let envelope = (i.min(n - 1 - i) as f64 / ramp as f64).min(1.0);
            let value: f64 = frequencies.iter().map(|f| (TAU * f * t).sin()).sum::<f64>() * each * envelope;
            (value * f64::from(i16::MAX)) as i16
        })
        .collect()
}

/// A steady tone.
pub fn tone(hz: f64, ms: u64) -> Clip {
    Clip::new(sines(&[hz], ms, LEVEL))
}

/// `ms` of silence.
pub fn silence(ms: u64) -> Clip {
    Clip::new(vec![0; samples_for(ms)])
}

/// The (low, high) frequencies of a DTMF key (ITU-T Q.23).
pub fn dtmf_frequencies(key: char) -> Option<(f64, f64)> {
    let (row, column) = match key.to_ascii_uppercase() {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        'A' => (0, 3),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        'B' => (1, 3),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        'C' => (2, 3),
        '*' => (3, 0),
        '0' => (3, 1),
        '#' => (3, 2),
        'D' => (3, 3),
        _ => return None,
    };
    Some((ROWS[row], COLUMNS[column]))
}

pub(crate) const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
pub(crate) const COLUMNS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
pub(crate) const KEYS: [[char; 4]; 4] =
    [['1', '2', '3', 'A'], ['4', '5', '6', 'B'], ['7', '8', '9', 'C'], ['*', '0', '#', 'D']];

/// One DTMF key, `ms` long.
pub fn dtmf(key: char, ms: u64) -> Option<Clip> {
    let (low, high) = dtmf_frequencies(key)?;
    Some(Clip::new(sines(&[low, high], ms, LEVEL)))
}

/// Keys sent one after another, each a `tone_ms` DTMF tone followed by `gap_ms` of silence, made a frame at a time
/// as it plays: however many keys and however long the gaps, it holds one key's tone, never the whole sequence.
#[derive(Debug, Clone)]
pub struct DtmfSequence {
    keys: Vec<char>,
    tone_ms: u64,
    tone_samples: usize,
    /// Samples per key: its tone and the gap after it.
    slot_samples: usize,
    /// The tone of the key being sent (a key that is no DTMF key is silence).
    current: Option<(usize, Option<Clip>)>,
}

impl DtmfSequence {
    pub fn new(keys: Vec<char>, tone_ms: u64, gap_ms: u64) -> DtmfSequence {
        let tone_samples = samples_for(tone_ms);
        let slot_samples = tone_samples.saturating_add(samples_for(gap_ms));
        DtmfSequence { keys, tone_ms, tone_samples, slot_samples, current: None }
    }

    /// Frame `index` of the sequence; `None` past its end.
    pub fn frame(&mut self, index: usize) -> Option<Frame> {
        let total = self.keys.len().saturating_mul(self.slot_samples);
        let start = index.checked_mul(FRAME_SAMPLES).filter(|start| *start < total)?;
        let mut samples = [0i16; FRAME_SAMPLES];
        let mut audible = false;
        for (offset, sample) in samples.iter_mut().enumerate().take(total - start) {
            let (key, within) = ((start + offset) / self.slot_samples, (start + offset) % self.slot_samples);
            if within >= self.tone_samples {
                continue;
            }
            if self.current.as_ref().is_none_or(|(current, _)| *current != key) {
                self.current = Some((key, dtmf(self.keys[key], self.tone_ms)));
            }
            if let Some((_, Some(tone))) = &self.current {
                *sample = tone.samples().get(within).copied().unwrap_or(0);
                audible = true;
            }
        }
        Some(if audible { Frame::from_slice(&samples) } else { Frame::Silence })
    }
}

/// The beep before a recording starts (`playBeep`): 400 ms at 1 kHz. Graph does not document its sound.
pub fn beep() -> Clip {
    tone(1000.0, 400)
}

/// The default hold music: a 16-second loop of soft arpeggiated chords (C, A minor, F, G), made here so that
/// Switchboard ships no third-party recording. Notes sit between 262 and 784 Hz.
pub fn hold_music() -> Clip {
    const CHORDS: [[f64; 3]; 4] =
        [[261.63, 329.63, 392.00], [220.00, 261.63, 329.63], [174.61, 220.00, 261.63], [196.00, 246.94, 293.66]];
    let note_ms = 250;
    let mut samples = Vec::new();
    for chord in CHORDS {
        for bar in 0..4 {
            for step in 0..4 {
                // Up the chord and back, an octave higher every other bar.
                let note = [0, 1, 2, 1][step];
                let octave = if bar % 2 == 1 { 2.0 } else { 1.0 };
                let pitch = chord[note] * octave;
                let mut tone = sines(&[pitch, pitch * 2.0], note_ms, 0.2);
                // A plucked decay rather than an organ.
                let len = tone.len() as f64;
                for (i, sample) in tone.iter_mut().enumerate() {
                    *sample = (f64::from(*sample) * (1.0 - i as f64 / len).powi(2)) as i16;
                }
                samples.extend(tone);
            }
        }
    }
    Clip::new(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tones_have_the_asked_length_and_level() {
        let clip = tone(440.0, 100);
        assert_eq!(clip.samples().len(), 1600);
        let peak = clip.samples().iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((10_000..=10_400).contains(&peak), "{peak}");
        assert_eq!(clip.samples()[0], 0, "ramped in");
        assert!(dtmf('x', 100).is_none());
        assert_eq!(dtmf('#', 100).unwrap().samples().len(), 1600);
        assert_eq!(hold_music().duration_ms(), 16_000);
    }

    #[test]
    fn a_dtmf_sequence_is_made_as_it_plays_and_sounds_like_the_whole() {
        let (keys, tone_ms, gap_ms) = (vec!['1', '#', 'x', '9'], 100, 70);
        let mut whole = Vec::new();
        for key in &keys {
            whole.extend_from_slice(
                dtmf(*key, tone_ms).map(|c| c.samples().to_vec()).unwrap_or(vec![0; 1600]).as_slice(),
            );
            whole.extend_from_slice(silence(gap_ms).samples());
        }
        let mut sequence = DtmfSequence::new(keys, tone_ms, gap_ms);
        let mut made = Vec::new();
        let mut index = 0;
        while let Some(frame) = sequence.frame(index) {
            made.extend_from_slice(&frame.samples());
            index += 1;
        }
        assert_eq!(index, whole.len().div_ceil(FRAME_SAMPLES));
        assert_eq!(&made[..whole.len()], &whole[..], "sample for sample what rendering it whole gave");
        // A hundred thousand keys an hour apart cost nothing up front.
        let mut huge = DtmfSequence::new(vec!['5'; 100_000], 100, 3_600_000);
        assert!(huge.frame(0).is_some() && huge.frame(usize::MAX / 2).is_none());
    }
}
