//! Base64 as the end-to-end formats write it: the standard alphabet, no padding on output, padding
//! accepted or not on input (as vodozemac, whose keys and messages travel in this form, does it).

use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const B64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `bytes` as text.
pub(super) fn encode(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

/// `bytes` as text, appended to `out`.
pub(super) fn encode_into(bytes: impl AsRef<[u8]>, out: &mut String) {
    B64.encode_string(bytes, out)
}

/// The bytes `text` stands for, or why it stands for none.
pub(super) fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, base64::DecodeError> {
    B64.decode(text)
}
