//! One conformance suite for every blob store: files (the default) and an S3 bucket (a real
//! SeaweedFS). Each must store, find, return and delete by content hash, store many at once,
//! take a blob larger than one multipart part, refuse names that are not hashes, and say whether
//! it is ready; and S3 must say so plainly when its bucket or credentials are wrong.

use plico_store::blobs::{blob_hash, BlobError, BlobStore, FsBlobStore};
use plico_store::s3::{S3BlobStore, S3Config};

fn conformance(store: &dyn BlobStore) {
    store.ready().expect("ready");
    let small = b"ciphertext, small".to_vec();
    let hash = store.put(&small).expect("puts");
    assert_eq!(hash, blob_hash(&small), "named by content");
    assert!(store.contains(&hash));
    assert_eq!(store.get(&hash).expect("gets"), small);
    assert_eq!(store.put(&small).expect("puts again"), hash, "the same bytes, the same blob");

    let many: Vec<Vec<u8>> = (0..12).map(|n| format!("message {n}").repeat(100 + n).into_bytes()).collect();
    let slices: Vec<&[u8]> = many.iter().map(Vec::as_slice).collect();
    let names = store.put_many(&slices).expect("puts many");
    for (name, bytes) in names.iter().zip(&many) {
        assert_eq!(&store.get(name).expect("each one"), bytes);
    }

    // Larger than one multipart part (8 MiB), and not a multiple of it.
    let large: Vec<u8> = (0..(17 * 1024 * 1024 + 12_345)).map(|i| (i * 31 % 251) as u8).collect();
    let large_hash = store.put(&large).expect("puts a large blob");
    assert_eq!(store.get(&large_hash).expect("gets it back"), large);

    let mut listed = store.list().expect("lists");
    listed.sort();
    let mut expected: Vec<String> = names.iter().cloned().chain([hash.clone(), large_hash.clone()]).collect();
    expected.sort();
    expected.dedup();
    assert_eq!(listed, expected, "every blob, once, and nothing else (no probes, no temporaries)");

    store.delete(&hash).expect("deletes");
    assert!(!store.contains(&hash));
    assert!(!store.list().expect("lists").contains(&hash));
    assert!(matches!(store.get(&hash), Err(BlobError::NotFound(_))), "gone");
    store.delete(&hash).expect("deleting what is gone is no error");

    assert!(matches!(store.get("../../etc/passwd"), Err(BlobError::BadName(_))));
    assert!(matches!(store.delete("not-a-hash"), Err(BlobError::BadName(_))));
    assert!(!store.contains("not-a-hash"));
}

#[test]
fn files_conform() {
    let dir = tempfile::tempdir().expect("temp dir");
    conformance(&FsBlobStore::open(dir.path().join("blobs")).expect("opens"));
}

#[test]
fn an_s3_bucket_conforms_and_a_wrong_bucket_or_key_is_named() {
    let Some(weed) = plico_test_support::engines::SeaweedFs::start() else { return };
    weed.create_bucket("plico-blobs");
    let config = S3Config {
        bucket: "plico-blobs".into(),
        prefix: String::new(),
        endpoint: Some(weed.endpoint.clone()),
        region: "us-east-1".into(),
        access_key: weed.access_key.into(),
        secret_key: weed.secret_key.into(),
    };
    conformance(&S3BlobStore::open(&config).expect("opens"));

    // Two installations in folders of one bucket each see only their own blobs.
    let (one, two) = (
        S3BlobStore::open(&S3Config { prefix: "one/".into(), ..config.clone() }).expect("opens"),
        S3BlobStore::open(&S3Config { prefix: "two/".into(), ..config.clone() }).expect("opens"),
    );
    conformance(&one);
    let hash = one.put(b"only in one").expect("put");
    assert!(one.contains(&hash) && !two.contains(&hash), "a folder's blob is not another's");
    assert!(matches!(two.get(&hash), Err(plico_store::blobs::BlobError::NotFound(_))));
    two.delete(&hash).expect("deleting what is not there is no error");
    assert_eq!(one.get(&hash).expect("still there"), b"only in one");

    let missing = S3BlobStore::open(&S3Config { bucket: "no-such-bucket".into(), ..config.clone() }).expect("opens");
    let error = missing.ready().expect_err("a bucket that does not exist is not ready").to_string();
    assert!(error.contains("no-such-bucket"), "{error}");
    let wrong_key =
        S3BlobStore::open(&S3Config { secret_key: "not-the-secret".into(), ..config.clone() }).expect("opens");
    let error = wrong_key.ready().expect_err("wrong credentials are not ready").to_string();
    assert!(error.contains("plico-blobs"), "{error}");

    let parsed = |url: &str| S3Config::parse_url(url).map(|(bucket, prefix)| format!("{bucket}|{prefix}"));
    assert_eq!(parsed("s3://plico-blobs/").as_deref(), Ok("plico-blobs|"));
    assert_eq!(parsed("s3://plico-blobs/mail/eu-1/").as_deref(), Ok("plico-blobs|mail/eu-1/"));
    assert!(parsed("https://plico-blobs").is_err());
    assert!(parsed("s3://Bad_Name").is_err());
    assert!(parsed("s3://plico-blobs/../other").is_err());
    assert!(parsed("s3://plico-blobs/a b").is_err());
}
