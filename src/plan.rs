//! Plan, pure: a verified event to the deliveries to store, one per target, each with
//! the exact bodies that target will receive.

use crate::http::Request;
use crate::mapping::Message;
use crate::target::Kind;

/// The method and headers a delivery needs beyond a plain POST: only an `http`
/// target's rule can ask for them.
pub fn request(kind: Kind, message: &Message) -> Option<Request> {
    let http = message.http.as_ref().filter(|_| kind == Kind::Http)?;
    let request = Request {
        method: http.method.clone(),
        headers: http.headers.clone(),
    };
    (request != Request::default()).then_some(request)
}
