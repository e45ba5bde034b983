//! A conference, frame by frame: who hears whom, what the bot plays and records, the keys pressed, and what
//! everyone heard — checked by analysing the captured audio, not by looking at flags.

use std::collections::HashMap;

use switchboard_media::{
    Conference, DtmfJob, Event, Job, JobKind, JobOutcome, LegInput, Library, Lookup, Person, Plan, PortError, PortKind,
    RecordEnd, RecordPlan, Utterance,
    analysis::{Analysis, analyze},
    synth::{silence, tone},
};

#[derive(Default)]
struct Files(HashMap<String, Lookup>);

impl Library for Files {
    fn lookup(&self, key: &str) -> Lookup {
        self.0.get(key).cloned().unwrap_or(Lookup::Failed(format!("no such file {key}")))
    }
}

fn person(id: &str) -> Person {
    Person { id: id.into(), sends: true, heard: true, hears: true, hold: None, port: PortKind::Simulated }
}

fn plan(people: &[&str]) -> Plan {
    Plan {
        bot_id: "bot".into(),
        bot_present: true,
        people: people.iter().map(|p| person(p)).collect(),
        ..Plan::default()
    }
}

const SECOND: u64 = 50;

/// Runs `frames` frames, collecting every event with the frame it happened in.
fn run(conference: &mut Conference, frames: u64, library: &dyn Library) -> Vec<(u64, Event)> {
    let until = conference.frame() + frames;
    let mut all = Vec::new();
    while conference.frame() < until {
        for event in conference.run(until, library) {
            all.push((conference.frame() - 1, event));
        }
    }
    all
}

fn heard(conference: &Conference, leg: &str, from_ms: u64, to_ms: u64) -> Analysis {
    analyze(&conference.capture(leg).unwrap().samples(from_ms, to_ms))
}

/// The dominant frequency around the middle of a stretch of what a leg heard.
fn pitch(conference: &Conference, leg: &str, from_ms: u64, to_ms: u64) -> Option<f64> {
    let analysis = heard(conference, leg, from_ms, to_ms);
    analysis.windows[analysis.windows.len() / 2].dominant_hz
}

fn silent(conference: &Conference, leg: &str, from_ms: u64, to_ms: u64) -> bool {
    let analysis = heard(conference, leg, from_ms, to_ms);
    analysis.duration_ms > 0
        && analysis.silences.len() == 1
        && analysis.silences[0].from_ms == 0
        && analysis.silences[0].to_ms == analysis.duration_ms
}

fn near(hz: Option<f64>, expected: f64) -> bool {
    hz.is_some_and(|hz| (hz - expected).abs() < 5.0)
}

#[test]
fn everyone_hears_everyone_else_but_not_a_muted_or_held_person() {
    let mut c = Conference::new(0, 600_000);
    c.set_plan(plan(&["a", "b", "c"]));
    c.say("a", Utterance::Audio(tone(440.0, 2000))).unwrap();
    c.say("b", Utterance::Audio(tone(880.0, 2000))).unwrap();
    run(&mut c, SECOND, &Files::default());
    assert!(near(pitch(&c, "a", 0, 1000), 880.0), "a hears b, not itself");
    assert!(near(pitch(&c, "b", 0, 1000), 440.0), "b hears a");
    let c_heard = heard(&c, "c", 0, 1000);
    assert!(c_heard.windows[5].level_dbfs.unwrap() > -20.0, "c hears both");
    assert!(near(pitch(&c, "bot", 0, 1000), 440.0) || near(pitch(&c, "bot", 0, 1000), 880.0), "the bot too");

    // Muted by the server: a is dropped before mixing, and still hears.
    let mut muted = plan(&["a", "b", "c"]);
    muted.people[0].heard = false;
    c.set_plan(muted);
    run(&mut c, SECOND, &Files::default());
    assert!(near(pitch(&c, "c", 1000, 2000), 880.0), "c hears b only");
    assert!(silent(&c, "b", 1000, 2000), "b hears nobody");
    assert!(near(pitch(&c, "a", 1000, 2000), 880.0), "a still hears b");

    // On hold: b hears the music, nobody hears b.
    let mut held = plan(&["a", "b", "c"]);
    held.people[1] =
        Person { id: "b".into(), sends: true, heard: false, hears: false, hold: Some(None), port: PortKind::Simulated };
    c.set_plan(held);
    c.say("a", Utterance::Audio(tone(440.0, 2000))).unwrap();
    c.say("b", Utterance::Audio(tone(880.0, 2000))).unwrap();
    run(&mut c, 2 * SECOND, &Files::default());
    let music = heard(&c, "b", 2000, 4000);
    assert!(music.windows.iter().all(|w| w.level_dbfs.is_some_and(|l| l > -45.0)), "music all along: {music:?}");
    assert!(music.windows.iter().all(|w| !near(w.dominant_hz, 440.0)), "not a's voice");
    assert!(near(pitch(&c, "c", 2000, 3000), 440.0), "c hears a, not b");
}

fn play(id: &str, prompts: &[&str]) -> Job {
    Job {
        operation_id: id.into(),
        kind: JobKind::Play { prompts: prompts.iter().map(|p| p.to_string()).collect(), looped: false },
    }
}

#[test]
fn prompts_play_in_queue_order_then_report_done() {
    let files = Files(HashMap::from([
        ("low".to_owned(), Lookup::Ready(tone(300.0, 1000))),
        ("high".to_owned(), Lookup::Ready(tone(1200.0, 500))),
    ]));
    let mut c = Conference::new(1000, 600_000);
    let mut p = plan(&["a"]);
    p.jobs = vec![play("first", &["low", "high"]), play("second", &["high"])];
    c.set_plan(p.clone());
    let events = run(&mut c, 80, &files);
    assert_eq!(events, [(1000 + 75, Event::JobDone { operation_id: "first".into(), outcome: JobOutcome::Played })]);
    assert!(near(pitch(&c, "a", 0, 1000), 300.0));
    assert!(near(pitch(&c, "a", 1000, 1500), 1200.0));
    assert!(silent(&c, "bot", 0, 800), "the bot does not hear its own prompts");
    // The call takes note: the first job leaves the plan, the second runs.
    p.jobs.remove(0);
    c.set_plan(p);
    let events = run(&mut c, 40, &files);
    assert_eq!(events.len(), 1);
    assert!(near(pitch(&c, "a", 1550, 2000), 1200.0));
}

#[test]
fn a_prompt_waits_for_its_file_fails_when_unplayable_and_stops_when_cancelled() {
    let mut files = Files(HashMap::from([("slow".to_owned(), Lookup::Pending)]));
    let mut c = Conference::new(0, 600_000);
    let mut p = plan(&["a"]);
    p.jobs = vec![play("waiting", &["slow"])];
    c.set_plan(p.clone());
    assert_eq!(run(&mut c, 10, &files), []);
    assert!(silent(&c, "a", 0, 200), "nothing to play yet");
    files.0.insert("slow".into(), Lookup::Ready(tone(500.0, 4000)));
    run(&mut c, SECOND, &files);
    assert!(near(pitch(&c, "a", 200, 1200), 500.0));
    // Cancelled mid-way: the plan drops it and the audio stops at the next frame.
    p.jobs.clear();
    c.set_plan(p.clone());
    assert_eq!(run(&mut c, SECOND, &files), []);
    assert!(silent(&c, "a", 1220, 2220), "cut off");

    p.jobs = vec![play("broken", &["missing"])];
    c.set_plan(p);
    let events = run(&mut c, 1, &files);
    assert_eq!(
        events[0].1,
        Event::JobDone {
            operation_id: "broken".into(),
            outcome: JobOutcome::PromptFailed("no such file missing".into())
        }
    );
}

#[test]
fn a_looping_prompt_never_ends_and_a_muted_bot_is_not_heard() {
    let files = Files(HashMap::from([("loop".to_owned(), Lookup::Ready(tone(700.0, 300)))]));
    let mut c = Conference::new(0, 600_000);
    let mut p = plan(&["a"]);
    p.jobs = vec![Job { operation_id: "l".into(), kind: JobKind::Play { prompts: vec!["loop".into()], looped: true } }];
    c.set_plan(p.clone());
    assert_eq!(run(&mut c, 5 * SECOND, &files), []);
    assert!(near(pitch(&c, "a", 4000, 5000), 700.0), "still going after 5 s");
    p.bot_muted = true;
    c.set_plan(p);
    run(&mut c, SECOND, &files);
    assert!(silent(&c, "a", 5000, 6000));
}

fn record(stop_keys: &str) -> Job {
    Job {
        operation_id: "rec".into(),
        kind: JobKind::Record(RecordPlan {
            prompt: None,
            beep: true,
            initial_silence_ms: 3000,
            max_silence_ms: 2000,
            max_duration_ms: 10_000,
            stop_keys: stop_keys.chars().collect(),
        }),
    }
}

fn recorded(events: &[(u64, Event)]) -> (Vec<i16>, RecordEnd) {
    match &events.last().unwrap().1 {
        Event::JobDone { outcome: JobOutcome::Recorded { samples, end }, .. } => (samples.clone(), *end),
        other => panic!("not a recording: {other:?}"),
    }
}

#[test]
fn a_recording_beeps_then_keeps_what_was_said_until_a_stop_key() {
    let mut c = Conference::new(0, 600_000);
    let mut p = plan(&["a"]);
    p.jobs = vec![record("#")];
    c.set_plan(p);
    // The beep lasts 400 ms; then a speaks for a second and presses # (an RFC 4733 event).
    c.say("a", Utterance::Audio(silence(500))).unwrap();
    c.say("a", Utterance::Audio(tone(600.0, 1000))).unwrap();
    c.say("a", Utterance::Keys { keys: vec!['#'], in_band: false, tone_ms: 100, gap_ms: 100 }).unwrap();
    let events = run(&mut c, 5 * SECOND, &Files::default());
    assert!(near(pitch(&c, "a", 0, 400), 1000.0), "a heard the beep");
    assert_eq!(events[0].1, Event::KeyPressed { person: "a".into(), key: '#' });
    let (samples, end) = recorded(&events);
    assert_eq!(end, RecordEnd::StopKey('#'));
    let analysis = analyze(&samples);
    assert!(analysis.windows.iter().any(|w| near(w.dominant_hz, 600.0)), "what a said is in it");
    assert!((1000..=1300).contains(&analysis.duration_ms), "{} ms", analysis.duration_ms);
}

#[test]
fn a_recording_ends_on_its_timeouts() {
    let quiet = {
        let mut c = Conference::new(0, 600_000);
        let mut p = plan(&["a"]);
        p.jobs = vec![record("")];
        c.set_plan(p);
        run(&mut c, 10 * SECOND, &Files::default())
    };
    assert_eq!(quiet.len(), 1);
    assert_eq!(quiet[0].0, 20 + 150 - 1, "the beep, then 3 s of initial silence");
    assert!(matches!(&quiet[0].1, Event::JobDone { outcome: JobOutcome::NothingHeard, .. }));

    let mut c = Conference::new(0, 600_000);
    let mut p = plan(&["a"]);
    p.jobs = vec![record("")];
    c.set_plan(p.clone());
    c.say("a", Utterance::Audio(tone(600.0, 1400))).unwrap();
    let events = run(&mut c, 10 * SECOND, &Files::default());
    assert_eq!(recorded(&events).1, RecordEnd::MaxSilence, "2 s of silence after speaking");

    let mut c = Conference::new(0, 600_000);
    c.set_plan(p);
    c.say("a", Utterance::Audio(tone(600.0, 20_000))).unwrap();
    let events = run(&mut c, 20 * SECOND, &Files::default());
    let (samples, end) = recorded(&events);
    assert_eq!((end, samples.len()), (RecordEnd::MaxDuration, 10 * 16_000));
}

#[test]
fn keys_pressed_in_band_and_sent_by_the_bot_are_heard_as_keys() {
    let mut c = Conference::new(0, 600_000);
    let mut p = plan(&["a", "b"]);
    p.dtmf = vec![DtmfJob { operation_id: "send".into(), keys: vec!['1', '2'], gap_ms: 200 }];
    c.set_plan(p);
    c.say("a", Utterance::Audio(silence(700))).unwrap();
    c.say("a", Utterance::Keys { keys: vec!['9', '*'], in_band: true, tone_ms: 100, gap_ms: 100 }).unwrap();
    let events = run(&mut c, 2 * SECOND, &Files::default());
    let pressed: Vec<&Event> = events.iter().map(|(_, e)| e).collect();
    assert!(pressed.contains(&&Event::KeyPressed { person: "a".into(), key: '9' }));
    assert!(pressed.contains(&&Event::KeyPressed { person: "a".into(), key: '*' }));
    assert!(pressed.contains(&&Event::DtmfDone { operation_id: "send".into() }));
    let b_heard: String = heard(&c, "b", 0, 2000).keys.iter().map(|k| k.key).collect();
    assert_eq!(b_heard, "129*", "b hears the bot's keys, then a's");
    let a_heard: String = heard(&c, "a", 0, 2000).keys.iter().map(|k| k.key).collect();
    assert_eq!(a_heard, "12", "a hears the bot's keys");
}

#[test]
fn an_idle_call_skips_ahead_at_no_cost() {
    let mut c = Conference::new(0, 7_200_000);
    c.set_plan(plan(&["a"]));
    let hour = 60 * 60 * SECOND;
    assert_eq!(c.run(hour, &Files::default()), []);
    assert_eq!(c.frame(), hour);
    assert_eq!(c.capture("a").unwrap().duration_ms(), 3_600_000);
    c.say("a", Utterance::Audio(tone(440.0, 200))).unwrap();
    run(&mut c, 20, &Files::default());
    assert!(near(pitch(&c, "bot", 3_600_000, 3_600_200), 440.0), "time is where it should be");
}

#[test]
fn only_the_next_few_prompts_are_asked_for() {
    let mut c = Conference::new(0, 600_000);
    let prompts = |job: &str| (0..5).map(|n| format!("{job}-{n}.wav")).collect::<Vec<_>>();
    let jobs = ["first", "second"]
        .map(|job| Job { operation_id: job.into(), kind: JobKind::Play { prompts: prompts(job), looped: false } });
    c.set_plan(Plan { jobs: jobs.to_vec(), ..plan(&["a"]) });
    assert_eq!(c.needed_media(), ["first-0.wav", "first-1.wav", "first-2.wav"], "not all ten");
    let files = Files(
        ["first", "second"]
            .iter()
            .flat_map(|job| prompts(job))
            .map(|key| (key, Lookup::Ready(tone(440.0, 100))))
            .collect(),
    );
    run(&mut c, 22, &files); // 0.44 s: four prompts of 0.1 s played
    assert_eq!(c.needed_media(), ["first-4.wav", "second-0.wav", "second-1.wav"], "the queue moved on");
}

fn remote(id: &str) -> Person {
    Person { port: PortKind::Remote, ..person(id) }
}

/// Runs `frames` frames with a remote leg's transport in the loop: each frame it hands in the next frame of
/// `sends` (silence past its end) and takes what the leg heard. Returns what the transport took, as samples.
fn run_with_transport(c: &mut Conference, leg: &str, sends: &switchboard_media::Clip, frames: u64) -> Vec<i16> {
    let mut taken = Vec::new();
    for index in 0..frames {
        let frame = sends.frame(index as usize).unwrap_or(switchboard_media::Frame::Silence);
        c.handle_input(leg, LegInput::Audio(frame)).unwrap();
        run(c, 1, &Files::default());
        while let Some(frame) = c.poll_output(leg).unwrap() {
            taken.extend_from_slice(&frame.samples());
        }
    }
    taken
}

#[test]
fn a_remote_leg_is_mixed_like_anyone_else_and_its_transport_gets_what_it_heard() {
    let mut c = Conference::new(0, 600_000);
    c.set_plan(Plan { people: vec![person("a"), remote("r")], ..plan(&[]) });
    c.say("a", Utterance::Audio(tone(440.0, 2000))).unwrap();
    let taken = run_with_transport(&mut c, "r", &tone(880.0, 2000), SECOND);
    let transport_heard = analyze(&taken);
    assert_eq!(transport_heard.duration_ms, 1000, "one frame out per frame in");
    assert!(near(transport_heard.windows[5].dominant_hz, 440.0), "r hears a, not itself");
    assert_eq!(taken, c.capture("r").unwrap().samples(0, 1000), "what r's transport took is what r heard");
    assert!(near(pitch(&c, "a", 0, 1000), 880.0), "a hears r");
    // Muted by the server, r is not heard, though its transport keeps sending.
    c.set_plan(Plan { people: vec![person("a"), Person { heard: false, ..remote("r") }], ..plan(&[]) });
    run_with_transport(&mut c, "r", &tone(880.0, 1000), SECOND);
    let a_heard = analyze(&c.capture("a").unwrap().samples(1000, 2000));
    assert!(a_heard.windows.iter().all(|w| !near(w.dominant_hz, 880.0)), "a no longer hears r");
}

#[test]
fn keys_from_a_remote_leg_are_heard_as_events_and_in_band() {
    let mut c = Conference::new(0, 600_000);
    c.set_plan(Plan { people: vec![remote("r")], ..plan(&[]) });
    c.handle_input("r", LegInput::Key('5')).unwrap();
    let mut events = run(&mut c, 1, &Files::default());
    let mut in_band = switchboard_media::synth::DtmfSequence::new(vec!['7'], 100, 100);
    for index in 0..10 {
        c.handle_input("r", LegInput::Audio(in_band.frame(index).unwrap())).unwrap();
        events.extend(run(&mut c, 1, &Files::default()));
    }
    let keys: Vec<char> = events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::KeyPressed { person, key } if person == "r" => Some(*key),
            _ => None,
        })
        .collect();
    assert_eq!(keys, ['5', '7'], "the RFC 4733 event at once, the tone once heard");
}

#[test]
fn a_remote_leg_keeps_the_conference_running_and_its_queues_bounded() {
    let mut c = Conference::new(0, 600_000);
    c.set_plan(plan(&["a"]));
    assert_eq!(c.poll_timeout(), None, "nothing can sound");
    c.set_plan(Plan { people: vec![person("a"), remote("r")], ..plan(&[]) });
    assert_eq!(c.poll_timeout(), Some(1), "a real endpoint may speak at any frame");
    assert_eq!(c.say("r", Utterance::Audio(tone(440.0, 100))), Err(PortError::NotSimulated("r".into())));
    assert_eq!(c.handle_input("a", LegInput::Key('1')), Err(PortError::NotRemote("a".into())));
    assert_eq!(c.handle_input("x", LegInput::Key('1')), Err(PortError::UnknownLeg("x".into())));
    assert_eq!(c.poll_output("a"), Err(PortError::NotRemote("a".into())), "a simulated leg has no transport");
    // A transport running ahead: only the newest second waits; the conference is not a second further behind.
    // (1 kHz: a whole number of cycles per frame, so frames repeated make one continuous tone.)
    for _ in 0..3 * switchboard_media::leg::REMOTE_QUEUE_FRAMES {
        c.handle_input("r", LegInput::Audio(tone(1000.0, 20).frame(0).unwrap())).unwrap();
    }
    run(&mut c, 2 * SECOND, &Files::default());
    assert!(near(pitch(&c, "a", 0, 1000), 1000.0));
    assert!(silent(&c, "a", 1000, 2000), "the queue held one second");
    // Nobody took what r heard for two seconds: only the newest second waits.
    let mut waiting = 0;
    while c.poll_output("r").unwrap().is_some() {
        waiting += 1;
    }
    assert_eq!(waiting, switchboard_media::leg::REMOTE_QUEUE_FRAMES);
    c.set_plan(plan(&["a"]));
    assert_eq!(c.poll_timeout(), None, "idle again once the real endpoint left");
}
