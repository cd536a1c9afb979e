#pragma once
// Browser sessions over HTTP, as pure functions: the session cookie's name and attributes,
// reading it back from a Cookie header, and the same-origin checks that guard
// cookie-authenticated writes (beside the CSRF token, which AuthService derives).
//
// The cookie is HttpOnly (no script reads it), SameSite=Strict, Path=/, and Secure with the
// `__Host-` name prefix when the browser reaches the desk over TLS. Strict costs the
// console nothing: its HTML shell is public and every authenticated request is a
// same-origin fetch made by that page, so the cookie only ever needs to travel with
// same-site requests; a link from an email or another site opens the shell, whose fetches
// then carry the cookie.

#include <string>
#include <string_view>
#include <vector>

#include "adapters/http_api/http_types.hpp"
#include "core/time.hpp"

namespace escala::adapters::http {

// "__Host-escala_session" when `secure` (the prefix makes browsers insist on Secure, Path=/
// and no Domain, so a sibling host cannot plant one), else "escala_session".
std::string session_cookie_name(bool secure);

// The value of cookie `name` in a Cookie request header ("a=1; b=2"), or empty.
std::string cookie_value(std::string_view cookie_header, std::string_view name);

// Set-Cookie values that start a session of `max_age` and that end it.
std::string session_cookie(std::string_view token, Seconds max_age, bool secure);
std::string clear_session_cookie(bool secure);

// "host:port" of an origin or URL ("https://Desk.example:8443/x" → "desk.example:8443"),
// lower case; empty when it has no scheme.
std::string url_authority(std::string_view url);

// Whether a browser request comes from a page of the desk itself: Sec-Fetch-Site, when
// sent, is "same-origin" (or "none": typed by the user), and Origin, when sent, names the
// Host the request was sent to or one of `trusted_authorities` (e.g. the public URL's,
// behind a proxy that rewrites Host). An empty string when it does; else why not.
std::string cross_origin_reason(const Request& req,
                                const std::vector<std::string>& trusted_authorities);

// True for methods that change nothing (no CSRF token needed).
bool is_safe_method(std::string_view method);

}  // namespace escala::adapters::http
