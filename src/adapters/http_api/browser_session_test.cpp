#include "adapters/http_api/browser_session.hpp"

#include <gtest/gtest.h>

namespace escala::adapters::http {
namespace {

TEST(BrowserSession, CookieAttributes) {
  EXPECT_EQ(session_cookie("abc", Seconds{43200}, false),
            "escala_session=abc; Max-Age=43200; Path=/; HttpOnly; SameSite=Strict");
  EXPECT_EQ(session_cookie("abc", Seconds{60}, true),
            "__Host-escala_session=abc; Max-Age=60; Path=/; HttpOnly; SameSite=Strict; Secure");
  EXPECT_EQ(clear_session_cookie(false),
            "escala_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict");
  EXPECT_EQ(clear_session_cookie(true),
            "__Host-escala_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict; Secure");
}

TEST(BrowserSession, ReadsTheNamedCookieOnly) {
  EXPECT_EQ(cookie_value("escala_session=t1", "escala_session"), "t1");
  EXPECT_EQ(cookie_value("a=1; escala_session=t2; b=2", "escala_session"), "t2");
  EXPECT_EQ(cookie_value("a=1;escala_session=t3", "escala_session"), "t3");
  EXPECT_EQ(cookie_value("escala_session=\"t4\"", "escala_session"), "t4");
  // A longer or prefixed name is another cookie.
  EXPECT_EQ(cookie_value("xescala_session=t5; escala_session_x=t6", "escala_session"), "");
  EXPECT_EQ(cookie_value("__Host-escala_session=t7", "escala_session"), "");
  EXPECT_EQ(cookie_value("__Host-escala_session=t7", "__Host-escala_session"), "t7");
  EXPECT_EQ(cookie_value("", "escala_session"), "");
  EXPECT_EQ(cookie_value(";;; =; escala_session", "escala_session"), "");
  EXPECT_EQ(cookie_value("escala_session=; escala_session=t8", "escala_session"), "");
}

TEST(BrowserSession, UrlAuthority) {
  EXPECT_EQ(url_authority("https://Desk.Example.com"), "desk.example.com");
  EXPECT_EQ(url_authority("http://127.0.0.1:8080"), "127.0.0.1:8080");
  EXPECT_EQ(url_authority("https://desk.example.com:8443/path?q#f"), "desk.example.com:8443");
  EXPECT_EQ(url_authority("null"), "");
  EXPECT_EQ(url_authority(""), "");
  EXPECT_EQ(url_authority("://x"), "");
}

Request browser_request(std::string origin, std::string site, std::string host = "127.0.0.1:8080") {
  Request r;
  r.method = "POST";
  r.origin = std::move(origin);
  r.sec_fetch_site = std::move(site);
  r.host = std::move(host);
  return r;
}

TEST(BrowserSession, SameOriginRequestsPass) {
  EXPECT_EQ(cross_origin_reason(browser_request("http://127.0.0.1:8080", "same-origin"), {}), "");
  EXPECT_EQ(cross_origin_reason(browser_request("", ""), {}), "");  // not a browser
  EXPECT_EQ(cross_origin_reason(browser_request("", "none"), {}), "");
  EXPECT_EQ(cross_origin_reason(browser_request("HTTP://127.0.0.1:8080", ""), {}), "");
  // Behind a proxy that rewrites Host: the public URL's origin is trusted.
  EXPECT_EQ(cross_origin_reason(browser_request("https://desk.example.com", "same-origin",
                                                "127.0.0.1:8080"),
                                {"desk.example.com"}),
            "");
}

TEST(BrowserSession, OtherSitesAreRefused) {
  EXPECT_NE(cross_origin_reason(browser_request("https://evil.example", "cross-site"), {}), "");
  EXPECT_NE(cross_origin_reason(browser_request("", "cross-site"), {}), "");
  EXPECT_NE(cross_origin_reason(browser_request("", "same-site"), {}), "");
  EXPECT_NE(cross_origin_reason(browser_request("https://evil.example", ""), {}), "");
  EXPECT_NE(cross_origin_reason(browser_request("null", ""), {}), "");
  EXPECT_NE(cross_origin_reason(browser_request("http://127.0.0.1:9999", "same-origin"), {}), "");
  EXPECT_NE(cross_origin_reason(browser_request("https://evil.example", "same-origin"),
                                {"desk.example.com"}),
            "");
}

TEST(BrowserSession, SafeMethods) {
  EXPECT_TRUE(is_safe_method("GET"));
  EXPECT_TRUE(is_safe_method("HEAD"));
  EXPECT_FALSE(is_safe_method("POST"));
  EXPECT_FALSE(is_safe_method("PATCH"));
  EXPECT_FALSE(is_safe_method("PUT"));
  EXPECT_FALSE(is_safe_method("DELETE"));
  EXPECT_FALSE(is_safe_method("get"));
}

}  // namespace
}  // namespace escala::adapters::http
