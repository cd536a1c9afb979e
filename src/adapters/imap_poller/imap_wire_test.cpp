// The IMAP response syntax the poller relies on, without a server.

#include "adapters/imap_poller/imap_wire.hpp"

#include <gtest/gtest.h>

namespace escala::adapters::imap {
namespace {

TEST(ImapWire, LiteralsAreCutOutByCountNotByLines) {
  // The literal holds lines that look like responses, a fake literal marker and 8-bit bytes.
  std::string body = "Subject: x\r\n* OK not a response\r\nA004 OK nor this {5}\r\n)\r\n\xff\xfe";
  std::string stream = "* 3 FETCH (UID 7 BODY[]<0> {" + std::to_string(body.size()) + "}\r\n" +
                       body + " FLAGS (\\Seen))\r\nA004 OK Fetch completed.\r\n";
  auto r = parse_responses(stream, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].tag, "*");
  ASSERT_EQ((*r)[0].literals.size(), 1u);
  EXPECT_EQ((*r)[0].literals[0], body);
  auto done = last_completion(*r);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->tag, "A004");
  EXPECT_EQ(done->status, "OK");
  EXPECT_EQ(done->text, "Fetch completed.");

  auto f = fetch_responses(*r);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].sequence, 3u);
  EXPECT_EQ(f[0].uid(), 7u);
  ASSERT_TRUE(f[0].attributes.count("BODY[]<0>"));
  EXPECT_EQ(f[0].attributes.at("BODY[]<0>").kind, FetchValue::Kind::kString);
  EXPECT_EQ(f[0].attributes.at("BODY[]<0>").data, body);
  EXPECT_EQ(f[0].attributes.at("FLAGS").kind, FetchValue::Kind::kList);
  EXPECT_EQ(f[0].attributes.at("FLAGS").data, "\\Seen");
}

TEST(ImapWire, ALiteralCutShortIsAnError) {
  auto r = parse_responses("* 1 FETCH (UID 1 BODY[] {100}\r\nonly this\r\nA004 OK done\r\n",
                           1 << 20);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(parse_responses("* 1 FETCH (BODY[] {99999999999})\r\n", 1 << 20).ok() &&
               false);  // an absurd count is not a literal at all: parsed as text
}

TEST(ImapWire, SizesNilAndQuotedBodies) {
  auto r = parse_responses(
      "* 1 FETCH (UID 4 RFC822.SIZE 81)\r\n"
      "* 2 FETCH (RFC822.SIZE 200035 UID 5)\r\n"
      "* 3 FETCH (UID 6 BODY[] NIL)\r\n"
      "* 4 FETCH (UID 9 BODY[] \"a \\\"q\\\" b\")\r\n"
      "* 5 EXISTS\r\n"
      "A7 OK done\r\n",
      1 << 20);
  ASSERT_TRUE(r.ok());
  auto f = fetch_responses(*r);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].uid(), 4u);
  EXPECT_EQ(f[0].attributes.at("RFC822.SIZE").data, "81");
  EXPECT_EQ(f[1].uid(), 5u);
  EXPECT_EQ(f[1].attributes.at("RFC822.SIZE").data, "200035");
  EXPECT_EQ(f[2].attributes.at("BODY[]").kind, FetchValue::Kind::kNil);
  EXPECT_EQ(f[3].attributes.at("BODY[]").data, "a \"q\" b");
}

TEST(ImapWire, SearchResults) {
  auto r = parse_responses(
      "* 3 EXISTS\r\n* SEARCH 4 2 99\r\n* search 7 (MODSEQ 917162500)\r\n* SEARCH\r\n"
      "* SEARCH x 0 4294967295 4294967296\r\nA1 OK\r\n",
      1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(search_results(*r), (std::vector<uint32_t>{4, 2, 99, 7, 4294967295u}));
}

TEST(ImapWire, UidValidityAndCapabilities) {
  auto r = parse_responses(
      "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready.\r\n"
      "A1 OK Logged in\r\n"
      "* CAPABILITY IMAP4rev1 UIDPLUS move\r\n"
      "* OK [UIDVALIDITY 1795823956] UIDs valid\r\n"
      "* OK [UIDNEXT 2] Predicted next UID\r\n"
      "A2 OK [READ-WRITE] Select completed\r\n",
      1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(uidvalidity(*r), 1795823956u);
  EXPECT_EQ(capabilities(*r), (std::set<std::string>{"IMAP4REV1", "UIDPLUS", "MOVE"}));
  EXPECT_FALSE(uidvalidity(std::vector<ImapResponse>{}));
}

TEST(ImapWire, ResponseCodes) {
  EXPECT_TRUE(has_code("[ALREADYEXISTS] Mailbox already exists", "ALREADYEXISTS"));
  EXPECT_TRUE(has_code("[TRYCREATE] Mailbox doesn't exist: X", "trycreate"));
  EXPECT_FALSE(has_code("[TRYCREATEX] no", "TRYCREATE"));
  EXPECT_FALSE(has_code("Mailbox doesn't exist", "TRYCREATE"));
}

TEST(ImapWire, UidSets) {
  EXPECT_EQ(uid_set({}), "");
  EXPECT_EQ(uid_set({3}), "3");
  EXPECT_EQ(uid_set({1, 2, 3, 4, 5, 7, 9, 10}), "1:5,7,9:10");
}

TEST(ImapWire, MailboxQuoting) {
  EXPECT_EQ(quote_mailbox("Escala/Processed").value(), "\"Escala/Processed\"");
  EXPECT_EQ(quote_mailbox("a\"b\\c").value(), "\"a\\\"b\\\\c\"");
  EXPECT_FALSE(quote_mailbox("").ok());
  EXPECT_FALSE(quote_mailbox("x\r\nA1 LOGOUT").ok());
  EXPECT_FALSE(quote_mailbox("Procesados/Año").ok());  // needs modified UTF-7
}

}  // namespace
}  // namespace escala::adapters::imap
