//! In-band DTMF detection: a Goertzel filter per DTMF frequency over each 20 ms frame, with the usual sanity checks
//! (both tones present, one per group, little else in the frame, twist within bounds), and a key counted once it
//! is heard in two frames running.

use crate::{
    frame::{FRAME_SAMPLES, Frame, SAMPLE_RATE},
    synth::{COLUMNS, KEYS, ROWS},
};

/// For each DTMF frequency (rows, then columns), the fraction of the frame's `energy` it carries (1.0 for a pure
/// sine of any amplitude). One Goertzel filter per frequency, all eight run side by side in one
/// pass over the samples: independent chains the CPU (and the vectoriser) overlap, the media engine's hottest loop.
fn fractions(frame: &[i16], energy: f64) -> [f64; 8] {
    let coefficients: [f64; 8] = std::array::from_fn(|k| {
        let frequency = if k < 4 { ROWS[k] } else { COLUMNS[k - 4] };
        2.0 * (std::f64::consts::TAU * frequency / f64::from(SAMPLE_RATE)).cos()
    });
    let (mut s1, mut s2) = ([0.0f64; 8], [0.0f64; 8]);
    for sample in frame {
        let x = f64::from(*sample);
        for k in 0..8 {
            let s0 = x + coefficients[k] * s1[k] - s2[k];
            s2[k] = s1[k];
            s1[k] = s0;
        }
    }
    let n = frame.len() as f64;
    std::array::from_fn(|k| {
        let power = s1[k] * s1[k] + s2[k] * s2[k] - coefficients[k] * s1[k] * s2[k];
        power * 2.0 / n / energy
    })
}

/// The DTMF key in one frame, if there is one.
pub fn key_in(frame: &[i16]) -> Option<char> {
    // Below about −45 dBFS there is nothing to hear.
    let floor = (f64::from(i16::MAX) * 0.0056).powi(2) * frame.len() as f64;
    let energy: f64 = frame.iter().map(|s| f64::from(*s).powi(2)).sum();
    if energy < floor {
        return None;
    }
    let fractions = fractions(frame, energy);
    let (rows, columns) = fractions.split_at(4);
    let strongest = |powers: &[f64]| {
        let (index, best) = powers.iter().copied().enumerate().fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
        let runner_up = powers.iter().enumerate().filter(|(i, _)| *i != index).map(|(_, p)| *p).fold(0.0, f64::max);
        (index, best, runner_up)
    };
    let (row, row_power, row_next) = strongest(rows);
    let (column, column_power, column_next) = strongest(columns);
    let tonal = row_power + column_power;
    let twist = row_power / column_power;
    let clean = row_next < row_power / 4.0 && column_next < column_power / 4.0;
    (tonal > 0.6 && row_power > 0.15 && column_power > 0.15 && (0.25..=4.0).contains(&twist) && clean)
        .then(|| KEYS[row][column])
}

/// Follows one stream of frames and reports each key press once.
#[derive(Debug, Clone, Default)]
pub struct Detector {
    /// The key heard in the previous frame.
    candidate: Option<char>,
    /// The key already reported, until it is released.
    held: Option<char>,
}

impl Detector {
    /// The key whose press this frame confirms, if any.
    pub fn feed(&mut self, frame: &Frame) -> Option<char> {
        let heard = match frame {
            Frame::Silence => None,
            Frame::Audio(samples) => key_in(&samples[..]),
        };
        let confirmed = heard.filter(|_| heard == self.candidate && heard != self.held);
        if confirmed.is_some() {
            self.held = confirmed;
        }
        if heard != self.held {
            // Released, or another key.
            self.held = None;
        }
        self.candidate = heard;
        confirmed
    }
}

/// Every key pressed in `samples`, with the offset (ms) of the frame that confirmed it.
pub fn keys_in(samples: &[i16]) -> Vec<(u64, char)> {
    let mut detector = Detector::default();
    samples
        .chunks(FRAME_SAMPLES)
        .enumerate()
        .filter_map(|(index, chunk)| {
            detector.feed(&Frame::from_slice(chunk)).map(|key| (index as u64 * crate::frame::FRAME_MS, key))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{dtmf, silence, tone};

    fn sequence(keys: &str) -> Vec<i16> {
        let mut samples = Vec::new();
        for key in keys.chars() {
            samples.extend_from_slice(dtmf(key, 100).unwrap().samples());
            samples.extend_from_slice(silence(100).samples());
        }
        samples
    }

    #[test]
    fn every_key_is_found_once_in_order() {
        let keys = "0123456789*#ABCD";
        let found: String = keys_in(&sequence(keys)).iter().map(|(_, k)| k).collect();
        assert_eq!(found, keys);
    }

    #[test]
    fn a_key_held_long_counts_once_and_the_same_key_twice_counts_twice() {
        let mut samples = dtmf('5', 600).unwrap().samples().to_vec();
        samples.extend_from_slice(silence(100).samples());
        samples.extend(sequence("55"));
        assert_eq!(keys_in(&samples).iter().map(|(_, k)| *k).collect::<String>(), "555");
    }

    #[test]
    fn speech_like_audio_music_and_quiet_keys_are_not_keys() {
        assert!(keys_in(tone(697.0, 500).samples()).is_empty(), "one tone of a pair");
        assert!(keys_in(crate::synth::hold_music().samples()).is_empty(), "music");
        let quiet: Vec<i16> = dtmf('1', 200).unwrap().samples().iter().map(|s| s / 200).collect();
        assert!(keys_in(&quiet).is_empty(), "below the floor");
        let mut noisy = dtmf('9', 200).unwrap().samples().to_vec();
        for (sample, noise) in noisy.iter_mut().zip(tone(300.0, 200).samples()) {
            *sample = sample.saturating_add(*noise);
        }
        assert!(keys_in(&noisy).is_empty(), "a key under something as loud is not clean");
    }

    #[test]
    fn keys_are_found_at_their_time() {
        let mut samples = silence(300).samples().to_vec();
        samples.extend(sequence("7"));
        let found = keys_in(&samples);
        assert_eq!(found.len(), 1);
        assert!((300..=360).contains(&found[0].0), "{found:?}");
    }
}
