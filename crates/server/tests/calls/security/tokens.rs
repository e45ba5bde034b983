//! The token service and token verification under attack: failed token requests are throttled, client assertions
//! are short-lived and good once, and tokens naming unknown keys cannot make the server read its store per request.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::support::{DEV_APP, DEV_SECRET, DEV_TENANT, Harness};

/// A token request with a client secret: (status, `Retry-After`, body).
async fn ask(h: &Harness, app: &str, secret: &str) -> (u16, Option<String>, Value) {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app),
        ("client_secret", secret),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let response = h.http.post(format!("{}/{DEV_TENANT}/oauth2/v2.0/token", h.base)).form(&form).send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap())
}

#[tokio::test]
async fn wrong_secrets_are_throttled_with_the_platforms_429() {
    let h = Harness::start().await;
    let mut statuses = Vec::new();
    for n in 0..100 {
        let (status, retry_after, body) = ask(&h, DEV_APP, &format!("wrong-{n}")).await;
        if status == 429 {
            let seconds: u64 = retry_after.expect("a Retry-After").parse().unwrap();
            assert!((1..=60).contains(&seconds), "{seconds}");
            assert_eq!(
                (body["error"].as_str(), body["error_codes"][0].as_u64()),
                (Some("temporarily_unavailable"), Some(50196))
            );
        }
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 90, "{statuses:?}");
    assert_eq!(ask(&h, DEV_APP, DEV_SECRET).await.0, 429, "held back from this address, secret unchecked");
    // Another client from the same address is not.
    h.another_app(DEV_TENANT, "Other", &["Calls.Initiate.All"]).await;
}

/// An RSA certificate registered for the dev app; the key that signs its assertions.
async fn registered_certificate(h: &Harness) -> (jsonwebtoken::EncodingKey, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let certificate = rcgen::CertificateParams::new(vec!["bot.example".into()]).unwrap().self_signed(&key).unwrap();
    let path = format!("/_admin/apps/{DEV_APP}/certificates");
    h.send("POST", &path, Some(&json!({"pem": certificate.pem()})), None).await.expect(201);
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, certificate.der());
    (jsonwebtoken::EncodingKey::from_rsa_pem(key.serialize_pem().as_bytes()).unwrap(), URL_SAFE_NO_PAD.encode(sha1))
}

#[tokio::test]
async fn client_assertions_are_short_lived_and_good_once() {
    let h = Harness::start().await;
    let (key, x5t) = registered_certificate(&h).await;
    let sign = |lifetime: i64, jti: &str| {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": DEV_APP, "sub": DEV_APP, "aud": format!("{}/{DEV_TENANT}/oauth2/v2.0/token", h.base),
            "exp": now + lifetime, "nbf": now, "iat": now, "jti": jti,
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.x5t = Some(x5t.clone());
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let present = |assertion: String| {
        let h = &h;
        async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", DEV_APP),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", &assertion),
                ("scope", "https://graph.microsoft.com/.default"),
            ];
            let url = format!("{}/{DEV_TENANT}/oauth2/v2.0/token", h.base);
            let response = h.http.post(url).form(&form).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let ten_years = present(sign(10 * 365 * 24 * 3600, &uuid::Uuid::new_v4().to_string())).await;
    assert_eq!((ten_years.0, ten_years.1["error_codes"][0].as_u64()), (401, Some(700024)), "{}", ten_years.1);
    let once = sign(600, &uuid::Uuid::new_v4().to_string());
    assert_eq!(present(once.clone()).await.0, 200, "MSAL's ten minutes are fine");
    let replayed = present(once).await;
    assert_eq!((replayed.0, replayed.1["error_codes"][0].as_u64()), (401, Some(50027)), "{}", replayed.1);
    assert!(replayed.1["error_description"].as_str().unwrap().contains("used before"));
}

/// `switchboard_signing_key_reads_total` of `/metrics`.
async fn key_reads(h: &Harness) -> u64 {
    let metrics = h.http.get(format!("{}/metrics", h.base)).send().await.unwrap().text().await.unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("switchboard_signing_key_reads_total "))
        .map_or(0, |value| value.trim().parse().unwrap())
}

#[tokio::test]
async fn tokens_naming_unknown_keys_do_not_read_the_store_per_request() {
    let h = Harness::start().await;
    let before = key_reads(&h).await;
    for n in 0..200 {
        let header = URL_SAFE_NO_PAD
            .encode(json!({"alg": "RS256", "typ": "JWT", "kid": format!("no-such-key-{n}")}).to_string());
        let forged = format!("{header}.{}.c2lnbmF0dXJl", URL_SAFE_NO_PAD.encode(b"{}"));
        let reply = h.send("GET", "/v1.0/communications/calls/x", None, Some(&forged)).await;
        assert_eq!(reply.status, 401);
        if n % 2 == 0 {
            assert_eq!(
                h.http.get(format!("{}/{DEV_TENANT}/discovery/v2.0/keys", h.base)).send().await.unwrap().status(),
                200
            );
        }
    }
    let reads = key_reads(&h).await - before;
    assert!(reads <= 3, "300 requests read the keys {reads} times");
}
