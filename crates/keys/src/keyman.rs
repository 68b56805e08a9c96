//! Plico's key-management worker: a second binary of the keys crate, started by the crypto
//! worker only for a change to the account's keys (a post-quantum key, a rotation, an import,
//! a revocation), so that neither sign-up's keys worker nor the crypto worker carries
//! post-quantum key generation, key import or revocation.

fn main() {
    #[cfg(target_arch = "wasm32")]
    plico_keys::worker::start_keyman();
}
