//! Media engine benchmark (BENCHMARKS.md, `scripts/bench-media`): how many calls and participants one core
//! mixes in real time, and what an idle call costs. Single-threaded on purpose: the numbers are per core.
//!
//! Run in release mode: `cargo run --release -p switchboard-media --example media_bench`.

use std::{
    collections::HashMap,
    hint::black_box,
    time::{Duration, Instant},
};

use switchboard_media::{
    Conference, FRAME_MS, Job, JobKind, Library, Lookup, Person, Plan, PortKind, Utterance, synth::tone,
};

struct Clips(HashMap<String, Lookup>);

impl Library for Clips {
    fn lookup(&self, key: &str) -> Lookup {
        self.0.get(key).cloned().unwrap_or(Lookup::Failed(format!("no clip {key}")))
    }
}

/// How much media each case runs, in frames: 10 s.
const FRAMES: u64 = 500;

fn person(id: String, on_hold: bool) -> Person {
    Person {
        id,
        sends: true,
        heard: !on_hold,
        hears: !on_hold,
        hold: on_hold.then_some(None),
        port: PortKind::Simulated,
    }
}

/// A call of the bot and `people` simulated people; each person talks for the whole run when `talking`, and the
/// bot plays a prompt when `prompt`.
fn conference(people: usize, talking: bool, prompt: bool, on_hold: usize) -> Conference {
    let mut conference = Conference::new(0, FRAMES * FRAME_MS);
    let jobs = if prompt {
        vec![Job { operation_id: "op".into(), kind: JobKind::Play { prompts: vec!["prompt".into()], looped: true } }]
    } else {
        Vec::new()
    };
    conference.set_plan(Plan {
        bot_id: "bot".into(),
        bot_present: true,
        bot_muted: false,
        people: (0..people).map(|i| person(format!("p{i}"), i < on_hold)).collect(),
        jobs,
        dtmf: Vec::new(),
    });
    if talking {
        for i in 0..people {
            let voice = tone(200.0 + 37.0 * i as f64, FRAMES * FRAME_MS);
            conference.say(&format!("p{i}"), Utterance::Audio(voice)).expect("p{i} is simulated");
        }
    }
    conference
}

/// Steps every conference frame by frame, as the server's scheduler does, and returns the wall time taken.
fn run(conferences: &mut [Conference], library: &Clips) -> Duration {
    let started = Instant::now();
    for frame in 1..=FRAMES {
        for conference in conferences.iter_mut() {
            black_box(conference.run(frame, library));
        }
    }
    started.elapsed()
}

fn report(case: &str, calls: usize, legs_per_call: usize, took: Duration) {
    let media_seconds = FRAMES as f64 * FRAME_MS as f64 / 1000.0;
    let realtime = media_seconds / took.as_secs_f64();
    let legs = calls * legs_per_call;
    let frames_per_second = (legs as u64 * FRAMES) as f64 / took.as_secs_f64();
    let per_call_frame = took.as_nanos() as f64 / (calls as u64 * FRAMES) as f64;
    println!(
        "{case}: {calls} calls × {legs_per_call} legs, {media_seconds} s of media in {:.3} s → {:.0} leg-frames/s, \
         {per_call_frame:.0} ns per call-frame, {:.1}× real time, one core keeps {:.0} such calls ({:.0} legs) in \
         real time, {:.2}% of a core for these",
        took.as_secs_f64(),
        frames_per_second,
        realtime,
        calls as f64 * realtime,
        legs as f64 * realtime,
        100.0 / realtime,
    );
}

fn main() {
    let library = Clips(HashMap::from([("prompt".to_owned(), Lookup::Ready(tone(440.0, 3000)))]));

    let mut idle: Vec<Conference> = (0..10_000).map(|_| conference(1, false, false, 0)).collect();
    report("idle, stepped anyway (the server skips idle calls)", idle.len(), 2, run(&mut idle, &library));

    let mut ivr: Vec<Conference> = (0..200).map(|_| conference(1, true, true, 0)).collect();
    report("IVR (bot prompts, caller talks)", ivr.len(), 2, run(&mut ivr, &library));

    let mut held: Vec<Conference> = (0..200).map(|_| conference(1, false, false, 1)).collect();
    report("on hold (caller hears hold music)", held.len(), 2, run(&mut held, &library));

    for people in [3, 10, 25, 50] {
        let calls = (400 / people).max(2);
        let mut meeting: Vec<Conference> = (0..calls).map(|_| conference(people, true, false, 0)).collect();
        report(&format!("meeting, everyone talks ({people} people)"), calls, people + 1, run(&mut meeting, &library));
    }
}
