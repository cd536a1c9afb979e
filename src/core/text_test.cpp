#include "core/text.hpp"

#include <gtest/gtest.h>

namespace escala::core {
namespace {

TEST(FoldForSearch, RemovesSpanishAndPortugueseAccents) {
  EXPECT_EQ(fold_for_search("Extensión"), "extension");
  EXPECT_EQ(fold_for_search("NÚMERO Contraparte"), "numero contraparte");
  EXPECT_EQ(fold_for_search("Año Ñandú"), "ano nandu");
  EXPECT_EQ(fold_for_search("Atenção São"), "atencao sao");
}

TEST(FoldForSearch, LeavesOtherScriptsIntact) {
  EXPECT_EQ(fold_for_search("日本"), "日本");
}

TEST(SearchTerms, SplitsOnPunctuation) {
  auto t = search_terms("¿Extensión 204 caída? CMW-000123");
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[0], "extension");
  EXPECT_EQ(t[1], "204");
  EXPECT_EQ(t[2], "caida");
  EXPECT_EQ(t[3], "cmw");
  EXPECT_EQ(t[4], "000123");
}

TEST(EmailAddress, OneCheckForEveryEntryPoint) {
  EXPECT_TRUE(is_email_address("ana.perez@acme.com.mx"));
  for (const char* bad : {"", "ana", "@acme.com", "ana@", "ana@acme", "ana@.com", "ana@acme.",
                          "a@b@c.com", "ana perez@acme.com", "\"ana\"@acme.com", "a,b@acme.com"})
    EXPECT_FALSE(is_email_address(bad)) << bad;
  EXPECT_FALSE(is_email_address(std::string(250, 'a') + "@b.co"));
}

TEST(Utf8, DetectsInvalidSequences) {
  EXPECT_TRUE(is_valid_utf8("Extensión"));
  EXPECT_FALSE(is_valid_utf8(std::string("\xC3", 1)));
  EXPECT_FALSE(is_valid_utf8(std::string("\xC0\xAF", 2)));  // overlong '/'
  EXPECT_FALSE(is_valid_utf8(std::string("ab\xFF", 3)));
}

}  // namespace
}  // namespace escala::core
