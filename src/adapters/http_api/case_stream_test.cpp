// GET /api/v1/stream through the API as a pure function: sign-in required, limits per user
// and in all, and the privacy filter of what each reader hears (a customer: only their
// account's cases, never an internal-only change, never the kind of an internal event).

#include "adapters/http_api/case_stream.hpp"

#include <gtest/gtest.h>

#include "adapters/http_api/api.hpp"
#include "fakes/fake_crypto.hpp"
#include "fakes/memory_store.hpp"
#include "services/calendar_set.hpp"

namespace escala::adapters::http {
namespace {

class CaseStreamTest : public ::testing::Test {
 protected:
  CaseStreamTest()
      : clock_(*parse_iso8601("2026-11-27T15:00:00Z")),
        cases_(store_, store_, clock_, policy(), "CMW-"),
        directory_(store_, crypto_, clock_),
        auth_(store_, crypto_, clock_),
        api_(cases_, directory_, auth_, store_, options()) {
    cases_.set_change_listener([this](const services::CaseChanged& c) { hub_.publish(c); });
    for (const char* code : {"ACME", "BETA"}) {
      core::Account a;
      a.code = code;
      a.name = code;
      EXPECT_TRUE(directory_.create_account(core::Actor::system(), a).ok());
    }
    admin_ = user("admin@desk.com", core::Role::kAdmin, "");
    customer_ = user("cliente@acme.com", core::Role::kCustomer, "ACME");
  }

  ApiOptions options() {
    ApiOptions o{4096, "{}"};
    o.events = &hub_;
    o.max_streams = 3;
    o.max_streams_per_user = 2;
    return o;
  }

  core::CasePolicy policy() {
    core::CasePolicy p;
    p.due = &calendars_;
    return p;
  }

  std::string user(const std::string& email, core::Role role, const std::string& account) {
    services::NewUser u;
    u.email = email;
    u.name = email;
    u.role = role;
    u.account = account;
    u.password = "long enough";
    EXPECT_TRUE(directory_.create_user(core::Actor::system(), u).ok());
    auto login = call("POST", "/api/v1/auth/login",
                      R"({"email":")" + email + R"(","password":"long enough"})", "");
    EXPECT_EQ(login.status, 200);
    return core::Json::parse(login.body)["token"];
  }

  Response call(const std::string& method, const std::string& target, const std::string& body,
                const std::string& token) {
    Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.client = "127.0.0.1";
    if (!token.empty()) r.authorization = "Bearer " + token;
    return api_.handle(r);
  }

  // Opens a stream and collects what it pushes.
  struct Open {
    Response response;
    std::shared_ptr<std::vector<std::string>> got = std::make_shared<std::vector<std::string>>();
  };
  Open open(const std::string& token) {
    Open o;
    o.response = call("GET", "/api/v1/stream", "", token);
    if (o.response.stream) o.response.stream->start([got = o.got](std::string s) { got->push_back(s); });
    return o;
  }

  std::string new_case(const std::string& account) {
    auto r = call("POST", "/api/v1/cases",
                  R"({"type":"request","subject":"Consulta","account":")" + account + R"("})",
                  admin_);
    EXPECT_EQ(r.status, 201);
    return core::Json::parse(r.body)["number"];
  }

  services::CalendarSet calendars_;
  services::CaseEvents hub_;
  fakes::MemoryStore store_;
  fakes::FakeCrypto crypto_;
  ports::ManualClock clock_;
  services::CaseService cases_;
  services::DirectoryService directory_;
  services::AuthService auth_;
  Api api_;
  std::string admin_, customer_;
};

TEST_F(CaseStreamTest, NeedsASignedInUser) {
  auto r = call("GET", "/api/v1/stream", "", "");
  EXPECT_EQ(r.status, 401);
  EXPECT_FALSE(r.stream);
  r = call("GET", "/api/v1/stream", "", "not-a-token");
  EXPECT_EQ(r.status, 401);
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(call("POST", "/api/v1/stream", "", admin_).status, 405);
}

TEST_F(CaseStreamTest, AnswersAnEventStreamThatStartsReady) {
  auto s = open(admin_);
  ASSERT_EQ(s.response.status, 200);
  EXPECT_EQ(s.response.content_type, "text/event-stream");
  ASSERT_TRUE(s.response.stream);
  ASSERT_EQ(s.got->size(), 1u);
  EXPECT_NE(s.got->front().find("event: ready\n"), std::string::npos);
  EXPECT_NE(s.got->front().find("retry: "), std::string::npos);
  EXPECT_TRUE(s.response.stream->alive());
  EXPECT_EQ(hub_.listeners(), 1u);
  s.response.stream.reset();  // the connection ends: unsubscribed
  EXPECT_EQ(hub_.listeners(), 0u);
}

TEST_F(CaseStreamTest, ACustomerHearsOnlyTheirAccountsVisibleChanges) {
  auto staff = open(admin_);
  auto customer = open(customer_);
  const std::string acme = new_case("ACME");
  const std::string beta = new_case("BETA");
  ASSERT_EQ(call("POST", "/api/v1/cases/" + acme + "/replies",
                 R"({"body":"Revisar la troncal","internal":true})", admin_).status, 201);
  ASSERT_EQ(call("POST", "/api/v1/cases/" + beta + "/replies", R"({"body":"Hola BETA"})", admin_)
                .status, 201);
  ASSERT_EQ(call("POST", "/api/v1/cases/" + acme + "/replies", R"({"body":"Hola ACME"})", admin_)
                .status, 201);
  // Staff: every change, named.
  std::vector<core::Json> s, c;
  for (size_t i = 1; i < staff.got->size(); ++i)
    s.push_back(core::Json::parse((*staff.got)[i].substr(6)));
  for (size_t i = 1; i < customer.got->size(); ++i)
    c.push_back(core::Json::parse((*customer.got)[i].substr(6)));
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0]["case"], acme);
  EXPECT_EQ(s[0]["kind"], "created");
  EXPECT_EQ(s[2]["kind"], "note");
  EXPECT_EQ(s[3]["case"], beta);
  // The customer: their case's creation and the public reply; not the note, not BETA.
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0]["case"], acme);
  EXPECT_EQ(c[0]["kind"], "created");
  EXPECT_EQ(c[1]["case"], acme);
  EXPECT_EQ(c[1]["kind"], "reply");
  for (const auto& m : *customer.got) {
    EXPECT_EQ(m.find(beta), std::string::npos);
    EXPECT_EQ(m.find("note"), std::string::npos);
  }
  EXPECT_EQ((*staff.got)[1].rfind("data: {", 0), 0u);
  EXPECT_EQ((*staff.got)[1].substr((*staff.got)[1].size() - 2), "\n\n");
}

TEST_F(CaseStreamTest, InternalEventsAreNotNamedToCustomers) {
  const core::Actor customer{9, core::Role::kCustomer, 0, "ACME", "c"};
  const core::Actor agent{7, core::Role::kAgent, 1, "", "a"};
  // A change with an internal assignment and a public reply after it.
  services::CaseChanged mixed{1, "CMW-000001", "ACME", 6, "assigned", "reply"};
  EXPECT_NE(sse_message(customer, mixed).find(R"("kind":"reply")"), std::string::npos);
  EXPECT_NE(sse_message(agent, mixed).find(R"("kind":"assigned")"), std::string::npos);
  EXPECT_EQ(sse_message(customer, services::CaseChanged{1, "CMW-000001", "ACME", 7, "note", ""}), "");
}

TEST_F(CaseStreamTest, OpenStreamsAreLimitedPerUserAndInAll) {
  auto a1 = open(admin_);
  auto a2 = open(admin_);
  auto a3 = open(admin_);
  EXPECT_EQ(a1.response.status, 200);
  EXPECT_EQ(a2.response.status, 200);
  EXPECT_EQ(a3.response.status, 429);
  EXPECT_FALSE(a3.response.stream);
  auto c1 = open(customer_);
  EXPECT_EQ(c1.response.status, 200);
  auto c2 = open(customer_);
  EXPECT_EQ(c2.response.status, 503) << "the desk-wide limit (3) holds";
  bool retry_after = false;
  for (const auto& [k, v] : c2.response.headers) retry_after |= k == "Retry-After";
  EXPECT_TRUE(retry_after);
  a1.response.stream.reset();  // a connection ends: its place is free again
  EXPECT_EQ(open(customer_).response.status, 200);
}

TEST_F(CaseStreamTest, EndsWhenTheSessionEnds) {
  auto s = open(customer_);
  ASSERT_TRUE(s.response.stream);
  EXPECT_TRUE(s.response.stream->alive());
  EXPECT_EQ(call("POST", "/api/v1/auth/logout", "", customer_).status, 204);
  EXPECT_FALSE(s.response.stream->alive());
}

}  // namespace
}  // namespace escala::adapters::http
