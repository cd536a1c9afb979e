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
