//! The roofline: hyper alone, answering every request with the same small JSON body — what HTTP/1.1 on loopback
//! costs on this machine before any work is done.

use std::{convert::Infallible, net::SocketAddr};

use http_body_util::Full;
use hyper::{Response, body::Bytes, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;

/// Shaped like an operation Graph returns, so the bytes on the wire are comparable.
const BODY: &str = r##"{"@odata.type":"#microsoft.graph.muteParticipantOperation","id":"17e3b46c-f61d-4f4d-9635-c626ef18e6ad","status":"completed","clientContext":"bench"}"##;

pub(crate) async fn serve(listen: SocketAddr) -> Result<(), String> {
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("baseline listening on http://{address}");
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let service = service_fn(|_request| async {
                Ok::<_, Infallible>(
                    Response::builder()
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
                        .expect("a fixed response is valid"),
                )
            });
            // A connection that breaks is the client's business.
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
