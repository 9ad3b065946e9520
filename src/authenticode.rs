//! An Authenticode signature whose signature value is made elsewhere: a signing service that
//! holds the key and signs a digest (SSL.com's eSigner). osslsigncode extracts what is to be
//! signed (`extract-data`: a PKCS#7 SignedData holding the file's `SpcIndirectDataContent` and
//! no signer); this module adds the signed attributes osslsigncode's own `sign` writes
//! (content type, signing time, individual code signing, message digest) and gives their digest
//! to be signed ([`prepare`]); with the signature value it builds the PKCS#7
//! `attach-signature` puts into the file ([`Prepared::finish`]).

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{CertificateSet, SignedData, SignerIdentifier, SignerInfo, SignerInfos};
use der::asn1::{ObjectIdentifier as Oid, OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode};
use x509_cert::attr::Attribute;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
const SPC_INDIRECT_DATA: Oid = Oid::new_unwrap("1.3.6.1.4.1.311.2.1.4");
const SPC_STATEMENT_TYPE: Oid = Oid::new_unwrap("1.3.6.1.4.1.311.2.1.11");
const INDIVIDUAL_CODE_SIGNING: Oid = Oid::new_unwrap("1.3.6.1.4.1.311.2.1.21");
const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
const RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");

/// A detached signature waiting for its signature value: what the signing service is asked
/// to sign (a SHA-256 `digest`, with the signature `algorithm` the certificate's key calls for,
/// an OID as the CSC API's `signAlgo` names it), then [`Prepared::finish`].
pub struct Prepared {
    pub digest: Vec<u8>,
    pub algorithm: String,
    signed: SignedData,
    signer: SignerInfo,
    certificates: Vec<Certificate>,
}

/// The detached signature of `data` (the DER `osslsigncode extract-data -h sha256` wrote) by
/// the certificate `chain` (DER, the signer's first), up to its signature value; the signing
/// time is `signing_time` (seconds since 1970), as osslsigncode's `-time` sets it.
pub fn prepare(data: &[u8], chain: &[Vec<u8>], signing_time: u64) -> Result<Prepared, String> {
    let der = |what: &'static str| move |e: der::Error| format!("{what}: {e}");
    let info = ContentInfo::from_der(data).map_err(der("the extracted data"))?;
    if info.content_type != SIGNED_DATA {
        return Err(format!(
            "the extracted data is a {}, not SignedData",
            info.content_type
        ));
    }
    let signed: SignedData = info
        .content
        .decode_as()
        .map_err(der("the extracted data"))?;
    let content = match &signed.encap_content_info.econtent {
        Some(c) if signed.encap_content_info.econtent_type == SPC_INDIRECT_DATA => c,
        _ => return Err("the extracted data holds no SpcIndirectDataContent".into()),
    };
    let certificates = chain
        .iter()
        .map(|c| Certificate::from_der(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(der("the signing certificate"))?;
    let leaf = certificates.first().ok_or("no signing certificate")?;
    let (key_algorithm, sign_algorithm) =
        match leaf.tbs_certificate.subject_public_key_info.algorithm.oid {
            RSA => (algorithm(RSA, true), SHA256_WITH_RSA),
            EC_PUBLIC_KEY => (algorithm(ECDSA_WITH_SHA256, false), ECDSA_WITH_SHA256),
            other => {
                return Err(format!(
                    "the certificate's key is a {other}, neither RSA nor EC"
                ))
            }
        };
    // Authenticode's message digest covers the content's value, without its tag and length.
    let attributes = signed_attributes(&sha256(content.value()), signing_time)
        .map_err(der("the signed attributes"))?;
    let digest = sha256(&attributes.to_der().map_err(der("the signed attributes"))?);
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: leaf.tbs_certificate.issuer.clone(),
            serial_number: leaf.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: algorithm(SHA256, true),
        signed_attrs: Some(attributes),
        signature_algorithm: key_algorithm,
        signature: OctetString::new(Vec::new()).map_err(der("the signature"))?,
        unsigned_attrs: None,
    };
    Ok(Prepared {
        digest,
        algorithm: sign_algorithm.to_string(),
        signed,
        signer,
        certificates,
    })
}

impl Prepared {
    /// The PKCS#7 `attach-signature` takes, with `value` (the service's signature of
    /// [`Prepared::digest`]).
    pub fn finish(self, value: Vec<u8>) -> Result<Vec<u8>, String> {
        let set = |e: der::Error| format!("assembling the signature: {e}");
        let Prepared {
            mut signed,
            mut signer,
            certificates,
            ..
        } = self;
        signer.signature = OctetString::new(value).map_err(set)?;
        signed.digest_algorithms =
            SetOfVec::try_from(vec![algorithm(SHA256, true)]).map_err(set)?;
        let choices: Vec<_> = certificates
            .into_iter()
            .map(CertificateChoices::Certificate)
            .collect();
        signed.certificates = Some(CertificateSet(SetOfVec::try_from(choices).map_err(set)?));
        signed.signer_infos = SignerInfos(SetOfVec::try_from(vec![signer]).map_err(set)?);
        ContentInfo {
            content_type: SIGNED_DATA,
            content: Any::encode_from(&signed).map_err(set)?,
        }
        .to_der()
        .map_err(set)
    }
}

/// An algorithm identifier; `null` gives it the NULL parameters RSA and SHA-2 carry in
/// Authenticode signatures.
fn algorithm(oid: Oid, null: bool) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: null.then(|| Any::from(der::asn1::Null)),
    }
}

/// The attributes the signature covers, in DER's order.
fn signed_attributes(digest: &[u8], signing_time: u64) -> der::Result<SetOfVec<Attribute>> {
    let time = UtcTime::from_unix_duration(std::time::Duration::from_secs(signing_time))?;
    let attribute = |oid: Oid, value: Any| -> der::Result<Attribute> {
        Ok(Attribute {
            oid,
            values: SetOfVec::try_from(vec![value])?,
        })
    };
    SetOfVec::try_from(vec![
        attribute(CONTENT_TYPE, Any::encode_from(&SPC_INDIRECT_DATA)?)?,
        attribute(SIGNING_TIME, Any::encode_from(&time)?)?,
        attribute(
            SPC_STATEMENT_TYPE,
            Any::encode_from(&vec![INDIVIDUAL_CODE_SIGNING])?,
        )?,
        attribute(
            MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest)?)?,
        )?,
    ])
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_attributes_are_der_sorted_and_hold_the_digest_and_time() {
        let attrs = signed_attributes(&[7; 32], 315_532_800).unwrap();
        let der = attrs.to_der().unwrap();
        assert_eq!(der[0], 0x31, "a SET, as the signature covers it");
        let oids: Vec<String> = attrs.iter().map(|a| a.oid.to_string()).collect();
        let mut sorted = attrs
            .iter()
            .map(|a| a.to_der().unwrap())
            .collect::<Vec<_>>();
        sorted.sort();
        assert_eq!(
            attrs
                .iter()
                .map(|a| a.to_der().unwrap())
                .collect::<Vec<_>>(),
            sorted
        );
        assert_eq!(oids.len(), 4);
        // 1980-01-01 00:00:00 as UTCTime.
        assert!(der.windows(13).any(|w| w == b"800101000000Z"));
        assert!(der.windows(32).any(|w| w == [7; 32]));
    }

    #[test]
    fn data_that_is_no_signed_data_is_refused() {
        let err = prepare(b"\x30\x00", &[], 0).err().unwrap();
        assert!(err.contains("extracted data"), "{err}");
    }
}
