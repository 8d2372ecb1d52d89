//! The presets Gitea/Forgejo, PagerDuty and Azure DevOps need: real vectors where the
//! product or its client libraries publish them, and each way a request can be wrong.

use super::super::schemes::{AUTHORIZATION, GITEA_SIGNATURE, PAGERDUTY_SIGNATURE};
use super::*;

const GITEA: &str = include_str!("../../../fixtures/signatures/gitea.json");

#[test]
fn gitea_vectors_under_either_header_name() {
    let doc: Value = serde_json::from_str(GITEA).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 4);
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        let secret = v["secret"].as_str().unwrap();
        let body = v["payload"].as_str().unwrap().as_bytes();
        let signature = v["headers"]["X-Gitea-Signature"].as_str().unwrap();
        let gitea = preset(Preset::Gitea, &["rotated-out", secret]);
        for name in GITEA_SIGNATURE {
            let map = headers(&[(name, signature)]);
            assert_eq!(run(&gitea, &map, body, at(0)), Ok(()), "{id} {name}");
        }
        let map = headers(&[(GITEA_SIGNATURE[0], signature)]);
        let tampered = [body, b" "].concat();
        assert_eq!(
            run(&gitea, &map, &tampered, at(0)),
            Err(Rejected::SignatureMismatch),
            "{id}"
        );
        // Gitea sends bare hex; GitHub's `sha256=` form is not what it signs.
        let prefixed = headers(&[(GITEA_SIGNATURE[0], &format!("sha256={signature}"))]);
        assert_eq!(
            run(&gitea, &prefixed, body, at(0)),
            Err(Rejected::NotHex(GITEA_SIGNATURE[0].into())),
            "{id}"
        );
    }
}

fn pagerduty(list: &str) -> HeaderMap {
    headers(&[(PAGERDUTY_SIGNATURE, list)])
}

#[test]
fn pagerduty_any_v1_entry_may_match() {
    let body = b"{\"event\":{\"event_type\":\"pagey.ping\"}}";
    let good = hex256("new", body);
    let other = hex256("someone else", body);
    let chosen = preset(Preset::Pagerduty, &["new"]);
    for list in [
        format!("v1={good}"),
        format!("v1={other},v1={good}"),
        format!("v1={other}, v1={good}"),
        format!("v0=abc,v1={good}"),
    ] {
        assert_eq!(
            run(&chosen, &pagerduty(&list), body, at(0)),
            Ok(()),
            "{list}"
        );
    }
    assert_eq!(
        run(&chosen, &pagerduty(&format!("v1={other}")), body, at(0)),
        Err(Rejected::SignatureMismatch)
    );
    assert_eq!(
        run(&chosen, &pagerduty(&format!("v2={good}")), body, at(0)),
        Err(Rejected::NoV1In(PAGERDUTY_SIGNATURE.into()))
    );
    assert_eq!(
        run(&chosen, &pagerduty("v1=zz"), body, at(0)),
        Err(Rejected::NotHex(PAGERDUTY_SIGNATURE.into()))
    );
    assert_eq!(
        run(&chosen, &HeaderMap::new(), body, at(0)),
        Err(Rejected::MissingHeader(PAGERDUTY_SIGNATURE.into()))
    );
}

#[test]
fn pagerduty_candidates_and_header_length_are_capped() {
    let body = b"{}";
    let good = hex256("k", body);
    let chosen = preset(Preset::Pagerduty, &["k"]);
    let decoys = vec![format!("v1={}", "00".repeat(32)); MAX_CANDIDATES];
    let late = format!("{},v1={good}", decoys.join(","));
    assert_eq!(
        run(&chosen, &pagerduty(&late), body, at(0)),
        Err(Rejected::SignatureMismatch),
        "an entry past the first {MAX_CANDIDATES} is not compared"
    );
    let long = format!("v1={good},{}", "x".repeat(MAX_SIGNATURE_HEADER));
    assert_eq!(
        run(&chosen, &pagerduty(&long), body, at(0)),
        Err(Rejected::TooLong {
            header: PAGERDUTY_SIGNATURE.into(),
            limit: MAX_SIGNATURE_HEADER
        })
    );
}

#[test]
fn pagerduty_replay_key_does_not_depend_on_the_list_around_the_signature() {
    let body = b"{\"event\":{}}";
    let good = hex256("k", body);
    let chosen = preset(Preset::Pagerduty, &["k"]);
    let key = |list: &str| {
        let map = pagerduty(list);
        let request = Unverified {
            headers: &map,
            query: None,
            body: bytes::Bytes::from_static(body),
        };
        check(Some(&chosen), request, at(0))
            .unwrap()
            .replay_key()
            .map(str::to_string)
    };
    let alone = key(&format!("v1={good}"));
    assert_eq!(alone, Some(format!("signature:{good}")));
    assert_eq!(key(&format!("v1={},v1={good}", "11".repeat(32))), alone);
}

fn basic(credentials: &str) -> HeaderMap {
    headers(&[(
        AUTHORIZATION,
        &format!("Basic {}", BASE64.encode(credentials)),
    )])
}

#[test]
fn basic_with_or_without_a_user_name() {
    // RFC 7617's example: `Aladdin:open sesame` is `QWxhZGRpbjpvcGVuIHNlc2FtZQ==`.
    let rfc = headers(&[(AUTHORIZATION, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")]);
    let named = Verify::Basic {
        user: Some("Aladdin".into()),
        passwords: vec!["old".into(), "open sesame".into()],
    };
    let anyone = Verify::Basic {
        user: None,
        passwords: vec!["open sesame".into()],
    };
    assert_eq!(run(&named, &rfc, b"{}", at(0)), Ok(()));
    assert_eq!(run(&anyone, &rfc, b"{}", at(0)), Ok(()));
    assert_eq!(
        run(&anyone, &basic("azure:open sesame"), b"", at(0)),
        Ok(())
    );
    // A password may hold colons: the user name ends at the first.
    let colons = Verify::Basic {
        user: None,
        passwords: vec!["a:b:c".into()],
    };
    assert_eq!(run(&colons, &basic("u:a:b:c"), b"", at(0)), Ok(()));
    for wrong in [
        "azure:open sesame",
        "Aladdin:open",
        "Aladdin:",
        ":open sesame",
    ] {
        assert_eq!(
            run(&named, &basic(wrong), b"", at(0)),
            Err(Rejected::BasicMismatch),
            "{wrong}"
        );
    }
}

#[test]
fn basic_refuses_other_schemes_and_bad_encodings() {
    let verify = Verify::Basic {
        user: None,
        passwords: vec!["p".into()],
    };
    let not_basic = Err(Rejected::NotBasic(AUTHORIZATION.into()));
    for value in ["Bearer cDpw", "Basic", "cDpw", "Basic bm9jb2xvbg=="] {
        let map = headers(&[(AUTHORIZATION, value)]);
        assert_eq!(run(&verify, &map, b"", at(0)), not_basic, "{value}");
    }
    let map = headers(&[(AUTHORIZATION, "Basic !!!")]);
    assert_eq!(
        run(&verify, &map, b"", at(0)),
        Err(Rejected::NotBase64(AUTHORIZATION.into()))
    );
    // The scheme name is case-insensitive (RFC 9110).
    let map = headers(&[(AUTHORIZATION, "basic dTpw")]);
    assert_eq!(run(&verify, &map, b"", at(0)), Ok(()));
    assert_eq!(
        run(&verify, &HeaderMap::new(), b"", at(0)),
        Err(Rejected::MissingHeader(AUTHORIZATION.into()))
    );
}
