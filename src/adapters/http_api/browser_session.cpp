#include "adapters/http_api/browser_session.hpp"

#include "core/text.hpp"

namespace escala::adapters::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string attributes(bool secure) {
  return std::string("; Path=/; HttpOnly; SameSite=Strict") + (secure ? "; Secure" : "");
}

}  // namespace

std::string session_cookie_name(bool secure) {
  return secure ? "__Host-escala_session" : "escala_session";
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t end = header.find(';');
    std::string_view pair = trim(header.substr(0, end));
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return {};
}

std::string session_cookie(std::string_view token, Seconds max_age, bool secure) {
  return session_cookie_name(secure) + "=" + std::string(token) +
         "; Max-Age=" + std::to_string(max_age.count()) + attributes(secure);
}

std::string clear_session_cookie(bool secure) {
  return session_cookie_name(secure) + "=; Max-Age=0" + attributes(secure);
}

std::string url_authority(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos || scheme == 0) return {};
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  return core::ascii_lower(rest);
}

std::string cross_origin_reason(const Request& req,
                                const std::vector<std::string>& trusted_authorities) {
  const std::string site = core::ascii_lower(req.sec_fetch_site);
  if (!site.empty() && site != "same-origin" && site != "none")
    return "the request comes from another site (Sec-Fetch-Site: " + site + ")";
  if (req.origin.empty()) return {};
  const std::string origin = url_authority(req.origin);
  if (origin.empty()) return "the request's Origin is opaque or malformed";
  if (!req.host.empty() && origin == core::ascii_lower(req.host)) return {};
  for (const auto& t : trusted_authorities)
    if (origin == t) return {};
  return "the request's Origin is not this desk";
}

bool is_safe_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

}  // namespace escala::adapters::http
