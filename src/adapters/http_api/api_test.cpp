// The API as a pure function over fakes: strict input checks and a seeded mutation test
// that throws thousands of broken requests at it. Nothing may crash, every answer must be a
// well-formed JSON error or success, and nothing may change on an error.

#include "adapters/http_api/api.hpp"

#include <gtest/gtest.h>

#include <random>

#include "adapters/http_api/json_io.hpp"
#include "fakes/fake_crypto.hpp"
#include "fakes/memory_store.hpp"
#include "services/calendar_set.hpp"

namespace escala::adapters::http {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : clock_(*parse_iso8601("2026-11-27T15:00:00Z")),
        cases_(store_, store_, clock_, policy(), "CMW-"),
        directory_(store_, crypto_, clock_),
        auth_(store_, crypto_, clock_),
        api_(cases_, directory_, auth_, store_, ApiOptions{4096, "{}"}) {
    core::Account a;
    a.code = "ACME";
    a.name = "Acme";
    EXPECT_TRUE(directory_.create_account(core::Actor::system(), a).ok());
    services::NewUser u;
    u.email = "admin@desk.com";
    u.name = "Admin";
    u.role = core::Role::kAdmin;
    u.password = "long enough";
    EXPECT_TRUE(directory_.create_user(core::Actor::system(), u).ok());
    auto login = call("POST", "/api/v1/auth/login",
                      R"({"email":"admin@desk.com","password":"long enough"})", "");
    EXPECT_EQ(login.status, 200);
    token_ = core::Json::parse(login.body)["token"];
  }

  core::CasePolicy policy() {
    core::CasePolicy p;
    p.due = &calendars_;
    return p;
  }

  Response call(const std::string& method, const std::string& target, const std::string& body,
                std::optional<std::string> token = std::nullopt) {
    Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.client = "127.0.0.1";
    r.authorization = "Bearer " + token.value_or(token_);
    return api_.handle(r);
  }

  static core::Json body(const Response& r) { return core::Json::parse(r.body); }

  int64_t case_count() {
    auto page = store_.list(ports::CaseQuery{});
    return page->total;
  }

  services::CalendarSet calendars_;
  fakes::MemoryStore store_;
  fakes::FakeCrypto crypto_;
  ports::ManualClock clock_;
  services::CaseService cases_;
  services::DirectoryService directory_;
  services::AuthService auth_;
  Api api_;
  std::string token_;
};

TEST_F(ApiTest, ErrorsNameTheField) {
  auto r = call("POST", "/api/v1/cases", R"({"type":"incident","subject":5})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["error"]["field"], "subject");
  r = call("POST", "/api/v1/cases", R"({"type":"incident","subject":"x","colour":1})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body(r)["error"]["code"], "unknown_field");
  EXPECT_EQ(body(r)["error"]["field"], "colour");
  r = call("POST", "/api/v1/cases", R"({"type":"incident","subject":"x","fields":{"extension":"abc"}})");
  EXPECT_EQ(body(r)["error"]["field"], "fields.extension");
  r = call("POST", "/api/v1/cases", "{\"type\":");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(case_count(), 0);
}

TEST_F(ApiTest, BodiesOverTheLimitAre413) {
  std::string big = R"({"type":"request","subject":")" + std::string(5000, 'x') + R"("})";
  EXPECT_EQ(call("POST", "/api/v1/cases", big).status, 413);
}

TEST_F(ApiTest, UnknownRoutesAndMethods) {
  EXPECT_EQ(call("GET", "/api/v1/nothing", "").status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/cases", "").status, 405);
  EXPECT_EQ(call("GET", "/api/v1/cases/CMW-000999", "").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/cases/garbage", "").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/cases", "", "wrong-token").status, 401);
}

// Regressions found by the integration suite.
TEST_F(ApiTest, ApiRootIsNotFoundRatherThanACrash) {
  EXPECT_EQ(call("GET", "/api/v1", "").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/", "").status, 404);
  EXPECT_EQ(call("GET", "/api/v1", "", "no-such-token").status, 401);
}

TEST_F(ApiTest, CaseNumbersHaveOneSpelling) {
  ASSERT_EQ(call("POST", "/api/v1/cases", R"({"type":"request","subject":"x"})").status, 201);
  EXPECT_EQ(call("GET", "/api/v1/cases/CMW-000001", "").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/cases/CMW-0000001", "").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/cases/CMW-000000000000000001", "").status, 404);
}

TEST_F(ApiTest, UnknownCaseActionIsNotFoundWhateverTheMethod) {
  ASSERT_EQ(call("POST", "/api/v1/cases", R"({"type":"request","subject":"x"})").status, 201);
  EXPECT_EQ(call("GET", "/api/v1/cases/CMW-000001/nope", "").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/cases/CMW-000001/nope", "{}").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/cases/CMW-000001/escalate", "").status, 405);
}

TEST(ApiBlocking, ScansRunOffTheNetworkThreadsPointReadsDoNot) {
  auto req = [](const char* m, const char* t) { Request r; r.method = m; r.target = t; return r; };
  EXPECT_TRUE(Api::is_blocking(req("POST", "/api/v1/cases")));
  EXPECT_TRUE(Api::is_blocking(req("GET", "/api/v1/cases?q=extension")));
  EXPECT_TRUE(Api::is_blocking(req("GET", "/api/v1/cases")));
  EXPECT_TRUE(Api::is_blocking(req("GET", "/api/v1/reports/sla?from=x")));
  EXPECT_FALSE(Api::is_blocking(req("GET", "/api/v1/cases/CMW-000001")));
  EXPECT_FALSE(Api::is_blocking(req("GET", "/api/v1/cases/CMW-000001/events")));
  EXPECT_FALSE(Api::is_blocking(req("GET", "/healthz")));
}

TEST_F(ApiTest, ListParametersAreChecked) {
  EXPECT_EQ(call("GET", "/api/v1/cases?limit=0", "").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/cases?limit=1001", "").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/cases?status=sleeping", "").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/cases?level=4", "").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/cases?cursor=zzz", "").status, 400);
  EXPECT_EQ(call("GET", "/api/v1/cases?q=%C3%B1and%C3%BA&limit=5", "").status, 200);
}

// ---- browser sessions: cookie, CSRF token, same-origin checks ----------------------------

struct BrowserSignIn {
  std::string cookie;  // "escala_session=..." as the browser sends it back
  std::string csrf;
  Response response;
};

Request browser(const std::string& method, const std::string& target, const std::string& body,
                const std::string& cookie, const std::string& csrf = "") {
  Request r;
  r.method = method;
  r.target = target;
  r.body = body;
  r.client = "127.0.0.1";
  r.cookie = cookie;
  r.csrf_token = csrf;
  r.host = "127.0.0.1:8080";
  r.origin = method == "GET" ? "" : "http://127.0.0.1:8080";
  r.sec_fetch_site = "same-origin";
  return r;
}

class BrowserApiTest : public ApiTest {
 protected:
  BrowserSignIn sign_in() {
    Response r = api_.handle(browser("POST", "/api/v1/auth/session",
                                     R"({"email":"admin@desk.com","password":"long enough"})", ""));
    BrowserSignIn out;
    out.response = r;
    if (r.status != 200) return out;
    for (const auto& [k, v] : r.headers)
      if (k == "Set-Cookie") out.cookie = v.substr(0, v.find(';'));
    out.csrf = body(r)["csrf_token"];
    return out;
  }
};

TEST_F(BrowserApiTest, SignInSetsAnHttpOnlyStrictCookieAndNoTokenInTheBody) {
  auto s = sign_in();
  ASSERT_EQ(s.response.status, 200) << s.response.body;
  std::string set_cookie;
  for (const auto& [k, v] : s.response.headers)
    if (k == "Set-Cookie") set_cookie = v;
  EXPECT_EQ(set_cookie.rfind("escala_session=", 0), 0u) << set_cookie;
  EXPECT_NE(set_cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("; SameSite=Strict"), std::string::npos);
  EXPECT_NE(set_cookie.find("; Path=/"), std::string::npos);
  EXPECT_NE(set_cookie.find("; Max-Age=43200"), std::string::npos);
  EXPECT_EQ(set_cookie.find("Secure"), std::string::npos);  // plain HTTP, not behind TLS
  auto j = body(s.response);
  EXPECT_FALSE(j.contains("token"));
  EXPECT_EQ(j["user"]["email"], "admin@desk.com");
  EXPECT_FALSE(s.csrf.empty());
  // The session is readable with the cookie alone.
  Response me = api_.handle(browser("GET", "/api/v1/auth/session", "", s.cookie));
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(body(me)["csrf_token"], s.csrf);
  EXPECT_EQ(body(me)["via"], "cookie");
}

TEST_F(BrowserApiTest, CookieWritesNeedTheCsrfTokenAndTheSameOrigin) {
  auto s = sign_in();
  const std::string create = R"({"code":"CSRF1","name":"Csrf"})";
  Response none = api_.handle(browser("POST", "/api/v1/accounts", create, s.cookie));
  EXPECT_EQ(none.status, 403);
  EXPECT_EQ(body(none)["error"]["code"], "csrf_failed");
  Response wrong = api_.handle(browser("POST", "/api/v1/accounts", create, s.cookie, s.csrf + "0"));
  EXPECT_EQ(wrong.status, 403);
  Request foreign = browser("POST", "/api/v1/accounts", create, s.cookie, s.csrf);
  foreign.origin = "https://evil.example";
  foreign.sec_fetch_site = "cross-site";
  EXPECT_EQ(api_.handle(foreign).status, 403);
  EXPECT_FALSE(store_.get_account("CSRF1")->has_value());
  Response good = api_.handle(browser("POST", "/api/v1/accounts", create, s.cookie, s.csrf));
  EXPECT_EQ(good.status, 201) << good.body;
  // Reads need no CSRF token.
  EXPECT_EQ(api_.handle(browser("GET", "/api/v1/accounts", "", s.cookie)).status, 200);
  // A bearer token needs none either, and the cookie is not consulted beside it.
  Request bearer = browser("POST", "/api/v1/accounts", R"({"code":"CSRF2","name":"B"})", "");
  bearer.authorization = "Bearer " + token_;
  bearer.origin = "https://evil.example";
  EXPECT_EQ(api_.handle(bearer).status, 201);
}

TEST_F(BrowserApiTest, CrossSiteSignInIsRefused) {
  Request r = browser("POST", "/api/v1/auth/session",
                      R"({"email":"admin@desk.com","password":"long enough"})", "");
  r.origin = "https://evil.example";
  r.sec_fetch_site = "cross-site";
  Response out = api_.handle(r);
  EXPECT_EQ(out.status, 403);
  EXPECT_EQ(body(out)["error"]["code"], "csrf_failed");
}

TEST_F(BrowserApiTest, LogoutEndsTheSessionAndClearsTheCookie) {
  auto s = sign_in();
  EXPECT_EQ(api_.handle(browser("POST", "/api/v1/auth/logout", "", s.cookie)).status, 403);
  Response out = api_.handle(browser("POST", "/api/v1/auth/logout", "", s.cookie, s.csrf));
  EXPECT_EQ(out.status, 204);
  bool cleared = false;
  for (const auto& [k, v] : out.headers)
    if (k == "Set-Cookie" && v.rfind("escala_session=; Max-Age=0", 0) == 0) cleared = true;
  EXPECT_TRUE(cleared);
  Response after = api_.handle(browser("GET", "/api/v1/auth/session", "", s.cookie));
  EXPECT_EQ(after.status, 401);
}

TEST_F(BrowserApiTest, PasswordChangeOverTheApi) {
  auto s = sign_in();
  auto change = [&](const std::string& b) {
    return api_.handle(browser("POST", "/api/v1/auth/password", b, s.cookie, s.csrf));
  };
  Response wrong = change(R"({"current_password":"nope","new_password":"a much longer one"})");
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(body(wrong)["error"]["field"], "current_password");
  EXPECT_EQ(change(R"({"current_password":"long enough","new_password":"short"})").status, 400);
  EXPECT_EQ(change(R"({"current_password":"long enough"})").status, 400);
  Response ok = change(R"({"current_password":"long enough","new_password":"a much longer one"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(body(ok)["sessions_ended"], 1);  // the fixture's bearer session
  EXPECT_EQ(call("GET", "/api/v1/me", "").status, 401);
  EXPECT_EQ(api_.handle(browser("GET", "/api/v1/me", "", s.cookie)).status, 200);
}

// Mutates valid requests byte by byte and structurally; every answer must be JSON with a
// status in 200..599, errors must carry {"error":{"code","message"}}, and 4xx answers
// must not have created anything.
TEST_F(ApiTest, MutatedRequestsNeverCrashAndFailCleanly) {
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"/api/v1/cases", R"({"type":"incident","subject":"Sin tono","channel":"phone","fields":{"extension":"204","direction":"inbound","counterpart_number":"+13056445535","occurred_at":"2026-11-26T10:30:00-06:00"},"impact":{"affected":"one","disruption":"degraded"}})"},
      {"/api/v1/cases", R"({"type":"activation","account":"ACME","subject":"Alta","fields":{"account_id":"ACME","extension":204,"extension_type":"teams","teams_email":"a@b.co","ring_groups":["x"],"direct_number":true}})"},
      {"/api/v1/accounts", R"({"code":"NEW1","name":"New","timezone":"America/Bogota","language":"en","contract":{"name":"P","activation_charge":{"amount_cents":100,"currency":"USD"}}})"},
      {"/api/v1/users", R"({"email":"u@x.com","name":"U","role":"agent","level":2,"password":"12345678","specialties":["sip"]})"},
  };
  std::mt19937 rng(20261127);
  auto mutate = [&](std::string s) {
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < edits && !s.empty(); ++i) {
      size_t pos = rng() % s.size();
      switch (rng() % 6) {
        case 0: s[pos] = static_cast<char>(rng() % 256); break;
        case 1: s.erase(pos, 1 + rng() % 8); break;
        case 2: s.insert(pos, std::string(1 + rng() % 3, "{}[]\",:\\0-9e"[rng() % 13])); break;
        case 3: s.insert(pos, "null"); break;
        case 4: s = s.substr(0, pos); break;
        case 5: s.insert(pos, std::string("\xC3\x28")); break;  // invalid UTF-8
      }
    }
    return s;
  };
  int errors = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto& [target, seed] = seeds[rng() % seeds.size()];
    std::string b = mutate(seed);
    int64_t before = case_count();
    Response r = call("POST", target, b);
    ASSERT_GE(r.status, 200) << b;
    ASSERT_LT(r.status, 600) << b;
    ASSERT_NE(r.status, 500) << b;
    core::Json j = core::Json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << b;
    if (r.status >= 400) {
      ++errors;
      ASSERT_TRUE(j["error"]["code"].is_string()) << r.body;
      ASSERT_TRUE(j["error"]["message"].is_string()) << r.body;
      ASSERT_EQ(case_count(), before) << b;
    }
  }
  EXPECT_GT(errors, 5000);  // the mutations really produced bad input
}

}  // namespace
}  // namespace escala::adapters::http
