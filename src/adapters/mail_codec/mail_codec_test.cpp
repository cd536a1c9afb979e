#include "adapters/mail_codec/mail_codec.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "adapters/mail_codec/charset.hpp"

namespace escala::adapters {
namespace {

namespace fs = std::filesystem;
using core::MailMessage;
using mail_codec_internal::is_valid_utf8;

class MailCodecTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mail_codec_init(); }

  static MailMessage parse(const std::string& raw, const ParseLimits& limits = {}) {
    auto r = parse_mail(raw, limits);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? std::move(r).value() : MailMessage{};
  }
};

bool has_defect_containing(const MailMessage& m, const std::string& words) {
  for (const auto& d : m.defects) {
    if (d.find(words) != std::string::npos) return true;
  }
  return false;
}

// ---- headers ----

TEST_F(MailCodecTest, EncodedWordSubjectInUtf8AndLatin1IsDecoded) {
  auto m = parse("Subject: =?UTF-8?Q?Extensi=C3=B3n?= de plazo [CMW-000123]\n\nx\n");
  EXPECT_EQ(m.subject, "Extensión de plazo [CMW-000123]");
  auto l = parse("Subject: Re: =?ISO-8859-1?Q?Extensi=F3n?=\n\nx\n");
  EXPECT_EQ(l.subject, "Re: Extensión");
  EXPECT_TRUE(l.defects.empty());
}

TEST_F(MailCodecTest, AdjacentEncodedWordsJoinEvenWhenTheySplitACharacter) {
  // "ó" is C3 B3; the two words split it, and the blank between them is not text.
  auto m = parse("Subject: =?UTF-8?B?RXh0ZW5zacM=?=\n =?UTF-8?B?s24=?= final\n\nx\n");
  EXPECT_EQ(m.subject, "Extensión final");
}

TEST_F(MailCodecTest, UnknownCharsetInSubjectFallsBackAndRecordsADefect) {
  auto m = parse("Subject: =?x-unknown?Q?Extensi=F3n?= [CMW-1]\n\nx\n");
  EXPECT_EQ(m.subject, "Extensión [CMW-1]");  // read as windows-1252
  EXPECT_TRUE(has_defect_containing(m, "unknown charset"));
}

TEST_F(MailCodecTest, InvalidBytesInUtf8EncodedWordAreReplaced) {
  auto m = parse("Subject: =?utf-8?q?bad=FF?= end\n\nx\n");
  EXPECT_EQ(m.subject, "bad\xEF\xBF\xBD end");
  EXPECT_TRUE(has_defect_containing(m, "subject"));
}

TEST_F(MailCodecTest, RawEightBitSubjectIsReadAsUtf8OrWindows1252) {
  EXPECT_EQ(parse("Subject: Extensi\xC3\xB3n\n\nx\n").subject, "Extensión");
  EXPECT_EQ(parse("Subject: Extensi\xF3n\n\nx\n").subject, "Extensión");
}

TEST_F(MailCodecTest, DisplayNamesAreDecodedIncludingBrokenCharsets) {
  auto m = parse(
      "From: =?ISO-8859-1?Q?Jos=E9_P=E9rez?= <jose@example.com>\n"
      "To: \"Ventas, Norte\" <ventas@example.com>, =?koi8-r?b?8NLJ18XU?= <ivan@example.ru>\n"
      "Cc: =?x-bogus?Q?Mu=F1oz?= <m@example.com>, plain@example.com\n"
      "Reply-To: Soporte <soporte@example.com>\n\nx\n");
  EXPECT_EQ(m.from.name, "José Pérez");
  EXPECT_EQ(m.from.address, "jose@example.com");
  ASSERT_EQ(m.to.size(), 2u);
  EXPECT_EQ(m.to[0].name, "Ventas, Norte");
  EXPECT_EQ(m.to[1].name, "Привет");
  EXPECT_EQ(m.to[1].address, "ivan@example.ru");
  ASSERT_EQ(m.cc.size(), 2u);
  EXPECT_EQ(m.cc[0].name, "Muñoz");
  EXPECT_EQ(m.cc[1].address, "plain@example.com");
  ASSERT_TRUE(m.reply_to.has_value());
  EXPECT_EQ(m.reply_to->address, "soporte@example.com");
}

TEST_F(MailCodecTest, MessageIdsLoseAnglesAndReferencesKeepTheirOrder) {
  std::string refs;
  for (int i = 0; i < 40; ++i) refs += " <ref" + std::to_string(i) + "@example.com>\n";
  auto m = parse("Message-ID: <abc.123@example.com>\nIn-Reply-To: <ref39@example.com>\n"
                 "References:" + refs + "\nx\n");
  EXPECT_EQ(m.message_id, "abc.123@example.com");
  ASSERT_EQ(m.in_reply_to.size(), 1u);
  EXPECT_EQ(m.in_reply_to[0], "ref39@example.com");
  ASSERT_EQ(m.references.size(), 40u);
  EXPECT_EQ(m.references.front(), "ref0@example.com");
  EXPECT_EQ(m.references.back(), "ref39@example.com");
}

TEST_F(MailCodecTest, GarbageInReferencesIsTolerated) {
  auto m = parse("References: garbage <a@b.example> (comment) <<c@d.example> junk <e@f\n\nx\n");
  ASSERT_FALSE(m.references.empty());
  EXPECT_EQ(m.references.front(), "a@b.example");
}

TEST_F(MailCodecTest, DateBecomesUtcMillisecondsAndBadDatesAreAbsent) {
  auto m = parse("Date: Thu, 29 Feb 2024 17:30:00 -0600\n\nx\n");
  ASSERT_TRUE(m.date.has_value());
  EXPECT_EQ(to_unix_millis(*m.date), 1709249400000LL);
  EXPECT_FALSE(parse("Date: not a date at all\n\nx\n").date.has_value());
  EXPECT_FALSE(parse("Subject: no date\n\nx\n").date.has_value());
}

TEST_F(MailCodecTest, HeadersAreLowerCaseFirstOccurrenceDecodedAndUnfolded) {
  auto m = parse(
      "Auto-Submitted: auto-replied\nX-Escala-Case: CMW-000001\nX-Escala-Case: CMW-000002\n"
      "List-Id: Soporte\n <soporte.example.com>\nX-Note: =?UTF-8?Q?se=C3=B1al?=\n"
      "Precedence: bulk\n\nx\n");
  ASSERT_NE(m.header("auto-submitted"), nullptr);
  EXPECT_EQ(*m.header("auto-submitted"), "auto-replied");
  EXPECT_EQ(*m.header("x-escala-case"), "CMW-000001");
  EXPECT_EQ(*m.header("list-id"), "Soporte <soporte.example.com>");
  EXPECT_EQ(*m.header("x-note"), "señal");
  EXPECT_EQ(*m.header("precedence"), "bulk");
  ASSERT_NE(m.header("content-type"), nullptr);  // of the top part, even when implicit
  EXPECT_EQ(*m.header("content-type"), "text/plain");
}

// ---- bodies ----

TEST_F(MailCodecTest, QuotedPrintableBodyIsDecoded) {
  auto m = parse(
      "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
      "Extensi=C3=B3n de pla=\nzo =3D ok\n");
  EXPECT_EQ(m.text, "Extensión de plazo = ok\n");
}

TEST_F(MailCodecTest, Base64BodyIsDecoded) {
  auto m = parse(
      "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
      "SG9sYSwgw7FhbmTDug==\n");
  EXPECT_EQ(m.text, "Hola, ñandú");
}

TEST_F(MailCodecTest, LegacyCharsetsAreConvertedToUtf8) {
  auto latin1 = parse("Content-Type: text/plain; charset=ISO-8859-1\n\nA\xF1o \xE9t\xE9\n");
  EXPECT_EQ(latin1.text, "Año été\n");
  auto cp1252 = parse("Content-Type: text/plain; charset=windows-1252\n\n\x93hi\x94 \x80\n");
  EXPECT_EQ(cp1252.text, "\xE2\x80\x9Chi\xE2\x80\x9D \xE2\x82\xAC\n");
  auto koi8 = parse("Content-Type: text/plain; charset=KOI8-R\n\n\xF0\xD2\xC9\xD7\xC5\xD4\n");
  EXPECT_EQ(koi8.text, "Привет\n");
}

TEST_F(MailCodecTest, BrokenBodyBytesStillGiveValidUtf8WithADefect) {
  auto bad_utf8 = parse("Content-Type: text/plain; charset=utf-8\n\nok \xC3 \xFF\xFE end\n");
  EXPECT_TRUE(is_valid_utf8(bad_utf8.text));
  EXPECT_NE(bad_utf8.text.find("ok "), std::string::npos);
  EXPECT_TRUE(has_defect_containing(bad_utf8, "invalid UTF-8"));
  auto unknown = parse("Content-Type: text/plain; charset=x-nonsense\n\ncaf\xE9\n");
  EXPECT_EQ(unknown.text, "café\n");
  EXPECT_TRUE(has_defect_containing(unknown, "unknown charset"));
  auto undeclared = parse("Subject: x\n\ncaf\xE9\n");
  EXPECT_EQ(undeclared.text, "café\n");
}

TEST_F(MailCodecTest, HtmlOnlyMailGetsTextFromTheHtml) {
  auto m = parse(
      "Content-Type: text/html; charset=utf-8\n\n"
      "<html><head><style>p{}</style></head><body><p>Hola&nbsp;equipo</p>"
      "<p>Gracias</p></body></html>\n");
  EXPECT_EQ(m.text, "Hola equipo\n\nGracias");
  EXPECT_NE(m.html.find("<p>Hola&nbsp;equipo</p>"), std::string::npos);
}

TEST_F(MailCodecTest, HtmlCharsetFromMetaIsUsedWhenContentTypeHasNone) {
  auto m = parse("Content-Type: text/html\n\n<meta charset=\"iso-8859-1\"><p>Se\xF1or</p>\n");
  EXPECT_EQ(m.text, "Señor");
}

TEST_F(MailCodecTest, MultipartAlternativePrefersThePlainPart) {
  auto m = parse(
      "Content-Type: multipart/alternative; boundary=b\n\n--b\n"
      "Content-Type: text/plain; charset=utf-8\n\nplain version\n--b\n"
      "Content-Type: text/html; charset=utf-8\n\n<p>html version</p>\n--b--\n");
  EXPECT_EQ(m.text, "plain version");
  EXPECT_EQ(m.html, "<p>html version</p>");
  EXPECT_TRUE(m.attachments.empty());
}

TEST_F(MailCodecTest, InlineImageInRelatedKeepsItsContentId) {
  auto m = parse(
      "Content-Type: multipart/alternative; boundary=a\n\n--a\n"
      "Content-Type: text/plain\n\ntext\n--a\n"
      "Content-Type: multipart/related; boundary=r\n\n--r\n"
      "Content-Type: text/html\n\n<img src=\"cid:logo@x\">\n--r\n"
      "Content-Type: image/png\nContent-ID: <logo@x>\nContent-Transfer-Encoding: base64\n\n"
      "iVBORw0KGgo=\n--r--\n--a--\n");
  EXPECT_EQ(m.text, "text");
  ASSERT_EQ(m.attachments.size(), 1u);
  const auto& image = m.attachments[0];
  EXPECT_EQ(image.content_type, "image/png");
  EXPECT_EQ(image.content_id, "logo@x");
  EXPECT_TRUE(image.is_inline);
  EXPECT_EQ(image.data, "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(image.size, 8);
  EXPECT_EQ(image.sha256, "4c4b6a3be1314ab86138bef4314dde022e600960d8689a2c8f8631802d20dab6");
}

TEST_F(MailCodecTest, Rfc2231FilenamesAreDecoded) {
  auto m = parse(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nbody\n--b\n"
      "Content-Type: application/pdf\n"
      "Content-Disposition: attachment; filename*=UTF-8''Informe%20anual%20%C3%B1.pdf\n\n"
      "%PDF\n--b\n"
      "Content-Type: application/octet-stream\n"
      "Content-Disposition: attachment;\n filename*0*=ISO-8859-1''Extensi%F3n;\n"
      " filename*1=\"_larga.txt\"\n\nx\n--b--\n");
  ASSERT_EQ(m.attachments.size(), 2u);
  EXPECT_EQ(m.attachments[0].filename, "Informe anual ñ.pdf");
  EXPECT_EQ(m.attachments[0].content_type, "application/pdf");
  EXPECT_FALSE(m.attachments[0].is_inline);
  EXPECT_EQ(m.attachments[1].filename, "Extensión_larga.txt");
  EXPECT_EQ(m.text, "body");
}

TEST_F(MailCodecTest, EncodedWordFilenamesAreDecodedAndLoseTheirPath) {
  auto m = parse(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
      "Content-Type: application/pdf; name=\"=?UTF-8?B?ZmFjdHVyYSBuwrAgMS5wZGY=?=\"\n\nx\n--b\n"
      "Content-Type: text/plain\nContent-Disposition: attachment; "
      "filename=\"C:\\\\Users\\\\ana\\\\notas.txt\"\n\nx\n--b\n"
      "Content-Type: text/plain\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\n\n"
      "x\n--b--\n");
  ASSERT_EQ(m.attachments.size(), 3u);
  EXPECT_EQ(m.attachments[0].filename, "factura n° 1.pdf");
  EXPECT_EQ(m.attachments[1].filename, "notas.txt");
  EXPECT_EQ(m.attachments[2].filename, "passwd");
}

TEST_F(MailCodecTest, AttachedMessageIsAnEmlAttachmentAndNotTheBody) {
  auto m = parse(
      "Subject: Fwd: pedido\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
      "Content-Type: text/plain\n\nmira esto\n--b\n"
      "Content-Type: message/rfc822\n\n"
      "Subject: =?UTF-8?Q?Pedido_n=C2=BA_7/2024?=\nMessage-ID: <inner@example.com>\n\n"
      "texto del original\n--b--\n");
  EXPECT_EQ(m.text, "mira esto");
  ASSERT_EQ(m.attachments.size(), 1u);
  EXPECT_EQ(m.attachments[0].filename, "Pedido nº 7_2024.eml");
  EXPECT_EQ(m.attachments[0].content_type, "message/rfc822");
  EXPECT_NE(m.attachments[0].data.find("texto del original"), std::string::npos);
  EXPECT_TRUE(m.original_message_id.empty());  // a forward, not a bounce
}

TEST_F(MailCodecTest, NestedAttachedMessagesStayOneAttachment) {
  auto m = parse(
      "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: text/plain\n\nouter\n--o\n"
      "Content-Type: message/rfc822\n\nSubject: middle\n"
      "Content-Type: multipart/mixed; boundary=i\n\n--i\nContent-Type: text/plain\n\nmiddle text\n"
      "--i\nContent-Type: message/rfc822\n\nSubject: inner\n\ninner text\n--i--\n--o--\n");
  EXPECT_EQ(m.text, "outer");
  ASSERT_EQ(m.attachments.size(), 1u);
  EXPECT_EQ(m.attachments[0].filename, "middle.eml");
  EXPECT_NE(m.attachments[0].data.find("inner text"), std::string::npos);
}

// ---- reports and bounces ----

const char kDsn[] =
    "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "Message-ID: <bounce-1@mx.example.com>\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
    "--b\nContent-Type: text/plain\n\nI'm sorry to have to inform you...\n"
    "--b\nContent-Type: message/delivery-status\n\n"
    "Reporting-MTA: dns; mx.example.com\nArrival-Date: Mon, 1 Jan 2024 10:00:00 +0000\n\n"
    "Final-Recipient: rfc822; ana@example.org\nOriginal-Recipient: rfc822;ana.alias@example.org\n"
    "Action: Failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <ana@example.org>:\n"
    "    Recipient address rejected: User unknown\n\n"
    "Original-Recipient: rfc822; luis@example.org\nAction: delayed\nStatus: 4.4.1\n\n"
    "--b\nContent-Type: text/rfc822-headers\n\n"
    "From: Soporte <soporte@desk.example>\nMessage-ID: <case-42.7@desk.example>\n"
    "Subject: [CMW-000042] Respuesta\n\n--b--\n";

TEST_F(MailCodecTest, DeliveryStatusNotificationIsParsed) {
  auto m = parse(kDsn);
  EXPECT_EQ(m.report_type, "delivery-status");
  ASSERT_EQ(m.delivery.size(), 2u);
  EXPECT_EQ(m.delivery[0].recipient, "ana@example.org");
  EXPECT_EQ(m.delivery[0].action, "failed");
  EXPECT_EQ(m.delivery[0].status, "5.1.1");
  EXPECT_EQ(m.delivery[0].diagnostic,
            "550 5.1.1 <ana@example.org>: Recipient address rejected: User unknown");
  EXPECT_EQ(m.delivery[1].recipient, "luis@example.org");  // Original- when no Final-
  EXPECT_EQ(m.delivery[1].action, "delayed");
  EXPECT_EQ(m.original_message_id, "case-42.7@desk.example");
  EXPECT_EQ(m.text, "I'm sorry to have to inform you...");
  EXPECT_TRUE(m.attachments.empty());
}

TEST_F(MailCodecTest, DsnWithReturnedMessageTakesItsMessageId) {
  auto m = parse(
      "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
      "--b\nContent-Type: text/plain\n\nfailed\n"
      "--b\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822;x@y.example\n"
      "Action: failed\nStatus: 5.0.0\n\n"
      "--b\nContent-Type: message/rfc822\n\nMessage-ID: <orig@desk.example>\nSubject: Hola\n\n"
      "body\n--b--\n");
  EXPECT_EQ(m.original_message_id, "orig@desk.example");
  ASSERT_EQ(m.attachments.size(), 1u);
  EXPECT_EQ(m.attachments[0].filename, "Hola.eml");
}

TEST_F(MailCodecTest, ClassicBounceFindsTheQuotedMessageId) {
  auto m = parse(
      "From: MAILER-DAEMON@mx.example.com\nSubject: failure notice\n"
      "Message-ID: <own@mx.example.com>\n\n"
      "Hi. This is the qmail-send program.\n\n--- Below this line is a copy of the message.\n\n"
      "Subject: [CMW-000042] Respuesta\nMessage-ID:\n <case-42.9@desk.example>\n\nhola\n");
  EXPECT_TRUE(m.report_type.empty());
  EXPECT_EQ(m.original_message_id, "case-42.9@desk.example");
}

TEST_F(MailCodecTest, OrdinaryMailDoesNotTakeAQuotedMessageId) {
  auto m = parse("From: ana@example.org\nSubject: mira\n\nMessage-ID: <x@y.example>\n");
  EXPECT_TRUE(m.original_message_id.empty());
}

TEST_F(MailCodecTest, DispositionNotificationGivesTheOriginalMessageId) {
  auto m = parse(
      "Content-Type: multipart/report; report-type=disposition-notification; boundary=b\n\n"
      "--b\nContent-Type: text/plain\n\nread\n--b\n"
      "Content-Type: message/disposition-notification\n\n"
      "Final-Recipient: rfc822; ana@example.org\nOriginal-Message-ID: <mdn-orig@desk.example>\n"
      "Disposition: manual-action/MDN-sent-manually; displayed\n--b--\n");
  EXPECT_EQ(m.report_type, "disposition-notification");
  EXPECT_EQ(m.original_message_id, "mdn-orig@desk.example");
  EXPECT_TRUE(m.delivery.empty());
}

// ---- limits and hostile input ----

TEST_F(MailCodecTest, EmptyInputIsInvalidArgument) {
  auto r = parse_mail("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(MailCodecTest, MessageOverTheLimitIsPayloadTooLarge) {
  ParseLimits limits;
  limits.max_message_bytes = 100;
  auto r = parse_mail(std::string(101, 'a'), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPayloadTooLarge);
}

TEST_F(MailCodecTest, TooManyPartsStopTheWalkWithADefect) {
  std::string raw = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 10; ++i) {
    raw += "--b\nContent-Type: application/octet-stream; name=f" + std::to_string(i) + "\n\nx\n";
  }
  raw += "--b--\n";
  ParseLimits limits;
  limits.max_parts = 4;  // the multipart itself and three leaves
  auto m = parse(raw, limits);
  EXPECT_EQ(m.attachments.size(), 3u);
  EXPECT_TRUE(has_defect_containing(m, "MIME parts"));
}

TEST_F(MailCodecTest, TooDeepNestingStopsWithADefect) {
  std::string raw;
  const int depth = 6;
  for (int i = 0; i < depth; ++i) {
    raw += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" +
           std::to_string(i) + "\n";
  }
  raw += "Content-Type: text/plain\n\ndeep\n";
  for (int i = depth - 1; i >= 0; --i) raw += "--b" + std::to_string(i) + "--\n";
  ParseLimits limits;
  limits.max_depth = 3;
  auto m = parse(raw, limits);
  EXPECT_TRUE(m.text.empty());
  EXPECT_TRUE(has_defect_containing(m, "nesting"));
  EXPECT_EQ(parse(raw).text, "deep");
}

TEST_F(MailCodecTest, LongTextIsCutOnACharacterBoundaryWithADefect) {
  ParseLimits limits;
  limits.max_text_bytes = 5;
  auto m = parse("Content-Type: text/plain; charset=utf-8\n\n\xC3\xA1\xC3\xA1\xC3\xA1\n", limits);
  EXPECT_EQ(m.text, "\xC3\xA1\xC3\xA1");
  EXPECT_TRUE(has_defect_containing(m, "cut"));
}

TEST_F(MailCodecTest, RawHashAndSizeAreOfTheInputBytes) {
  auto m = parse("abc");
  EXPECT_EQ(m.raw_size, 3);
  EXPECT_EQ(m.raw_sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(MailCodecTest, InputWithoutHeadersIsReadAsTextWithADefect) {
  auto text = parse("just some words\nand more\n");
  EXPECT_EQ(text.text, "just some words\nand more\n");
  EXPECT_FALSE(text.defects.empty());
  auto binary = parse(std::string("\xD0\xCF\x11\xE0\0\0\x01\x02 binary", 14));
  EXPECT_TRUE(binary.text.empty());
  EXPECT_TRUE(has_defect_containing(binary, "not a MIME message"));
}

TEST_F(MailCodecTest, RandomBytesNeverBreakUtf8OrCrash) {
  std::mt19937 random(12345);
  const std::string pieces[] = {"Subject: ", "=?utf-8?b?", "?=", "\n", "\r\n",
                                "Content-Type: multipart/mixed; boundary=z\n", "--z\n",
                                "--z--\n", "\xC3", "\xFF", "=?x?q?=E9?=", "<", ">", "&#x",
                                "Content-Transfer-Encoding: base64\n", "\0"};
  for (int round = 0; round < 300; ++round) {
    std::string raw;
    int n = 1 + random() % 40;
    for (int i = 0; i < n; ++i) raw += pieces[random() % std::size(pieces)];
    auto r = parse_mail(raw);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(is_valid_utf8(r->text));
    EXPECT_TRUE(is_valid_utf8(r->subject));
  }
}

TEST_F(MailCodecTest, ParseMailFileReadsTheSameMessageAsParseMail) {
  std::string big(3 * 1024 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 251);
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string encoded;
  for (size_t i = 0; i + 2 < big.size(); i += 3) {
    uint32_t v = (uint8_t(big[i]) << 16) | (uint8_t(big[i + 1]) << 8) | uint8_t(big[i + 2]);
    for (int k = 3; k >= 0; --k) encoded += kAlphabet[(v >> (6 * k)) & 63];
    if ((i / 3) % 19 == 18) encoded += '\n';
  }
  big.resize(big.size() / 3 * 3);
  std::string raw = "Subject: big\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
                    "Content-Type: text/plain\n\nsee attached\n--b\n"
                    "Content-Type: application/octet-stream; name=big.bin\n"
                    "Content-Transfer-Encoding: base64\n\n" + encoded + "\n--b--\n";
  fs::path path = fs::temp_directory_path() / "escala_mail_codec_test.eml";
  {
    std::ofstream out(path, std::ios::binary);
    out << raw;
  }
  auto from_file = parse_mail_file(path.string());
  fs::remove(path);
  ASSERT_TRUE(from_file.ok());
  auto from_memory = parse(raw);
  EXPECT_EQ(from_file->raw_sha256, from_memory.raw_sha256);
  EXPECT_EQ(from_file->raw_size, static_cast<int64_t>(raw.size()));
  EXPECT_EQ(from_file->text, "see attached");
  ASSERT_EQ(from_file->attachments.size(), 1u);
  EXPECT_EQ(from_file->attachments[0].size, static_cast<int64_t>(big.size()));
  EXPECT_TRUE(from_file->attachments[0].data == big);
  EXPECT_EQ(from_file->attachments[0].sha256, from_memory.attachments[0].sha256);
}

TEST_F(MailCodecTest, ParseMailFileReportsAMissingFile) {
  auto r = parse_mail_file("/nonexistent/escala/mail.eml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

// fuzz/regressions/: hostile inputs (hand-written seeds, and any input that ever crashed
// the fuzzer, kept once fixed); each must parse to valid UTF-8.
TEST_F(MailCodecTest, FuzzRegressionsParse) {
  fs::path dir = ESCALA_FUZZ_REGRESSIONS_DIR;
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no regressions folder";
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (bytes.str().empty()) continue;
    auto r = parse_mail(bytes.str());
    ASSERT_TRUE(r.ok()) << entry.path();
    EXPECT_TRUE(is_valid_utf8(r->text)) << entry.path();
  }
}

// ---- compose ----

core::OutboundMail sample_outbound() {
  core::OutboundMail mail;
  mail.from = {"Soporte Escala — Mesa", "soporte@desk.example"};
  mail.to = {{"José Pérez, Ventas", "jose@example.org"}, {"", "ana@example.org"}};
  mail.reply_to = core::MailAddress{"Caso CMW-000123", "case+123@desk.example"};
  mail.subject = "Re: [CMW-000123] Extensión de plazo — ñandú";
  mail.text = "Hola José,\n\nSu caso fue actualizado.\n" + std::string(120, 'x') + "\nSaludos\n";
  mail.html = "<p>Hola Jos&eacute;,</p><p>Su caso fue actualizado.</p>";
  mail.message_id = "case-123.4@desk.example";
  mail.in_reply_to = {"orig-1@example.org"};
  mail.references = {"orig-0@example.org", "orig-1@example.org", "case-123.3@desk.example"};
  mail.date = from_unix_millis(1772546709000LL);
  mail.auto_submitted = "auto-generated";
  mail.headers = {{"X-Escala-Case", "CMW-000123"},
                  {"X-Escala-Loop", "desk.example"},
                  {"List-Unsubscribe", "<https://desk.example/unsubscribe?t=abc>"}};
  return mail;
}

TEST_F(MailCodecTest, ComposedMailRoundTripsEveryField) {
  core::OutboundMail mail = sample_outbound();
  auto m = parse(compose_mail(mail));
  EXPECT_EQ(m.from.name, mail.from.name);
  EXPECT_EQ(m.from.address, mail.from.address);
  ASSERT_EQ(m.to.size(), 2u);
  EXPECT_EQ(m.to[0].name, "José Pérez, Ventas");
  EXPECT_EQ(m.to[0].address, "jose@example.org");
  EXPECT_EQ(m.to[1].address, "ana@example.org");
  ASSERT_TRUE(m.reply_to.has_value());
  EXPECT_EQ(m.reply_to->name, "Caso CMW-000123");
  EXPECT_EQ(m.reply_to->address, "case+123@desk.example");
  EXPECT_EQ(m.subject, mail.subject);
  EXPECT_EQ(m.text, mail.text);
  EXPECT_EQ(m.html, mail.html);
  EXPECT_EQ(m.message_id, mail.message_id);
  EXPECT_EQ(m.in_reply_to, mail.in_reply_to);
  EXPECT_EQ(m.references, mail.references);
  ASSERT_TRUE(m.date.has_value());
  EXPECT_EQ(*m.date, *mail.date);
  EXPECT_EQ(*m.header("auto-submitted"), "auto-generated");
  EXPECT_EQ(*m.header("x-escala-case"), "CMW-000123");
  EXPECT_EQ(*m.header("x-escala-loop"), "desk.example");
  EXPECT_EQ(*m.header("list-unsubscribe"), "<https://desk.example/unsubscribe?t=abc>");
  EXPECT_EQ(*m.header("mime-version"), "1.0");
  EXPECT_TRUE(m.attachments.empty());
  EXPECT_TRUE(m.defects.empty()) << m.defects.front();
}

TEST_F(MailCodecTest, TrickySubjectsRoundTripExactly) {
  const std::string subjects[] = {
      "[CMW-000123] Extensión",
      "Extensión [CMW-000123]",
      "Re: RV: [CMW-000001] ¿Podrían revisar la facturación?",
      "=?utf-8?q?not-really-encoded?=",
      "emoji 🎉 and  two spaces",
      std::string("Año ") + std::string(180, 'n') + " fin ñ",
      "plain ascii subject",
  };
  for (const auto& subject : subjects) {
    core::OutboundMail mail;
    mail.from = {"", "a@desk.example"};
    mail.to = {{"", "b@example.org"}};
    mail.subject = subject;
    mail.text = "x";
    EXPECT_EQ(parse(compose_mail(mail)).subject, subject);
  }
}

TEST_F(MailCodecTest, ComposedMailUsesCrlfAndShortLines) {
  core::OutboundMail mail = sample_outbound();
  for (int i = 0; i < 60; ++i) mail.references.push_back("ref" + std::to_string(i) + "@x.example");
  mail.subject = std::string(400, 'a') + " ñ " + std::string(300, 'b');
  mail.text = std::string(3000, 'y') + "\nend";
  std::string raw = compose_mail(mail);
  size_t line_start = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(raw[i - 1], '\r') << "bare LF at " << i;
      EXPECT_LE(i - 1 - line_start, 998u);
      line_start = i + 1;
    } else if (raw[i] == '\r') {
      EXPECT_TRUE(i + 1 < raw.size() && raw[i + 1] == '\n') << "bare CR at " << i;
    }
  }
  auto m = parse(raw);
  EXPECT_EQ(m.text, mail.text);
  EXPECT_EQ(m.subject, mail.subject);
  EXPECT_EQ(m.references.size(), mail.references.size());
}

TEST_F(MailCodecTest, ComposedAsciiTextIsSevenBitAndAccentedTextQuotedPrintable) {
  core::OutboundMail mail;
  mail.from = {"Desk", "a@desk.example"};
  mail.to = {{"", "b@example.org"}};
  mail.subject = "plain";
  mail.text = "short ascii line\n";
  std::string ascii = compose_mail(mail);
  EXPECT_NE(ascii.find("Content-Transfer-Encoding: 7bit\r\n"), std::string::npos) << ascii;
  EXPECT_NE(ascii.find("charset=utf-8"), std::string::npos);
  EXPECT_NE(ascii.find("Subject: plain\r\n"), std::string::npos);
  EXPECT_NE(ascii.find("MIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_EQ(ascii.find("multipart"), std::string::npos);
  mail.text = "Extensión\n";
  std::string accented = compose_mail(mail);
  EXPECT_NE(accented.find("Content-Transfer-Encoding: quoted-printable\r\n"), std::string::npos);
  EXPECT_EQ(parse(accented).text, "Extensión\n");
}

TEST_F(MailCodecTest, ComposedDateIsRfc5322InUtc) {
  core::OutboundMail mail = sample_outbound();
  std::string raw = compose_mail(mail);
  EXPECT_NE(raw.find("Date: Tue, 03 Mar 2026 14:05:09 +0000\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Message-Id: <case-123.4@desk.example>\r\n"), std::string::npos);
}

TEST_F(MailCodecTest, ComposeDoesNotLetHeaderValuesStartNewHeaders) {
  core::OutboundMail mail = sample_outbound();
  mail.subject = "Hola\r\nBcc: victim@example.org";
  mail.headers = {{"X-Note", "a\nBcc: other@example.org"}, {"Bad Name", "dropped"}};
  std::string raw = compose_mail(mail);
  EXPECT_EQ(raw.find("\r\nBcc:"), std::string::npos);
  EXPECT_EQ(raw.find("Bad Name"), std::string::npos);
  EXPECT_TRUE(parse(raw).to.size() == 2u);
}

// ---- html_to_text ----

TEST(HtmlToText, DropsScriptStyleHeadAndComments) {
  EXPECT_EQ(html_to_text("<html><head><title>T</title><style>p{color:red}</style></head>"
                         "<body><script>alert(1)</script><!-- hidden -->Visible</body></html>"),
            "Visible");
}

TEST(HtmlToText, DecodesNamedAndNumericEntities) {
  EXPECT_EQ(html_to_text("a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;"), "a & b <c> \"d\" 'e'");
  EXPECT_EQ(html_to_text("Extensi&oacute;n &aacute;&eacute;&iacute;&uacute; &ntilde;&Ntilde;"),
            "Extensión áéíú ñÑ");
  EXPECT_EQ(html_to_text("&#241;&#xF1;&#x20AC; &#150; &unknown; &amp"), "ññ€ – &unknown; &");
  EXPECT_EQ(html_to_text("a&nbsp;b"), "a b");
  EXPECT_EQ(html_to_text("&#0;&#xD800;&#99999999;"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(HtmlToText, BlocksBreakLinesAndParagraphsKeepABlankLine) {
  EXPECT_EQ(html_to_text("<p>uno</p><p>dos</p>"), "uno\n\ndos");
  EXPECT_EQ(html_to_text("<div>uno</div><div>dos</div>"), "uno\ndos");
  EXPECT_EQ(html_to_text("uno<br>dos<br/><br />tres"), "uno\ndos\n\ntres");
  EXPECT_EQ(html_to_text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"),
            "a b\nc");
}

TEST(HtmlToText, ListsGetDashesAndLinksShowTheirUrl) {
  EXPECT_EQ(html_to_text("<ul><li>uno</li><li>dos</li></ul>"), "- uno\n- dos");
  EXPECT_EQ(html_to_text("Ver <a href=\"https://x.example/a?b=1&amp;c=2\">el caso</a>."),
            "Ver el caso (https://x.example/a?b=1&c=2).");
  EXPECT_EQ(html_to_text("<a href=\"https://x.example\">https://x.example</a>"),
            "https://x.example");
  EXPECT_EQ(html_to_text("<a href=\"mailto:a@x.example\">a@x.example</a>"), "a@x.example");
  EXPECT_EQ(html_to_text("<a href=\"#top\">arriba</a>"), "arriba");
}

TEST(HtmlToText, CollapsesWhitespace) {
  EXPECT_EQ(html_to_text("  uno \n\t  dos   <b> tres </b>  "), "uno dos tres");
}

TEST(HtmlToText, PreKeepsItsWhitespace) {
  EXPECT_EQ(html_to_text("<p>x</p><pre>a  b\n  c</pre>"), "x\n\na  b\n  c");
}

TEST(HtmlToText, BrokenHtmlIsReadAsWellAsPossible) {
  EXPECT_EQ(html_to_text("<p>uno<p>dos"), "uno\n\ndos");
  EXPECT_EQ(html_to_text("a < b and c<d"), "a < b and c<d");
  EXPECT_EQ(html_to_text("text <!-- never closed"), "text");
  // An unterminated quote ends at the next '>': the tag is <a href="x>.
  EXPECT_EQ(html_to_text("<a href=\"x>broken</a> after"), "broken (x) after");
  EXPECT_EQ(html_to_text("<head><title>t</title><body>cuerpo</body>"), "cuerpo");
  EXPECT_EQ(html_to_text("<script>never closed"), "");
  EXPECT_EQ(html_to_text("<div"), "<div");
  EXPECT_EQ(html_to_text(""), "");
  EXPECT_EQ(html_to_text("caf\xE9 ok"), "caf\xEF\xBF\xBD ok");
}

}  // namespace
}  // namespace escala::adapters
