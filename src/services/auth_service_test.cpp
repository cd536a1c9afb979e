// AuthService over the in-memory store: CSRF tokens of browser sessions and the password
// change (rules, wrong current password, other sessions ended, the cache not reviving them).

#include "services/auth_service.hpp"

#include <gtest/gtest.h>

#include "fakes/fake_crypto.hpp"
#include "fakes/memory_store.hpp"
#include "services/directory_service.hpp"

namespace escala::services {
namespace {

class AuthServiceTest : public ::testing::Test {
 protected:
  AuthServiceTest()
      : clock_(*parse_iso8601("2026-11-27T15:00:00Z")),
        directory_(store_, crypto_, clock_),
        auth_(store_, crypto_, clock_, AuthOptions{Seconds{3600}, 3, Seconds{600}}) {
    NewUser u;
    u.email = "agent@desk.com";
    u.name = "Agent";
    u.role = core::Role::kAgent;
    u.level = 1;
    u.password = "correct horse";
    auto r = directory_.create_user(core::Actor::system(), u);
    EXPECT_TRUE(r.ok());
    user_ = *r;
    u.email = "other@desk.com";
    EXPECT_TRUE(directory_.create_user(core::Actor::system(), u).ok());
  }

  std::string login(const std::string& email = "agent@desk.com",
                    const std::string& password = "correct horse") {
    auto r = auth_.login(email, password, "10.0.0.1");
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->token : "";
  }

  fakes::MemoryStore store_;
  fakes::FakeCrypto crypto_;
  ports::ManualClock clock_;
  DirectoryService directory_;
  AuthService auth_;
  core::User user_;
};

TEST_F(AuthServiceTest, CsrfTokensArePerSessionAndStable) {
  const std::string a = login(), b = login();
  EXPECT_EQ(auth_.csrf_token(a), auth_.csrf_token(a));
  EXPECT_NE(auth_.csrf_token(a), auth_.csrf_token(b));
  EXPECT_NE(auth_.csrf_token(a), a);
  EXPECT_TRUE(auth_.csrf_token_matches(a, auth_.csrf_token(a)));
  EXPECT_FALSE(auth_.csrf_token_matches(a, auth_.csrf_token(b)));
  EXPECT_FALSE(auth_.csrf_token_matches(a, ""));
  EXPECT_FALSE(auth_.csrf_token_matches(a, auth_.csrf_token(a) + "x"));
  EXPECT_FALSE(auth_.csrf_token_matches(a, std::string(5000, 'm')));
}

TEST_F(AuthServiceTest, SessionTellsTheExpiry) {
  const std::string t = login();
  auto s = auth_.session(t);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->user.email, "agent@desk.com");
  EXPECT_EQ(s->expires_at, clock_.now() + Seconds{3600});
  EXPECT_EQ(s->token_hash, crypto_.sha256_hex(t));
}

TEST_F(AuthServiceTest, PasswordChangeKeepsThisSessionAndEndsTheOthers) {
  const std::string mine = login(), other = login(), someone_else = login("other@desk.com");
  // All cached, as after a few requests.
  ASSERT_TRUE(auth_.authenticate(mine).ok());
  ASSERT_TRUE(auth_.authenticate(other).ok());
  clock_.advance(Seconds{1});
  auto ended = auth_.change_password(user_, mine, "correct horse", "a new battery staple");
  ASSERT_TRUE(ended.ok()) << ended.error().message;
  EXPECT_EQ(*ended, 1);
  EXPECT_TRUE(auth_.authenticate(mine).ok());
  EXPECT_FALSE(auth_.authenticate(other).ok());  // not served from the cache
  EXPECT_TRUE(auth_.authenticate(someone_else).ok());
  // The old password no longer signs in; the new one does.
  EXPECT_EQ(auth_.login("agent@desk.com", "correct horse", "10.0.0.2").error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_TRUE(auth_.login("agent@desk.com", "a new battery staple", "10.0.0.3").ok());
}

TEST_F(AuthServiceTest, PasswordChangeChecksTheCurrentPasswordAndTheRules) {
  const std::string mine = login(), other = login();
  auto wrong = auth_.change_password(user_, mine, "not it", "a new battery staple");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(wrong.error().field, "current_password");
  auto short_one = auth_.change_password(user_, mine, "correct horse", "short");
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(short_one.error().field, "new_password");
  // Eight characters, not eight bytes.
  EXPECT_EQ(auth_.change_password(user_, mine, "correct horse", "ñññññññ").error().field,
            "new_password");
  auto same = auth_.change_password(user_, mine, "correct horse", "correct horse");
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().field, "new_password");
  // Nothing changed.
  EXPECT_TRUE(auth_.authenticate(other).ok());
  EXPECT_TRUE(auth_.login("agent@desk.com", "correct horse", "10.0.0.4").ok());
}

TEST_F(AuthServiceTest, WrongCurrentPasswordsAreRateLimited) {
  const std::string mine = login();
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(auth_.change_password(user_, mine, "guess", "a new battery staple").error().code,
              ErrorCode::kPermissionDenied);
  EXPECT_EQ(
      auth_.change_password(user_, mine, "correct horse", "a new battery staple").error().code,
      ErrorCode::kRateLimited);
  clock_.advance(Seconds{600});
  EXPECT_TRUE(auth_.change_password(user_, mine, "correct horse", "a new battery staple").ok());
}

TEST(PasswordRules, EightCharactersToAKilobyte) {
  EXPECT_FALSE(validate_new_password("1234567", "p").ok());
  EXPECT_TRUE(validate_new_password("12345678", "p").ok());
  EXPECT_TRUE(validate_new_password("ññññññññ", "p").ok());
  EXPECT_FALSE(validate_new_password(std::string(1025, 'x'), "p").ok());
  EXPECT_TRUE(validate_new_password(std::string(1024, 'x'), "p").ok());
}

}  // namespace
}  // namespace escala::services
