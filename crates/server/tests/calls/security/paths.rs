//! A request URL is the caller's to choose: whatever its last segment, Graph's error comes back.

use crate::support::Harness;

#[tokio::test]
async fn a_multi_byte_character_where_the_action_namespace_ends_is_a_graph_error() {
    let h = Harness::start().await;
    // 15 ASCII bytes, then characters whose bytes straddle the 16 of `microsoft.graph.`.
    for segment in [
        "microsoft.graph%C3%A9answer",
        "abcdefghijklmno%F0%9F%98%80",
        "%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC%E2%82%AC",
    ] {
        let reply = h.graph("POST", &format!("/v1.0/communications/calls/c1/{segment}"), None).await;
        assert_eq!((reply.status, reply.error_code()), (400, "BadRequest"), "{segment}: {}", reply.body);
        assert!(reply.error_message().contains("Resource not found for the segment"), "{}", reply.body);
    }
}
