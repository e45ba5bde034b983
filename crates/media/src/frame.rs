//! The unit everything inside the engine works on: 20 ms of 16 kHz mono 16-bit PCM.

use std::sync::Arc;

pub const SAMPLE_RATE: u32 = 16_000;
pub const FRAME_MS: u64 = 20;
pub const FRAME_SAMPLES: usize = 320;

pub type Samples = [i16; FRAME_SAMPLES];

/// One 20 ms frame. Silence carries no samples, so a silent call mixes and captures nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Silence,
    Audio(Box<Samples>),
}

impl Frame {
    pub fn is_silent(&self) -> bool {
        matches!(self, Frame::Silence)
    }

    /// The frame's samples, zeros for silence.
    pub fn samples(&self) -> Samples {
        match self {
            Frame::Silence => [0; FRAME_SAMPLES],
            Frame::Audio(samples) => **samples,
        }
    }

    /// A frame from up to `FRAME_SAMPLES` samples, padded with zeros.
    pub fn from_slice(samples: &[i16]) -> Frame {
        let mut frame = [0; FRAME_SAMPLES];
        let n = samples.len().min(FRAME_SAMPLES);
        frame[..n].copy_from_slice(&samples[..n]);
        Frame::Audio(Box::new(frame))
    }
}

/// A sum of frames, wide enough not to overflow before it is clipped back to 16 bits.
#[derive(Debug, Clone)]
pub struct Mix {
    sum: Option<Box<[i32; FRAME_SAMPLES]>>,
}

impl Mix {
    pub fn new() -> Mix {
        Mix { sum: None }
    }

    pub fn add(&mut self, frame: &Frame) {
        if let Frame::Audio(samples) = frame {
            let sum = self.sum.get_or_insert_with(|| Box::new([0; FRAME_SAMPLES]));
            for (total, sample) in sum.iter_mut().zip(samples.iter()) {
                *total += i32::from(*sample);
            }
        }
    }

    /// This mix without `frame` (N−1 mixing: everyone's sum, minus what the listener said).
    pub fn without(&self, frame: &Frame) -> Frame {
        match (&self.sum, frame) {
            (None, _) => Frame::Silence,
            (Some(sum), Frame::Silence) => clip(sum),
            (Some(sum), Frame::Audio(own)) => {
                let mut rest = **sum;
                for (total, sample) in rest.iter_mut().zip(own.iter()) {
                    *total -= i32::from(*sample);
                }
                clip(&rest)
            }
        }
    }

    pub fn frame(&self) -> Frame {
        self.sum.as_ref().map_or(Frame::Silence, |sum| clip(sum))
    }
}

impl Default for Mix {
    fn default() -> Mix {
        Mix::new()
    }
}

fn clip(sum: &[i32; FRAME_SAMPLES]) -> Frame {
    if sum.iter().all(|s| *s == 0) {
        return Frame::Silence;
    }
    let mut frame = [0i16; FRAME_SAMPLES];
    for (out, total) in frame.iter_mut().zip(sum.iter()) {
        *out = (*total).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    }
    Frame::Audio(Box::new(frame))
}

/// A piece of audio at the engine's rate: a prompt, a track, what a simulated person says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    samples: Arc<[i16]>,
}

impl Clip {
    pub fn new(samples: Vec<i16>) -> Clip {
        Clip { samples: samples.into() }
    }

    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    pub fn duration_ms(&self) -> u64 {
        self.samples.len() as u64 * 1000 / u64::from(SAMPLE_RATE)
    }

    /// Frame number `index` of the clip, if it is that long (the last one padded with zeros).
    pub fn frame(&self, index: usize) -> Option<Frame> {
        let start = index.checked_mul(FRAME_SAMPLES)?;
        (start < self.samples.len()).then(|| Frame::from_slice(&self.samples[start..]))
    }

    pub fn frames(&self) -> usize {
        self.samples.len().div_ceil(FRAME_SAMPLES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixing_leaves_out_the_listener_and_clips_instead_of_wrapping() {
        let a = Frame::from_slice(&[20_000; FRAME_SAMPLES]);
        let b = Frame::from_slice(&[30_000; FRAME_SAMPLES]);
        let mut mix = Mix::new();
        mix.add(&a);
        mix.add(&b);
        mix.add(&Frame::Silence);
        assert_eq!(mix.without(&a), b, "a hears b");
        assert_eq!(mix.without(&b), a, "b hears a");
        assert_eq!(mix.frame().samples()[0], i16::MAX, "50 000 clipped, not wrapped");
        assert_eq!(Mix::new().without(&a), Frame::Silence);
        let mut alone = Mix::new();
        alone.add(&a);
        assert!(alone.without(&a).is_silent(), "nobody else: silence, not zeros");
    }

    #[test]
    fn clips_come_in_frames() {
        let clip = Clip::new(vec![7; FRAME_SAMPLES + 10]);
        assert_eq!((clip.frames(), clip.duration_ms()), (2, 20));
        assert_eq!(clip.frame(1).unwrap().samples()[..10], [7; 10]);
        assert_eq!(clip.frame(1).unwrap().samples()[10], 0, "padded");
        assert_eq!(clip.frame(2), None);
    }
}
