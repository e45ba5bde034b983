//! What a participant heard, frame by frame. Silence is kept as a count, so an hour of a quiet call costs nothing;
//! past the limit the oldest audio is dropped.

use std::collections::VecDeque;

use crate::frame::{FRAME_MS, FRAME_SAMPLES, Frame};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Run {
    Silence(u64),
    Audio(Vec<i16>),
}

impl Run {
    fn frames(&self) -> u64 {
        match self {
            Run::Silence(frames) => *frames,
            Run::Audio(samples) => (samples.len() / FRAME_SAMPLES) as u64,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Capture {
    /// The engine frame of the first frame kept.
    first_frame: u64,
    frames: u64,
    runs: VecDeque<Run>,
    limit_frames: u64,
}

impl Capture {
    /// A capture starting at engine frame `first_frame`, keeping at most `limit_ms` of the latest audio.
    pub fn new(first_frame: u64, limit_ms: u64) -> Capture {
        Capture { first_frame, frames: 0, runs: VecDeque::new(), limit_frames: (limit_ms / FRAME_MS).max(1) }
    }

    pub fn push(&mut self, frame: &Frame) {
        match (frame, self.runs.back_mut()) {
            (Frame::Silence, Some(Run::Silence(frames))) => *frames += 1,
            (Frame::Silence, _) => self.runs.push_back(Run::Silence(1)),
            (Frame::Audio(samples), Some(Run::Audio(audio))) => audio.extend_from_slice(&samples[..]),
            (Frame::Audio(samples), _) => self.runs.push_back(Run::Audio(samples.to_vec())),
        }
        self.frames += 1;
        self.trim();
    }

    /// `frames` of silence at once (a call with nothing to mix).
    pub fn push_silence(&mut self, frames: u64) {
        if frames == 0 {
            return;
        }
        match self.runs.back_mut() {
            Some(Run::Silence(count)) => *count += frames,
            _ => self.runs.push_back(Run::Silence(frames)),
        }
        self.frames += frames;
        self.trim();
    }

    fn trim(&mut self) {
        while self.frames > self.limit_frames {
            let excess = self.frames - self.limit_frames;
            let Some(front) = self.runs.front_mut() else { return };
            let dropped = match front {
                Run::Silence(frames) if *frames > excess => {
                    *frames -= excess;
                    excess
                }
                Run::Audio(samples) if samples.len() / FRAME_SAMPLES > excess as usize => {
                    samples.drain(..excess as usize * FRAME_SAMPLES);
                    excess
                }
                _ => {
                    let whole = front.frames();
                    self.runs.pop_front();
                    whole
                }
            };
            self.first_frame += dropped;
            self.frames -= dropped;
        }
    }

    /// The engine frame of the first frame kept.
    pub fn first_frame(&self) -> u64 {
        self.first_frame
    }

    pub fn duration_ms(&self) -> u64 {
        self.frames * FRAME_MS
    }

    /// The samples between two offsets (ms, from the first frame kept), clamped to what is there.
    pub fn samples(&self, from_ms: u64, to_ms: u64) -> Vec<i16> {
        let from = (from_ms / FRAME_MS).min(self.frames);
        let to = to_ms.div_ceil(FRAME_MS).clamp(from, self.frames);
        let mut samples = Vec::with_capacity(((to - from) as usize) * FRAME_SAMPLES);
        let mut position = 0u64;
        for run in &self.runs {
            let (start, end) = (position, position + run.frames());
            position = end;
            let (a, b) = (start.max(from), end.min(to));
            if a >= b {
                continue;
            }
            match run {
                Run::Silence(_) => samples.resize(samples.len() + ((b - a) as usize) * FRAME_SAMPLES, 0),
                Run::Audio(audio) => samples.extend_from_slice(
                    &audio[((a - start) as usize) * FRAME_SAMPLES..((b - start) as usize) * FRAME_SAMPLES],
                ),
            }
        }
        samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio(value: i16) -> Frame {
        Frame::from_slice(&[value; FRAME_SAMPLES])
    }

    #[test]
    fn silence_costs_a_count_and_ranges_come_back_exactly() {
        let mut capture = Capture::new(100, 60_000);
        capture.push(&audio(1));
        capture.push_silence(1_000_000 / FRAME_MS);
        capture.push(&audio(2));
        capture.push(&Frame::Silence);
        assert_eq!(capture.runs.len(), 3);
        assert_eq!(capture.duration_ms(), 60_000, "limited to the last minute");
        assert_eq!(capture.first_frame(), 100 + 50_003 - 3000);
        let tail = capture.samples(59_960, 60_000);
        assert_eq!((tail[0], tail[FRAME_SAMPLES]), (2, 0));
        assert_eq!(capture.samples(0, 20), vec![0; FRAME_SAMPLES]);
        assert_eq!(capture.samples(70_000, 80_000), Vec::<i16>::new(), "past the end");
    }

    #[test]
    fn the_oldest_audio_goes_first() {
        let mut capture = Capture::new(0, 60);
        for value in 1..=5 {
            capture.push(&audio(value));
        }
        assert_eq!(capture.first_frame(), 2);
        let kept: Vec<i16> = capture.samples(0, 60).chunks(FRAME_SAMPLES).map(|c| c[0]).collect();
        assert_eq!(kept, [3, 4, 5]);
    }
}
