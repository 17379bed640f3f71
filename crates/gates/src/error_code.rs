//! The AWS error codes a gate can answer with, as one enum: a refusal names its code by variant,
//! never by a free string, so a typo cannot reach the wire.

use serde::{Serialize, Serializer};

/// The error codes of the refusals the gates build (bedrock and bedrock-runtime restJson1 codes,
/// and the awsQuery codes of IAM and STS for the same refusals).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    // credentials, restJson1
    UnrecognizedClientException,
    ExpiredTokenException,
    InvalidSignatureException,
    IncompleteSignatureException,
    MissingAuthenticationTokenException,
    // credentials, awsQuery
    InvalidClientTokenId,
    ExpiredToken,
    SignatureDoesNotMatch,
    IncompleteSignature,
    MissingAuthenticationToken,
    RequestExpired,
    // authorization
    AccessDeniedException,
    AccessDenied,
    // the service
    ValidationException,
    ResourceNotFoundException,
    ThrottlingException,
    ModelTimeoutException,
    ModelNotReadyException,
    ServiceUnavailableException,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            UnrecognizedClientException => "UnrecognizedClientException",
            ExpiredTokenException => "ExpiredTokenException",
            InvalidSignatureException => "InvalidSignatureException",
            IncompleteSignatureException => "IncompleteSignatureException",
            MissingAuthenticationTokenException => "MissingAuthenticationTokenException",
            InvalidClientTokenId => "InvalidClientTokenId",
            ExpiredToken => "ExpiredToken",
            SignatureDoesNotMatch => "SignatureDoesNotMatch",
            IncompleteSignature => "IncompleteSignature",
            MissingAuthenticationToken => "MissingAuthenticationToken",
            RequestExpired => "RequestExpired",
            AccessDeniedException => "AccessDeniedException",
            AccessDenied => "AccessDenied",
            ValidationException => "ValidationException",
            ResourceNotFoundException => "ResourceNotFoundException",
            ThrottlingException => "ThrottlingException",
            ModelTimeoutException => "ModelTimeoutException",
            ModelNotReadyException => "ModelNotReadyException",
            ServiceUnavailableException => "ServiceUnavailableException",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
