//! Turns a Function URL request into a [`WebhookRequest`] and the answer back into HTTP.
//! Nothing here reads the body's content, the headers or the signature.

use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::{Body, Error, Request, RequestExt, Response};
use shared::webhook::{WebhookRequest, WebhookResponse, WebhookService};

/// Handles one delivery. Every outcome is an HTTP answer; `Err` only if a response cannot be built.
pub async fn handle(service: &WebhookService, request: Request) -> Result<Response<Body>, Error> {
    let path = request.raw_http_path().to_owned();
    let path = if path.is_empty() {
        request.uri().path().to_owned()
    } else {
        path
    };
    // The path holds only the tenant name (cargo lambda watch may keep its own prefix). It is
    // not logged: it is whatever the caller sent; the service logs the tenant once validated.

    let answer = service
        .handle(WebhookRequest {
            method: request.method().as_str(),
            path: &path,
            body: request.body().as_ref(),
        })
        .await;

    to_http(answer)
}

fn to_http(answer: WebhookResponse) -> Result<Response<Body>, Error> {
    let mut response = Response::builder()
        .status(answer.status)
        .header(CONTENT_TYPE, "application/json");
    if let Some(allow) = answer.allow {
        response = response.header(ALLOW, allow);
    }
    Ok(response.body(Body::from(answer.body))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_json_responses_with_allow_on_405() {
        let answer = WebhookResponse {
            status: 405,
            body: r#"{"status":"rejected","reason":"method not allowed"}"#.into(),
            allow: Some("POST"),
        };

        let response = to_http(answer).expect("response");

        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[ALLOW], "POST");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            response.body().as_ref(),
            br#"{"status":"rejected","reason":"method not allowed"}"#
        );
    }
}
