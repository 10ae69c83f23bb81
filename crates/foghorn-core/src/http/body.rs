//! Reading an answer's body up to a cap: whole or not at all ([`read_capped`], for APIs whose
//! answer is useless cut short), or its first bytes ([`read_prefix`], for monitors whose
//! conditions look at the start of a page).

use reqwest::Response;

/// The largest answer read unless a use says otherwise ([`super::Builder::max_body`]): a
/// vendor's answer is a few hundred KiB at most.
pub const MAX_BODY: usize = 8 << 20;

/// Why an answer's body was not read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than {} (not read)", size(*.limit))]
    TooLarge { limit: usize },
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// The answer's body, at most `limit` bytes: a larger one (by `Content-Length` or as it
/// streams in) stops reading and is [`BodyError::TooLarge`].
pub async fn read_capped(mut response: Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|n| u64::try_from(limit).is_ok_and(|limit| n > limit))
    {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The first `limit` bytes of the answer's body (the rest is not read), and the error that
/// broke the reading off, if one did: what arrived before it is kept.
pub async fn read_prefix(
    response: &mut Response,
    limit: usize,
) -> (Vec<u8>, Option<reqwest::Error>) {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= limit {
                    return (body, None);
                }
            }
            Ok(None) => return (body, None),
            Err(e) => return (body, Some(e)),
        }
    }
}

/// "8 MiB", "512 KiB" for messages.
pub(super) fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_the_largest_whole_unit() {
        let cases = [
            (8 << 20, "8 MiB"),
            (1 << 20, "1 MiB"),
            (16 << 20, "16 MiB"),
            ((1 << 20) + 1, "1024 KiB"),
            (512 << 10, "512 KiB"),
            (1024, "1 KiB"),
            (1000, "1000 bytes"),
            (0, "0 bytes"),
        ];
        for (bytes, said) in cases {
            assert_eq!(size(bytes), said, "{bytes}");
        }
    }
}
