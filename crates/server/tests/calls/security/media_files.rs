//! `/_sim` speech names files of the media library, never paths on the disk (bots' prompts cannot name library
//! files at all: their URIs must be http or https).

use serde_json::json;

use crate::{media::call_with_alice, support::Harness};

/// A WAV of a tone outside the media library (next to the data directory).
fn tone_outside_the_library(h: &Harness) -> String {
    let wav = switchboard_media::codec::wav(switchboard_media::synth::tone(440.0, 1000).samples());
    let path = h.data_dir().parent().unwrap().join("outside.wav");
    std::fs::write(&path, wav).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn speech_names_library_files_and_says_nothing_about_other_paths() {
    let h = Harness::start().await;
    let (id, alice) = call_with_alice(&h).await;
    let outside = tone_outside_the_library(&h);
    let say = |media: String| {
        let path = format!("/calls/{id}/participants/{alice}/say");
        let h = &h;
        async move { h.sim("POST", &path, Some(&json!({ "media": media }))).await }
    };
    let refused = say(outside.clone()).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let not_there = say("/no/such/file.wav".to_owned()).await;
    let missing = say("missing.wav".to_owned()).await;
    assert_eq!((not_there.status, missing.status), (400, 400));
    // An existing file and a missing one outside the library get the same answer, but for the name.
    let unnamed = |reply: &crate::support::Reply, name: &str| reply.error_message().replace(name, "<name>");
    assert_eq!(unnamed(&refused, &outside), unnamed(&not_there, "/no/such/file.wav"));
    assert_eq!(unnamed(&refused, &outside), unnamed(&missing, "missing.wav"));
    assert!(!refused.error_message().contains("No such file"), "{}", refused.error_message());
    for sneaky in ["../switchboard.sqlite", "media/../../outside.wav", ".hidden"] {
        assert_eq!(say(sneaky.to_owned()).await.status, 400, "{sneaky}");
    }
    h.advance(2.0).await;
    assert_eq!(h.heard(&id, "bot").await.ms_of(440.0), 0, "nothing outside the library was said");
}
