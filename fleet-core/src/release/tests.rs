use super::*;

fn key() -> SigningKey {
    SigningKey::generate().map(|(key, _)| key).unwrap_or_else(|e| unreachable!("{e}"))
}

fn signed(key: &SigningKey, binary: &[u8]) -> String {
    let release = Release::of(binary, "0.2.0", "x86_64-linux").unwrap_or_else(|e| unreachable!("{e}"));
    key.sign(&release).render()
}

#[test]
fn keys_round_trip_through_pem_and_text() {
    let (key, pem) = SigningKey::generate().unwrap_or_else(|e| unreachable!("{e}"));
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n") && pem.ends_with("-----END PRIVATE KEY-----\n"), "{pem}");
    let again = SigningKey::from_pem(&pem).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(again.public_key(), key.public_key());
    let text = key.public_key().to_string();
    assert!(text.starts_with("ed25519:") && text.len() == 8 + 44, "{text}");
    assert_eq!(format!(" {text}\n").parse::<PublicKey>(), Ok(key.public_key()));
    for bad in ["", "ed25519:", "rsa:AAAA", "ed25519:AAAA", "ed25519:%%%"] {
        assert!(matches!(bad.parse::<PublicKey>(), Err(ReleaseError::PublicKey(_))), "{bad}");
    }
    assert!(matches!(SigningKey::from_pem("not a key"), Err(ReleaseError::PrivateKey(_))));
    let garbage = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert!(matches!(SigningKey::from_pem(garbage), Err(ReleaseError::PrivateKey(_))));
}

#[test]
fn a_signed_release_verifies_and_reads_back_byte_for_byte() {
    let key = key();
    let text = signed(&key, b"the agent");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], SIGNATURE_HEADER);
    assert_eq!(lines[1], "version: 0.2.0");
    assert_eq!(lines[2], "platform: x86_64-linux");
    assert_eq!(lines[3], format!("sha256: {}", sha256_hex(b"the agent")));
    assert_eq!(lines[4], format!("key: {}", key.public_key()));
    assert!(lines[5].starts_with("signature: "));
    let parsed = Signature::parse(&text).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(parsed.render(), text);
    let release = verify_download(b"the agent", &text, &key.public_key(), "0.2.0", "x86_64-linux");
    assert_eq!(release.map(|r| r.sha256), Ok(sha256_hex(b"the agent")));
}

#[test]
fn a_tampered_binary_is_refused() {
    let key = key();
    let text = signed(&key, b"the agent");
    let refused = verify_download(b"the agent plus", &text, &key.public_key(), "0.2.0", "x86_64-linux");
    assert!(matches!(refused, Err(ReleaseError::Tampered { .. })), "{refused:?}");
}

#[test]
fn another_key_is_refused_and_named() {
    let (ours, theirs) = (key(), key());
    let text = signed(&theirs, b"the agent");
    let refused = verify_download(b"the agent", &text, &ours.public_key(), "0.2.0", "x86_64-linux").unwrap_err();
    assert_eq!(refused, ReleaseError::OtherKey { signer: theirs.public_key().to_string(), pinned: ours.public_key().to_string() });
    // Claiming the pinned key over another key's signature does not verify.
    let forged = text.replace(&theirs.public_key().to_string(), &ours.public_key().to_string());
    let refused = verify_download(b"the agent", &forged, &ours.public_key(), "0.2.0", "x86_64-linux");
    assert!(matches!(refused, Err(ReleaseError::BadSignature(_))), "{refused:?}");
}

#[test]
fn altered_signed_lines_are_refused() {
    let key = key();
    let text = signed(&key, b"the agent");
    // A signature for 0.2.0 replayed as 0.3.0, or moved to another platform.
    let replayed = text.replace("version: 0.2.0", "version: 0.3.0");
    let refused = verify_download(b"the agent", &replayed, &key.public_key(), "0.3.0", "x86_64-linux");
    assert!(matches!(refused, Err(ReleaseError::BadSignature(_))), "{refused:?}");
    let moved = text.replace("platform: x86_64-linux", "platform: aarch64-linux");
    let refused = verify_download(b"the agent", &moved, &key.public_key(), "0.2.0", "aarch64-linux");
    assert!(matches!(refused, Err(ReleaseError::BadSignature(_))), "{refused:?}");
    // The right signature for what was asked, but another version or platform.
    let refused = verify_download(b"the agent", &text, &key.public_key(), "0.3.0", "x86_64-linux");
    assert_eq!(refused, Err(ReleaseError::WrongVersion { signed: "0.2.0".into(), asked: "0.3.0".into() }));
    let refused = verify_download(b"the agent", &text, &key.public_key(), "0.2.0", "aarch64-linux");
    assert_eq!(refused, Err(ReleaseError::WrongPlatform { signed: "x86_64-linux".into(), node: "aarch64-linux".into() }));
}

#[test]
fn unsigned_or_malformed_signatures_are_refused_with_their_line() {
    let key = key();
    let text = signed(&key, b"the agent");
    let pinned = key.public_key();
    let line_of = |sig: &str| match verify_download(b"the agent", sig, &pinned, "0.2.0", "x86_64-linux") {
        Err(ReleaseError::Format { line, .. }) => line,
        other => unreachable!("{other:?}"),
    };
    assert_eq!(line_of(""), 1, "no signature at all");
    assert_eq!(line_of("\u{7f}ELF..."), 1, "a binary where the signature should be");
    let without_signature: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
    assert_eq!(line_of(&without_signature), 6, "unsigned: the lines without a signature");
    assert_eq!(line_of(&text.replace("signature: ", "signature: x")), 6);
    assert_eq!(line_of(&format!("{text}extra: 1\n")), 7);
    assert_eq!(line_of(&text.replace("sha256: ", "sha256: A")), 4);
    assert_eq!(line_of(&text.replace("version: 0.2.0", "version: ../x")), 2);
    assert_eq!(line_of(&text.replace("\nplatform", "\n platform")), 3);
    assert!(Signature::parse(text.trim_end()).is_ok(), "the final newline is optional");
}

#[test]
fn versions_and_platforms_are_names() {
    for good in ["0.2.0", "1.0.0-rc.1", "0.1.0+build.7", "v2"] {
        assert_eq!(check_version(good), Ok(()), "{good}");
    }
    for bad in ["", "../x", "a/b", "-x", ".x", "a b", &"1".repeat(65)] {
        assert!(check_version(bad).is_err(), "{bad}");
    }
    assert_eq!(check_platform(&platform()), Ok(()));
    assert!(check_platform("X86").is_err() && check_platform("a/b").is_err());
    assert!(Release::of(b"", "bad version", "x86_64-linux").is_err());
}
