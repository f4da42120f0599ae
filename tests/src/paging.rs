//! Query-string parsing and Lever-style paging with opaque `offset` tokens.
//!
//! A token is the URL-encoded JSON array `[sortKey, lastId]`, e.g.
//! `%5B1700000000000%2C%226f0e...%22%5D`. Clients must send `next` back byte-for-byte as
//! `offset`; the raw (undecoded) query value is checked against the tokens this server
//! issued for the route, so a decoded or double-encoded token is refused.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use std::collections::HashSet;

/// Characters left as-is in tokens (like JavaScript's `encodeURIComponent`, minus a few).
const TOKEN_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Default and maximum page size.
pub const MAX_LIMIT: usize = 100;

/// Encodes a paging token for the position after `(sort_key, last_id)`.
pub fn encode_token(sort_key: i64, last_id: &str) -> String {
    let json = serde_json::to_string(&(sort_key, last_id)).unwrap_or_default();
    utf8_percent_encode(&json, TOKEN_SET).to_string()
}

/// Decodes a token issued by [`encode_token`].
pub fn decode_token(token: &str) -> Option<(i64, String)> {
    let json = percent_decode_str(token).decode_utf8().ok()?;
    serde_json::from_str(&json).ok()
}

/// A parsed query string that remembers the raw `offset` value.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
    raw_offset: Option<String>,
}

impl Query {
    /// Parses `a=1&b=x%20y` (form encoding: `+` is a space).
    pub fn parse(raw: Option<&str>) -> Query {
        let mut q = Query::default();
        for part in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let key = form_decode(k);
            if key == "offset" && q.raw_offset.is_none() {
                q.raw_offset = Some(v.to_string());
            }
            q.pairs.push((key, form_decode(v)));
        }
        q
    }

    /// First value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable `key`, comma-separated values split.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The raw, undecoded `offset` value, if any and not empty.
    pub fn raw_offset(&self) -> Option<&str> {
        self.raw_offset.as_deref().filter(|v| !v.is_empty())
    }
}

fn form_decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_decode_str(&plus).decode_utf8_lossy().into_owned()
}

/// Tokens issued so far, per route template.
#[derive(Debug, Default)]
pub struct TokenRegistry {
    issued: HashSet<(String, String)>,
}

impl TokenRegistry {
    /// Issues (records and returns) the token for a position on a route.
    pub fn issue(&mut self, route: &str, sort_key: i64, last_id: &str) -> String {
        let token = encode_token(sort_key, last_id);
        self.issued.insert((route.to_string(), token.clone()));
        token
    }

    /// Whether `raw` is exactly a token issued for `route` and still valid.
    pub fn is_valid(&self, route: &str, raw: &str) -> bool {
        self.issued.contains(&(route.to_string(), raw.to_string()))
    }

    /// Makes every issued token invalid.
    pub fn invalidate_all(&mut self) {
        self.issued.clear();
    }
}

/// Why list parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PagingError {
    /// `limit` not an integer in 1..=100.
    BadLimit,
    /// `offset` not a token this server issued for the route.
    BadOffset,
}

/// Validated `limit` and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    /// Page size.
    pub limit: usize,
    /// Start after this (sortKey, id), if continuing.
    pub after: Option<(i64, String)>,
}

impl ListParams {
    /// Reads `limit` and `offset` from the query for a route.
    pub fn from_query(
        q: &Query,
        route: &str,
        tokens: &TokenRegistry,
    ) -> Result<ListParams, PagingError> {
        let limit = match q.get("limit") {
            None => MAX_LIMIT,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(PagingError::BadLimit),
            },
        };

        let after = match q.raw_offset() {
            None => None,
            Some(raw) if tokens.is_valid(route, raw) => {
                Some(decode_token(raw).ok_or(PagingError::BadOffset)?)
            }
            Some(_) => return Err(PagingError::BadOffset),
        };
        Ok(ListParams { limit, after })
    }
}

/// One page of `items` (already filtered and sorted by `key`), and the position of its last
/// item when more follow.
pub fn page<'a, T>(
    items: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> (i64, &str),
    params: &ListParams,
) -> (Vec<&'a T>, Option<(i64, String)>)
where
    T: 'a,
{
    let after = params.after.as_ref().map(|(k, id)| (*k, id.as_str()));
    let mut rows: Vec<&'a T> = items
        .filter(|item| after.is_none_or(|a| key(item) > a))
        .take(params.limit + 1)
        .collect();

    let has_next = rows.len() > params.limit;
    rows.truncate(params.limit);
    let next = if has_next {
        rows.last().map(|last| {
            let (k, id) = key(last);
            (k, id.to_string())
        })
    } else {
        None
    };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_url_encoded_json() {
        let t = encode_token(1_700_000_000_000, "6f0e-ab");
        assert_eq!(t, "%5B1700000000000%2C%226f0e-ab%22%5D");
        assert_eq!(
            decode_token(&t),
            Some((1_700_000_000_000, "6f0e-ab".to_string()))
        );
    }

    #[test]
    fn raw_offset_is_kept_undecoded() {
        let q = Query::parse(Some("limit=5&offset=%5B1%2C%22a%22%5D&expand=applications"));
        assert_eq!(q.raw_offset(), Some("%5B1%2C%22a%22%5D"));
        assert_eq!(q.get("limit"), Some("5"));
        assert_eq!(q.all("expand"), vec!["applications"]);
    }

    #[test]
    fn only_issued_tokens_are_accepted() {
        let mut reg = TokenRegistry::default();
        let t = reg.issue("/v1/stages", 3, "x");
        let ok = Query::parse(Some(&format!("offset={t}")));
        assert!(ListParams::from_query(&ok, "/v1/stages", &reg).is_ok());
        assert_eq!(
            ListParams::from_query(&ok, "/v1/users", &reg),
            Err(PagingError::BadOffset)
        );

        let decoded = Query::parse(Some("offset=[3,\"x\"]"));
        assert_eq!(
            ListParams::from_query(&decoded, "/v1/stages", &reg),
            Err(PagingError::BadOffset)
        );

        reg.invalidate_all();
        assert_eq!(
            ListParams::from_query(&ok, "/v1/stages", &reg),
            Err(PagingError::BadOffset)
        );
    }

    #[test]
    fn limit_bounds() {
        let reg = TokenRegistry::default();
        for bad in ["0", "101", "abc", "-1"] {
            let q = Query::parse(Some(&format!("limit={bad}")));
            assert_eq!(
                ListParams::from_query(&q, "/v1/stages", &reg),
                Err(PagingError::BadLimit)
            );
        }
        let q = Query::parse(Some("limit=100"));
        assert_eq!(
            ListParams::from_query(&q, "/v1/stages", &reg).map(|p| p.limit),
            Ok(100)
        );
    }
}
