//! A reject-only look at a posted response before samael sees it. It verifies nothing and takes
//! nothing from the document; it refuses shapes no identity provider sends, because xmlsec runs a
//! signature's `Reference` transforms (XSLT and XPath among them) before the signature is known
//! to be good, and libxml2 reads DTDs: an unsigned kilobyte could otherwise cost seconds of CPU.
//! Any tokenizer error refuses (fail closed). The tokenizer is quick-xml's.

use quick_xml::events::Event;
use quick_xml::Reader;

/// Larger responses are refused unread (real ones are a few kilobytes, encrypted ones a few
/// more).
pub const MAX_XML_BYTES: usize = 256 * 1024;

/// The only transforms and canonicalisations a SAML signature needs.
const ALLOWED_ALGORITHMS: &[&str] = &[
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
];

/// At most this many signatures (the response's and the assertion's).
const MAX_SIGNATURES: usize = 2;

pub fn check(xml: &str) -> Result<(), String> {
    if xml.len() > MAX_XML_BYTES {
        return Err(format!("larger than {MAX_XML_BYTES} bytes"));
    }
    let mut reader = Reader::from_str(xml);
    let mut signatures = 0;
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("not well-formed XML: {e}"))?
        {
            Event::DocType(_) => return Err("a DOCTYPE (DTDs and entities are refused)".into()),
            Event::Start(e) | Event::Empty(e) => {
                let local = e.local_name();
                let name = local.as_ref();
                match name {
                    b"Signature" => {
                        signatures += 1;
                        if signatures > MAX_SIGNATURES {
                            return Err("more than two signatures".into());
                        }
                    }
                    b"Transform" | b"CanonicalizationMethod" => {
                        let mut algorithm = None;
                        for a in e.attributes() {
                            let a = a.map_err(|e| format!("an attribute: {e}"))?;
                            if a.key.local_name().as_ref() == b"Algorithm" {
                                let v = a
                                    .normalized_value(quick_xml::XmlVersion::default())
                                    .map_err(|e| format!("an attribute: {e}"))?;
                                algorithm = Some(v.into_owned());
                            }
                        }
                        match algorithm {
                            Some(a) if ALLOWED_ALGORITHMS.contains(&a.as_str()) => {}
                            other => return Err(format!("a transform that is not allowed: {other:?}")),
                        }
                    }
                    b"XPath" | b"stylesheet" | b"transform" | b"Manifest" | b"RetrievalMethod" => {
                        return Err(format!("a {} element", String::from_utf8_lossy(name)));
                    }
                    _ => {}
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn shapes_no_provider_sends_are_refused() {
        assert!(check("<r><a>x</a></r>").is_ok());
        assert!(check("<!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>").is_err());
        assert!(check("<r><a></r>").is_err());
        let xslt = "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:Reference URI=\"\"><ds:Transforms>\
<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/></ds:Transforms></ds:Reference></ds:SignedInfo></ds:Signature>";
        assert!(check(xslt).is_err());
        // Spelled with a character reference, still refused.
        assert!(check(&xslt.replace("REC-xslt", "&#82;EC-xslt")).is_err());
        assert!(check(&format!("<r>{}</r>", "a".repeat(300 * 1024))).is_err());
        let three = "<ds:Signature xmlns:ds=\"x\"/>".repeat(3);
        assert!(check(&format!("<r>{three}</r>")).is_err());
    }
}
