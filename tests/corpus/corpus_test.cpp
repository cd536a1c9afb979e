// Runs the codec over every message of the public corpus (tests/corpus/email, a copy of
// the shared corpus; see its SOURCES.md): no file may crash it or yield invalid UTF-8, and each file has a
// row of facts read from its content by a person. A file without a row, or a row without
// a file, fails the test, so the table and the folder cannot drift apart.
//
// The folder comes from ESCALA_CORPUS_DIR (compile definition; the environment variable
// of the same name overrides it). A missing folder is a failure, not a skip: the corpus
// is part of the machine the project builds on.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "adapters/mail_codec/mail_codec.hpp"

namespace {

namespace fs = std::filesystem;
using escala::adapters::parse_mail;
using escala::adapters::parse_mail_file;
using escala::core::MailMessage;

// What a person reading the file expects. Unset fields (nullptr, -1) are not checked;
// has_subject and has_text are checked for every file.
struct Expect {
  const char* file;
  const char* subject = nullptr;  // contained in the decoded subject
  bool has_subject = true;
  const char* from = nullptr;  // the From address, compared case-insensitively
  const char* message_id = nullptr;
  const char* text = nullptr;  // contained in the body text
  bool has_text = true;
  int attachments = -1;
  const char* attachment = nullptr;  // a file name among the attachments
  const char* report_type = nullptr;
  const char* action = nullptr;  // of the first delivery-status block
  const char* status = nullptr;
  int recipients = -1;  // delivery-status blocks
  const char* original_id = nullptr;
  bool expect_defect = false;
};

// gtest prints a failing parameter with this (instead of its bytes).
void PrintTo(const Expect& e, std::ostream* os) { *os << e.file; }

const Expect kCorpus[] = {
    {.file = "apache-james-mime4j/base64encoded-rfc822message-nested.msg", .subject = "the body is a base64 encode rfc822 message includi", .has_text = false, .attachments = 1, .attachment = "a simple rfc822 message encoded in a base64 body..eml"},
    {.file = "apache-james-mime4j/malformedHeader-noheader.msg", .has_subject = false, .text = "This is a simple message not having head", .attachments = 0, .expect_defect = true},
    {.file = "apache-james-mime4j/obsolete.msg", .subject = "The obsolete syntax allow spaces before the colon ", .text = "body", .attachments = 0},
    {.file = "apache-james-mime4j/qp-body.msg", .subject = "subject", .text = "7bit content with euro € symbol", .attachments = 0},
    {.file = "apache-james-mime4j/russian-headers.msg", .subject = "A simple subject", .has_text = false, .attachments = 1, .attachment = "Список.doc"},
    {.file = "apache-james-mime4j/simple-attachment.msg", .subject = "Here is the attachment I was waiting for.", .from = "bar@example.com", .text = "Body.", .attachments = 1, .attachment = "data.bin"},
    {.file = "apache-james-mime4j/very-long-boundary.msg", .has_subject = false, .text = "Text body", .attachments = 0},
    {.file = "chatwoot/bounced_gmail.eml", .subject = "Delivery Status Notification (Failure)", .from = "mailer-daemon@googlemail.com", .message_id = "686707c9.050a0220.302e7d.0cb2.GMR@mx.google.com", .text = "** Address not found **", .attachments = 2, .attachment = "Just checking in.eml", .report_type = "delivery-status", .original_id = "conversation/93775311-9416-4428-964b-862001f8a8b2/messages/27855337@gmail.com"},
    {.file = "chatwoot/only_html.eml", .subject = "test html only mail", .from = "tejaswini@ex.com", .message_id = "6215d71711c38_10bc61914022323@tejaswinis-MacBook-Pro.local.mail", .text = "This is html only mail", .attachments = 0},
    {.file = "chatwoot/references.eml", .subject = "Discussion: Let's debate these attachments", .from = "sony@chatwoot.com", .message_id = "0CB459E0-0336-41DA-BC88-E6E28C697DDBF@chatwoot.com", .text = "References Email", .attachments = 0},
    {.file = "cpython/msg_02.txt", .subject = "Ppp digest, Vol 1 #2 - 5 msgs", .from = "ppp-request@zzz.org", .text = "Send Ppp mailing list submissions to", .attachments = 5, .attachment = "[Ppp] testing #5.eml"},
    {.file = "cpython/msg_10.txt", .subject = "Lyrics", .from = "barry@python.org", .text = "This is a 7bit encoded message.", .attachments = 0},
    {.file = "cpython/msg_15.txt", .subject = "XX", .from = "xx@xx.dk", .message_id = "xxxx", .text = "Some removed test.", .attachments = 1, .attachment = "xx.gif"},
    {.file = "cpython/msg_16.txt", .subject = "Delivery Notification: Delivery has failed", .from = "postmaster@ucla.edu", .message_id = "0GK500B04D0B8X@cougar.noc.ucla.edu", .text = "This report relates to a message you sen", .attachments = 1, .attachment = "[scr] yeah for Ians!!.eml", .report_type = "delivery-status", .action = "failed", .status = "5.0.0", .recipients = 1, .original_id = "002001c144a6$8752e060$56104586@oxy.edu"},
    {.file = "cpython/msg_35.txt", .subject = "here's something interesting", .from = "aperson@dom.ain", .has_text = false, .attachments = 0},
    {.file = "django-helpdesk/all-special-chars.eml", .subject = "Testovácí email", .from = "timothy.hobbs@auto-mat.cz", .message_id = "0fd7067e-2842-5b6c-3548-3cf7e6a1c9ea@auto-mat.cz", .text = "íářčšáíéřášč", .attachments = 0},
    {.file = "django-helpdesk/blank-body-with-attachment.eml", .subject = "Attachment without body - and a looooooooooooooooo", .from = "timothy.hobbs@auto-mat.cz", .message_id = "b05893cd-77b5-3450-4b84-9a1ad5119def@auto-mat.cz", .has_text = false, .attachments = 1, .attachment = "baf"},
    {.file = "django-helpdesk/forwarded-message.eml", .subject = "Test with original message from GitHub", .from = "sender@domain.tld", .message_id = "0d3a17d5-7136-75c0-c8ba-a7698c57ac42@gmail.com", .text = "This is email body", .attachments = 0},
    {.file = "django-helpdesk/pgp.eml", .subject = "example email that crashes django-helpdesk get_ema", .from = "bugreporter@example.com", .message_id = "8eef2077-8aff-9fb4-0e2a-9876ba2530b1@gmail.com", .text = "hi, thanks for looking into this :)", .attachments = 1, .attachment = "signature.asc"},
    {.file = "django-helpdesk/quoted_printable.eml", .subject = "Český test", .from = "tim.thelion@gmail.com", .message_id = "CACf_UpPA7=DRF4NLFf4WpOVwHsRMtfNEwy1DHLjfh09DjuKZFA@mail.gmail.com", .text = "Tohle je test českých písmen odeslaných ", .attachments = 0},
    {.file = "django-helpdesk/utf-nondecodable.eml", .subject = "Fwd: Cyklozaměstnavatel - změna vyhodnocení", .from = "john.smith@example.cz", .message_id = "00d73ce5-774a-5ea1-6742-af73ef58c01c@example.cz", .text = "-------- Forwarded Message --------", .attachments = 0},
    {.file = "enmime/dsn/delayed_dsn.raw", .subject = "WARNING: message delayed at \"nsfnet-relay.ac.uk\"", .from = "postmaster@nsfnet-relay.ac.uk", .message_id = "199407092338.TAA23293@CS.UTK.EDU", .text = "[human-readable explanation goes here]", .attachments = 0, .report_type = "delivery-status", .action = "delayed", .status = "4.0.0", .recipients = 1},
    {.file = "enmime/dsn/dsn_with_multipart_alternative.raw", .subject = "Undeliverable: Some subject", .from = "postmaster@example.com", .message_id = "30ea784a-1d56-4a6f-8f3f-005d4666761c@1234.prod.outlook.com", .text = "[human-readable explanation goes here]", .attachments = 1, .attachment = "message.eml", .report_type = "delivery-status", .action = "failed", .status = "5.1.10", .recipients = 1},
    {.file = "enmime/dsn/multi_recipient_dsn.raw", .subject = "Returned mail: User unknown", .from = "MAILER-DAEMON@CS.UTK.EDU", .text = "[human-readable explanation goes here]", .attachments = 1, .attachment = "message.eml", .report_type = "delivery-status", .action = "failed", .status = "5.0.0", .recipients = 3},
    {.file = "enmime/dsn/simple_dsn_with_html.raw", .subject = "Returned mail: Cannot send message for 5 days", .from = "MAILER-DAEMON@CS.UTK.EDU", .message_id = "199407072116.RAA14128@CS.UTK.EDU", .text = "[human-readable explanation goes here]", .attachments = 1, .attachment = "message.eml", .report_type = "delivery-status", .action = "failed", .status = "4.0.0", .recipients = 1},
    {.file = "enmime/low-quality/bad-header-wrap.raw", .subject = "Attachment", .from = "james@makita.skynet", .message_id = "07B7061D-2676-487E-942E-C341CE4D13DC@makita.skynet", .text = "A text section", .attachments = 1, .attachment = "7DDA4_foo_9E5D72.zip"},
    {.file = "enmime/low-quality/malformed-base64-attach.raw", .subject = "Attachment", .from = "james@makita.skynet", .message_id = "07B7061D-2676-487E-942E-C341CE4D13DC@makita.skynet", .text = "A text section", .attachments = 1, .attachment = "some.doc"},
    {.file = "enmime/low-quality/unk-charset-part.raw", .subject = "Attachment", .from = "james@makita.skynet", .message_id = "07B7061D-2676-487E-942E-C341CE4D13DC@makita.skynet", .text = "A text section", .attachments = 1, .attachment = "foo_9E5D72.zip"},
    {.file = "enmime/mail/attachment-only.raw", .subject = "Test", .from = "alice@test.com", .message_id = "56A0AA5F.4020203@test.com", .has_text = false, .attachments = 1, .attachment = "favicon.jpg"},
    {.file = "enmime/mail/html-only-inline.raw", .subject = "MIME test 1", .from = "james@makita.skynet", .message_id = "4E2E5A48-1A2C-4450-8663-D41B451DA93E@makita.skynet", .text = "Test of HTML section", .attachments = 1, .attachment = "favicon.png"},
    {.file = "enmime/mail/inlinemultipart.raw", .subject = "Test", .from = "bob@extern", .text = "Simple text.", .attachments = 2, .attachment = "test.txt"},
    {.file = "enmime/mail/mime-bad-8bit-filename.raw", .subject = "Malformed test", .from = "pavel.bazika@some.domain", .text = "Text part", .attachments = 1, .attachment = "管理.doc"},
    {.file = "enmime/mail/mime-blank-media-name.raw", .subject = "Confirmation of Booking with easyHotel", .from = "bookings@easyHotel.com", .message_id = "F21768750C2E4303B37CA8EDCD498C67@dm3.entee.co.uk", .text = "Thank you for booking with easyHotel.", .attachments = 1, .attachment = "Invoice_302232133150612.pdf"},
    {.file = "enmime/mail/mime-duplicate-param.raw", .subject = "Confirmation of Booking with easyHotel", .from = "bookings@easyHotel.com", .message_id = "F21768750C2E4303B37CA8EDCD498C67@dm3.entee.co.uk", .text = "Thank you for booking with easyHotel.", .attachments = 1, .attachment = "Invoice_302232133150612.pdf"},
    {.file = "enmime/mail/non-mime-html.raw", .subject = "test Sun, 14 Oct 2012 16:09:01 -0700", .from = "james@hillyerd.com", .text = "This is a test mailing", .attachments = 0},
    {.file = "enmime/mail/non-mime-missing-charset.raw", .subject = "test Sun, 14 Oct 2012 16:09:01 -0700", .from = "james@hillyerd.com", .text = "Unencoded Euro Sign: Â€", .attachments = 0},
    {.file = "enmime/mail/other-parts.raw", .subject = "Emoji from Gmail", .from = "valere.jeantet@gmail.com", .text = "A text section", .attachments = 1, .attachment = "B05.gif"},
    {.file = "enmime/mail/qp-utf8-header.raw", .subject = "MIME UTF8 Test ¢ More Text", .from = "jamehi03@jamehi03lx.noa.com", .message_id = "5081A889.3020108@jamehi03lx.noa.com", .text = "Lorem ipsum dolor sit amet, consectetur ", .attachments = 0},
    {.file = "enmime/mail/quoted-printable-mime.raw", .subject = "MIME Quoted Printable", .from = "jamehi03@jamehi03lx.noa.com", .message_id = "5081A889.3020108@jamehi03lx.noa.com", .text = "Lorem ipsum dolor sit amet, consectetur ", .attachments = 0},
    {.file = "mailgun-talon/reply-quotations-share-block.eml", .subject = "Re: You've got a new booking inquiry!", .from = "xxx@example.com", .text = "Hi Katharine.  Sounds great.  Are there ", .attachments = 0},
    {.file = "mailgun-talon/standard_replies/android.eml", .subject = "Re: Test", .from = "bob@example.com", .message_id = "CAEAsyCZ-sCHxZtoKyM3JmT5gSYpZd5GwY-cVNiV8H329zgJT4g@mail.gmail.com", .text = "Hello", .attachments = 0},
    {.file = "mailgun-talon/standard_replies/apple_mail.eml", .subject = "Re: Test", .from = "xxx@gmail.com", .message_id = "9A1EA6A5-4FD3-4AD0-8DFD-2420E670DB53@gmail.com", .text = "Hello", .attachments = 0},
    {.file = "mailgun-talon/standard_replies/gmail.eml", .subject = "Re: Test", .from = "xxx@gmail.com", .message_id = "CAKsfaBW4hj0Gek6TwbR3erng4P1y0CZzJ0d=pXtCNnYnbe7PLg@mail.gmail.com", .text = "Hello", .attachments = 0},
    {.file = "mailgun-talon/standard_replies/hotmail.eml", .subject = "RE: Test", .from = "xxx@hotmail.com", .message_id = "DUB102-W192C6E94759954C4885B92B14C0@phx.gbl", .text = "Hello", .attachments = 0},
    {.file = "mailgun-talon/standard_replies/outlook.eml", .subject = "Test", .from = "me@example.com", .text = "Hello", .attachments = 0},
    {.file = "mailgun-talon/standard_replies/thunderbird.eml", .subject = "Re: Test", .from = "bob@xxx.mailgun.org", .message_id = "4F79B73C.9030506@xxx.mailgun.org", .text = "On 04/02/2012 06:26 PM, Megan One wrote:", .attachments = 0},
    {.file = "mailgun-talon/standard_replies/yahoo.eml", .subject = "Re: Test", .from = "xxx@yahoo.com", .message_id = "1333374330.68772.YahooMailNeo@web114411.mail.gq1.yahoo.com", .text = "Hello", .attachments = 0},
    {.file = "mikel-mail/attachment_emails/attachment_message_rfc822.eml", .subject = "testing", .from = "foo@example.com", .message_id = "9169D984-4E0B-45EF-82D4-8F5E53AD7012@example.com", .text = "This is the first part.", .attachments = 1, .attachment = "Another PDF.eml"},
    {.file = "mikel-mail/attachment_emails/attachment_nonascii_filename.eml", .subject = "testing", .from = "foo@example.com", .message_id = "9169D984-4E0B-45EF-82D4-8F5E53AD7012@example.com", .text = "This is the first part.", .attachments = 1, .attachment = "ciële.txt"},
    {.file = "mikel-mail/attachment_emails/attachment_only_email.eml", .subject = "this message JUST contains an attachment", .from = "rfinnie@domain.dom", .message_id = "1066974048.4264.62.camel@localhost", .has_text = false, .attachments = 1, .attachment = "blah.gz"},
    {.file = "mikel-mail/attachment_emails/attachment_pdf.eml", .subject = "Another PDF with 🎉 Unicode chars in it 🍿", .from = "xxxx@xxxx.com", .message_id = "xxxx@xxxx.com", .text = "Just attaching another PDF, here, to see", .attachments = 1, .attachment = "broken.pdf"},
    {.file = "mikel-mail/attachment_emails/attachment_with_encoded_name.eml", .subject = "Fwd: Signed email causes file attachments", .from = "xxxxxxxxx.xxxxxxx@gmail.com", .message_id = "e85734b90505081209eaaa17b@mail.gmail.com", .text = "We should not include these files or vca", .attachments = 1, .attachment = "01 Quien Te Dij�at. Pitbull.mp3"},
    {.file = "mikel-mail/attachment_emails/attachment_with_quoted_filename.eml", .subject = "Eelanalüüsi päring", .from = "jeff@37signals.com", .message_id = "E0F9311D-F469-4E7B-81BC-F240BD473566@37signals.com", .has_text = false, .attachments = 1, .attachment = "Eelanalüüsi päring.jpg"},
    {.file = "mikel-mail/error_emails/content_transfer_encoding_x_uuencode.eml", .subject = "PGP Comments on RTO West Release of Dec. 14", .from = "lpeters@PACIFIER.COM", .message_id = "p05100307b863befdfb67@[207.202.136.216]", .text = "Attached are the comments of the Public ", .attachments = 1, .attachment = "PGP_Cmts_on_12-14-01_Pkg.doc"},
    {.file = "mikel-mail/error_emails/empty_in_reply_to.eml", .subject = "illegal copy of our patient education software", .from = "ak@g.com", .message_id = "F194F88AF3E341A6B2B135CC17912811@articondell", .has_text = false, .attachments = 0},
    {.file = "mikel-mail/error_emails/header_fields_with_empty_values.eml", .subject = "Testmail", .from = "jorn@prikkprikkprikk.no", .message_id = "4FDC124A-1FC4-4B29-8502-E459BD9AB397@prikkprikkprikk.no", .text = "--", .attachments = 0},
    {.file = "mikel-mail/error_emails/invalid_subject_characters.eml", .subject = "Formação FrenetikPolis: Mega Campanha Final Verão ", .from = "info@formacaofrenetik.info", .text = "TEST", .attachments = 0},
    {.file = "mikel-mail/error_emails/multiple_references_with_one_invalid.eml", .subject = "Redacted", .from = "redacted@flashmail.net", .message_id = "105647271315.NCV17523@x263.net", .text = "foo", .attachments = 0},
    {.file = "mikel-mail/error_emails/trademark_character_in_subject.eml", .subject = "GA.comô has a lead for you", .from = "j@yahoo-example.com", .message_id = "MDAEMON-F201010121621.AA2105420md50000198258@ga-example.com", .text = "Body Text - not important", .attachments = 0},
    {.file = "mikel-mail/mime_emails/raw_email7.eml", .subject = "testing", .from = "foo@example.com", .message_id = "9169D984-4E0B-45EF-82D4-8F5E53AD7012@example.com", .text = "This is the first part.", .attachments = 3, .attachment = "smime.p7s"},
    {.file = "mikel-mail/mime_emails/raw_email_encoded_stack_level_too_deep.eml", .subject = "Nicolas Fouché has accepted your invitation to Gma", .from = "gmail-noreply@google.com", .message_id = "89d7557c0506280102495d555f@mail.gmail.com", .text = "Nicolas Fouché has accepted your invitat", .attachments = 0},
    {.file = "mikel-mail/mime_emails/raw_email_with_illegal_boundary.eml", .subject = "Testing outlook", .from = "email_test@me.nowhere", .message_id = "009601c813c6$19df3510$0437d30a@mikel091a", .text = "Hello", .attachments = 0},
    {.file = "mikel-mail/mime_emails/raw_email_with_mimepart_without_content_type.eml", .subject = "Warning: could not send message for past 1 day", .from = "MAILER-DAEMON@antivirus.uqam.ca", .message_id = "200610200828.k9JMDbg4005560@antivirus.uqam.ca", .text = "****************************************", .attachments = 1, .attachment = "Est-ce toi _.eml", .report_type = "delivery-status", .action = "delayed", .status = "4.5.0", .recipients = 1, .original_id = "89d7557c0610181510r6fa5ebd8n66a7deec71ade118@mail.gmail.com"},
    {.file = "mikel-mail/mime_emails/raw_email_with_nested_attachment.eml", .subject = "Testing attachments", .from = "jamis@37signals.com", .message_id = "2CCE0408-10C7-4045-9B16-A1C11C31469B@37signals.com", .text = "Here is a test of an attachment via emai", .attachments = 2, .attachment = "smime.p7s"},
    {.file = "mikel-mail/multi_charset/japanese_attachment_long_name.eml", .subject = "まみむめもまみむめもまみむめもまみむめもまみむめもまみむめもまみむめもまみむめもまみむめもまみむめも", .from = "mikel@test.lindsaar.net", .message_id = "60A112A8-F26C-4E23-95B8-4EB9F139D6A0@test.lindsaar.net", .has_text = false, .attachments = 1, .attachment = "かきくけこかきくけこかきくけこかきくけこかきくけこ.txt"},
    {.file = "mikel-mail/multipart_report_emails/multi_address_bounce1.eml", .subject = "Undelivered Mail Returned to Sender", .from = "MAILER-DAEMON@lvmail01.LL.com", .message_id = "20100224061641.3E47A1BC025@lvmail01.LL.com", .text = "This is the mail system at host lvmail01", .attachments = 1, .attachment = "Test of bounce email.eml", .report_type = "delivery-status", .action = "failed", .status = "5.1.1", .recipients = 5, .original_id = "118707422.15521266992174819.JavaMail.root@lvmail01"},
    {.file = "mikel-mail/multipart_report_emails/multipart_report_multiple_status.eml", .subject = "Mail System Error - Returned Mail", .from = "Postmaster@ci.com", .message_id = "20100629154244.OZPA15102.schemailmta04.ci.com@schemailmta04", .has_text = false, .attachments = 1, .attachment = "Your Friend F M wants you to join HomeRun.eml", .report_type = "delivery-status", .action = "failed", .status = "5.3.0", .recipients = 1, .original_id = "4c2a146147ac8_61ff157c4ec1652df@s.h.c.mail"},
    {.file = "mikel-mail/multipart_report_emails/report_422.eml", .subject = "Warning: could not send message for past 8 hours", .from = "MAILER-DAEMON@tppppp.com.au", .message_id = "200801161640.m0GFZ1c3009410@mail11.ttttt.com.au", .text = "****************************************", .attachments = 0, .report_type = "delivery-status", .action = "delayed", .status = "4.2.2", .recipients = 1, .original_id = "15655788.13.1200472642578.JavaMail.Administrator@mail.ttttt.com.au"},
    {.file = "mikel-mail/multipart_report_emails/report_530.eml", .subject = "Returned mail: see transcript for details", .from = "MAILER-DAEMON@tttttt.com.au", .message_id = "200712232303.lBNN3rDp003436@mail12.rrrr.com.au", .text = "The original message was received at Mon", .attachments = 0, .report_type = "delivery-status", .action = "failed", .status = "5.3.0", .recipients = 1, .original_id = "200712232303.lBNN3jDq002941@mail12.rrrr.com.au"},
    {.file = "mikel-mail/plain_emails/raw_email_quoted_with_0d0a.eml", .subject = "testing", .from = "foo@example.com", .message_id = "9169D984-4E0B-45EF-82D4-8F5E53AD7012@example.com", .text = "A fax has arrived from remote ID ''.", .attachments = 0},
    {.file = "mikel-mail/plain_emails/raw_email_reply.eml", .subject = "Re: Test reply email", .from = "xxxxxxxx@xxx.org", .message_id = "473FFE27.20003@xxx.org", .text = "Message body", .attachments = 0},
    {.file = "mikel-mail/plain_emails/raw_email_with_partially_quoted_subject.eml", .subject = "Re: Test: \"漢字\" mid \"漢字\" tail", .from = "jamis@37signals.com", .message_id = "d3b8cf8e49f04480850c28713a1f473e@37signals.com", .text = "대부분의 마찬가지로, 우리는 하나님을 믿습니다.", .attachments = 0},
    {.file = "mikel-mail/rfc6532/utf8_headers.eml", .subject = "Säying Hello", .from = "jdöe@mächine.example", .text = "body", .attachments = 0},
    {.file = "mimekit/messages/bounce.txt", .subject = "Undelivered Mail Returned to Sender", .from = "MAILER-DAEMON@hmail.jitbit.com", .message_id = "20220126090648.12632412E9@hmail.jitbit.com", .text = "This is the mail system at host https://", .attachments = 1, .attachment = "FILE-SRV _ FILE-SRV _ Ellern Mede _ eventlog _ Security - Microsoft-Windows-Security-Auditing _ Code_ '4625' - Type_ 'Critical, Error, Warning, , Information, Verbose' - Desc_ '' {44565655}.eml", .report_type = "delivery-status", .original_id = "44565655.JitbitHelpdesk.13439.691a0afc-a0a0-457c-8208-f20b7c4a4cb1@jitbit.com"},
    {.file = "mimekit/messages/delivery-status.txt", .subject = "email delivery error", .from = "postmaster@mm1.sprynet.com", .message_id = "96Jul29.022158-0700pdt.148226-12799+708@mm1.sprynet.com", .has_text = false, .attachments = 1, .attachment = "unsubscribe.eml", .report_type = "delivery-status", .action = "failed", .status = "", .recipients = 1, .original_id = "31FC7EB4.41C6@netscape.com"},
    {.file = "mimekit/messages/delivery-status2.txt", .subject = "Mail delivery failed: returning message to sender", .text = "This message was created automatically b", .attachments = 1, .attachment = "message.eml", .report_type = "delivery-status", .action = "failed", .status = "5.0.0", .recipients = 1},
    {.file = "mimekit/messages/disposition-notification.txt", .subject = "Disposition notification", .from = "Joe_Recipient@example.com", .message_id = "199509200019.12345@example.com", .text = "The message sent on 1995 Sep 19 at 13:30", .attachments = 1, .attachment = "First draft of report.eml", .report_type = "disposition-notification", .original_id = "199509192301.23456@example.org"},
    {.file = "mimekit/messages/epilogue.txt", .subject = "Re: The Once and Future OS", .from = "pcu@umich.edu", .message_id = "07May1621030321@urkabox.chem.lsa.umich.edu", .text = "> NeXTSTEP, NeXTSTEP, NeXTSTEP...", .attachments = 1},
    {.file = "mimekit/messages/feedback-report.txt", .subject = "FW: Earn money", .text = "This is an email abuse report for an ema", .attachments = 2, .attachment = "Earn money.eml", .report_type = "feedback-report", .original_id = "8787KJKJ3K4J3K4J3K4J3.mail@example.net"},
    {.file = "mimekit/messages/issue358.txt", .subject = "R: R: R: I: FR-selca LA selcaE", .from = "jang.abcdef@xyzlinux12345678.it", .message_id = "AM4PR01MB1444B3F21AE7DA9C8128C28FF7290@AM4PR01MB1444.eurprd01.prod.exchangelabs.com", .text = "Test headers", .attachments = 0},
    {.file = "mimekit/messages/multipart-digest.txt", .has_subject = false, .from = "user@domain.org", .has_text = false, .attachments = 1, .attachment = "submsg.eml"},
    {.file = "mimekit/messages/rfc2060.txt", .subject = "Sample message structure for IMAP part specifiers", .from = "me@myself.com", .text = "This part specifier should be: 1", .attachments = 4, .attachment = "This part specifier should be_ 4.2.eml"},
    {.file = "mimekit/messages/simple-embedded-message.eml", .subject = "test of simple embedded message/rfc822 part", .from = "mimekit@example.com", .message_id = "54AD68C9E3B0184CAC6041320424FD1B5B81E74D@localhost.localdomain", .text = "This is the message body.", .attachments = 1, .attachment = "embedded message.eml"},
    {.file = "mimekit/tnef/ukr.eml", .subject = "rr test 7", .from = "rrtest1@xink.io", .message_id = "AM0PR0702MB3522C04E8C4950FA9976EC23E12B0@AM0PR0702MB3522.eurprd07.prod.outlook.com", .text = "шостий", .attachments = 1, .attachment = "winmail.dat"},
    {.file = "nodemailer-mailparser/base64encodedroot.eml", .has_subject = false, .from = "test@example.com", .has_text = false, .attachments = 1, .attachment = "screenshot.png"},
    {.file = "nodemailer-mailparser/decoderended.eml", .subject = "Fwd: fotos", .from = "booewq@uuui.com", .text = "Note: forwarded message attached.", .attachments = 1, .attachment = "message.eml"},
    {.file = "nodemailer-mailparser/delivery-status.eml", .subject = "Delivery Status Notification (Failure)", .from = "MAILER-DAEMON@amazonses.com", .message_id = "xxxxxxxxxxx@email.amazonses.com", .text = "An error occurred while trying to delive", .attachments = 1, .attachment = "Example Subject.eml", .report_type = "delivery-status", .action = "failed", .status = "5.1.1", .recipients = 1, .original_id = "xxxxx@email.amazonses.com"},
    {.file = "nodemailer-mailparser/mixed.eml", .has_subject = false, .text = "This e-mail message has been scanned for", .attachments = 0},
    {.file = "nodemailer-mailparser/nested.eml", .has_subject = false, .from = "u@example.com", .text = "Dear Sir,", .attachments = 0},
    {.file = "nodemailer-mailparser/nodemailer.eml", .subject = "Nodemailer is unicode friendly ✔ (1476358788189)", .from = "andris@kreata.ee", .message_id = "012d606e-3550-2d94-b566-6cd996de88e3@kreata.ee", .text = "Hello to myself!", .attachments = 4, .attachment = "notes.txt"},
    {.file = "nodemailer-mailparser/spam.eml", .subject = "123.042 Euro pro Jahr GRARANTIERT von einer Bank! ", .from = "noreply@guide-des-vins-de-bourgogne.fr", .message_id = "MXQAHQMRSTRWAEMHJAPA@guide-des-vins-de-bourgogne.fr", .text = "----Freundliche Grüße Content-Type: text", .attachments = 0},
    {.file = "php-mime-mail-parser/failure.eml", .has_subject = false, .from = "foo@bar.de", .text = "次の受信者またはグループへの配信に失敗しました:", .attachments = 0, .report_type = "delivery-status"},
    {.file = "php-mime-mail-parser/issue133", .subject = "Mail avec fichier attaché de 1ko", .from = "name@company.com", .message_id = "CAH_ZkVmUSM8t2JxgqcuLCQ8d+R_hkKpNHTubJOQK07y=36+d4Q@mail.gmail.com", .has_text = false, .attachments = 1, .attachment = "01"},
    {.file = "php-mime-mail-parser/issue158a", .subject = "Fwd: Test 5", .from = "example@example.com", .message_id = "445158045.378131.1488812211066.JavaMail.zimbra@zedcore.com", .text = "An RFC 822 forward with a HTML body", .attachments = 1, .attachment = "Test 5.eml"},
    {.file = "php-mime-mail-parser/issue158d", .subject = "Fwd: Test 6", .from = "dhaswell@zedcore.com", .message_id = "1589397930.226415.1505469984035.JavaMail.zimbra@zedcore.com", .text = "This is the forward email send both emai", .attachments = 1, .attachment = "Test 6.eml"},
    {.file = "php-mime-mail-parser/issue212", .subject = "Automatyczna odpowiedź: Piotrze, test z 6 miesięcy", .text = "toto", .attachments = 0},
    {.file = "php-mime-mail-parser/issue274.eml", .subject = "test-localhost", .from = "guest@localhost", .message_id = "fabdd4af4def615d77b394395c5c0f9b@swift.generated", .text = "ligne 1", .attachments = 5, .attachment = "test-localhost.eml"},
    {.file = "php-mime-mail-parser/issue84", .subject = "Re: [PHP-DEV] [RFC] Remove PHP 4 Constructors", .from = "tyra3l@gmail.com", .message_id = "CAH-PCH47Mx9AiP9yWLK+_nv8hpWHyXDjnn-h0sk66gPFOpRPxA@mail.gmail.com", .text = "On Wed, Nov 19, 2014 at 12:11 AM, Levi M", .attachments = 0},
    {.file = "php-mime-mail-parser/m0013", .subject = "50032266 CAR 11_MNPA00A01_9PTX_H00 ATT N° 1467829.", .from = "firstname.name@groupe-company.com", .message_id = "47242e000a564c039fdfc621566678e9@DB3PR05MB172.eurprd05.prod.outlook.com", .text = "M. DUPONT Paul", .attachments = 1, .attachment = "50032266 CAR 11_MNPA00A01_9PTX_H00 ATT N° 1467829.pdf"},
    {.file = "php-mime-mail-parser/m0018", .subject = "[Korea] Name", .from = "name@company.com", .message_id = "7B2F0B04-7286-488B-990B-D2EE3759554D@company.com", .text = "My traveling companions!", .attachments = 2, .attachment = "ATT00001.txt"},
    {.file = "php-mime-mail-parser/m0020", .subject = "1", .from = "newsletter@finntack.com", .message_id = "742f7c086bc34282b8eb4ffc135652ef@MBX01C-ORD1.mex06.mlsrvr.com", .text = "1", .attachments = 1},
    {.file = "php-mime-mail-parser/m0022", .subject = "[PRJ-OTH] asdf  árvíztűrő tükörfúrógép", .from = "sender@test.com", .message_id = "14FBD481E1074C79A706F0C071746F3D@acerDator", .text = "This email will not be captured correctl", .attachments = 0},
    {.file = "php-mime-mail-parser/m0028", .subject = "Email with 10 attachments and only plain text cont", .from = "test@test.com", .message_id = "em8c49ef0b-c760-42b2-bf4d-60efd9f36838@my-pc", .text = "This is the plain text content of the em", .attachments = 10, .attachment = "63C34BC2-FBC9-4C47-88C7-78127DE61343.txt"},
    {.file = "sisimai-set-of-emails/bsd/arf-01.eml", .subject = "Email Feedback Report for IP 192.0.2.", .from = "kijitora@example.co.jp", .message_id = "000000000000000.000000000000@x34.mx.example.net", .text = "This is an email abuse report for an ema", .attachments = 2, .attachment = "Kijitora cat family.eml", .report_type = "feedback-report"},
    {.file = "sisimai-set-of-emails/bsd/lhost-amazonses-01.eml", .subject = "Delivery Status Notification (Failure)", .from = "MAILER-DAEMON@email-bounces.amazonses.com", .message_id = "000001321defcde6-79aad533-d383-11e0-ba2a-37b595feadb9-000000@email.amazonses.com", .text = "The following message to <shironeko@exam", .attachments = 1, .attachment = "TEST.eml", .report_type = "delivery-status", .action = "failed", .status = "5.0.0", .recipients = 1, .original_id = "000001321defbd2a-788e31c8-2be1-422f-a8d4-cf7765cc9ed7-000000@email.amazonses.com"},
    {.file = "sisimai-set-of-emails/bsd/lhost-amazonworkmail-01.eml", .subject = "Delivery Status Notification (Failure)", .from = "MAILER-DAEMON@us-west-2.amazonses.com", .message_id = "000001523f187053-c10da3fb-2737-4bc7-8a98-44d4decbfe6d-000000@us-west-2.amazonses.com", .text = "An error occurred while trying to delive", .attachments = 2, .attachment = "winmail.dat", .original_id = "000001523f1865dd-0dbfd06e-bfce-4637-b049-3318ea42f98a-000000@us-west-2.amazonses.com"},
    {.file = "sisimai-set-of-emails/bsd/lhost-domino-01.eml", .subject = "DELIVERY FAILURE: User Kijitoranyan (kijitora@exam", .from = "Postmaster@example.jp", .message_id = "0000000000.000000000-000000000.00000000-00000000.00000000@example.com", .text = "Your message", .attachments = 0},
    {.file = "sisimai-set-of-emails/bsd/lhost-exchange2003-02.eml", .subject = "Undeliverable: email bounce", .from = "postmaster@example.co.jp", .message_id = "0000000000000000000000000000000000000000@xs.example.co.jp", .text = "Your message", .attachments = 1, .attachment = "email bounce.eml", .original_id = "000000000000000.0000000@example.jp"},
    {.file = "sisimai-set-of-emails/bsd/lhost-exchange2007-01.eml", .subject = "Undeliverable: Nyaan", .from = "mailer-daemon@example.com", .message_id = "000000000000000000000000000000000000000000000000@example.com", .text = "Delivery has failed to these recipients ", .attachments = 1, .attachment = "Nyaan.eml", .report_type = "delivery-status", .action = "failed", .status = "5.1.1", .recipients = 1},
    {.file = "sisimai-set-of-emails/bsd/lhost-exchange2007-07.eml", .subject = "Non recapitabile: Neko Nyaan", .from = "postmaster@example.jp", .message_id = "2022eef0-0025-0025-0025-eeff00000025@nyaan.example.co.jp", .text = "Il recapito non è riuscito per i seguent", .attachments = 1, .attachment = "Neko Nyaan.eml", .report_type = "delivery-status", .action = "failed", .status = "5.1.1", .recipients = 1, .original_id = "QCw92c-juIk7Y-w6@neko.example.com"},
    {.file = "sisimai-set-of-emails/bsd/lhost-exim-01.eml", .subject = "Mail delivery failed: returning message to sender", .from = "Mailer-Daemon@e1.example.org", .message_id = "E1P1ceB-000FL1-4q@e1.example.org", .text = "This message was created automatically b", .attachments = 0, .original_id = "E1P1ce6-000Egt-GZ@e1.example.org"},
    {.file = "sisimai-set-of-emails/bsd/lhost-gmail-01.eml", .subject = "Delivery Status Notification (Failure)", .from = "mailer-daemon@googlemail.com", .message_id = "047d7bdca0c250c6c004fe72bd32@google.com", .text = "Delivery to the following recipient fail", .attachments = 0, .original_id = "D992C2C3-F175-4C4D-97E2-53A90E4E5BF5@gmail.com"},
    {.file = "sisimai-set-of-emails/bsd/lhost-googlegroups-07.eml", .subject = "Delivery Status Notification (Failure)", .from = "mailer-daemon@googlemail.com", .message_id = "5e5e05fb.1c69fb81.b485b.258f.GMR@mx.google.com", .text = "Hola, kijitora@example.jp:", .attachments = 0, .original_id = "A6E9ACE2-B50D-477F-8D7D-B95BF06E9827@example.jp"},
    {.file = "sisimai-set-of-emails/bsd/lhost-office365-01.eml", .subject = "Undeliverable: Nyaan", .from = "postmaster@example.com", .message_id = "00000000-0000-aaaa-bbbb-cccc-def12345678@FFFFFFFFFFFF.e0.prod.outlook.com", .text = "Delivery has failed to these recipients ", .attachments = 0, .report_type = "delivery-status", .original_id = "FFFFFFFF.EEEEEEEE@example.ed.jp"},
    {.file = "sisimai-set-of-emails/bsd/lhost-outlook-01.eml", .subject = "Delivery Status Notification (Failure)", .from = "postmaster@mail.hotmail.example.com", .message_id = "a0xtAEHLB0000d09e@BLU004-OMC3S13.hotmail.example.com", .text = "This is an automatically generated Deliv", .attachments = 1, .attachment = "Nyaaaan.eml", .report_type = "delivery-status", .action = "failed", .status = "5.2.2", .recipients = 1, .original_id = "BLU436-SMTP6645ECA6E7FEFFE86D040BBA770@phx.gbl"},
    {.file = "sisimai-set-of-emails/bsd/lhost-postfix-01.eml", .subject = "Undelivered Mail Returned to Sender", .from = "MAILER-DAEMON@p351355.pool.example.ne.jp", .message_id = "20130429234532.00000000000@p351355.pool.example.ne.jp", .text = "This is the mail system at host p351355.", .attachments = 1, .attachment = "message.eml", .report_type = "delivery-status", .action = "failed", .status = "5.1.1", .recipients = 1},
    {.file = "sisimai-set-of-emails/bsd/lhost-qmail-02.eml", .subject = "failure notice", .from = "MAILER-DAEMON@vagrant-centos65.vagrantup.com", .message_id = "201407010830.s618UuEP009055@4jo.example.jp", .text = "Hi. This is the qmail-send program at va", .attachments = 0},
    {.file = "sisimai-set-of-emails/bsd/lhost-sendmail-01.eml", .subject = "Returned mail: see transcript for details", .from = "MAILER-DAEMON@smtpgw.example.jp", .message_id = "201310160515.r9G5FZh9018575@smtpgw.example.jp", .text = "The original message was received at Wed", .attachments = 1, .attachment = "バウンスメールのテスト(日本語).eml", .report_type = "delivery-status", .action = "failed", .status = "5.1.1", .recipients = 1, .original_id = "E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org"},
    {.file = "sisimai-set-of-emails/bsd/lhost-yahoo-01.eml", .subject = "Failure Notice", .from = "MAILER-DAEMON@y.example.co.jp", .text = "Sorry, we were unable to deliver your me", .attachments = 0, .original_id = "6AE6249A-E7A8-4980-862C-F499F6B8E7C5@y.example.co.jp"},
    {.file = "sisimai-set-of-emails/bsd/rfc3464-01.eml", .subject = "Returned mail: see transcript for details", .from = "MAILER-DAEMON@smtpgw.example.jp", .message_id = "201310160515.r9G5FZh9018575@smtpgw.example.jp", .text = "Your message to <nekochan> was automatic", .attachments = 1, .attachment = "バウンスメールのテスト(日本語).eml", .report_type = "delivery-status", .action = "failed", .status = "5.1.1", .recipients = 1, .original_id = "E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org"},
    {.file = "sisimai-set-of-emails/bsd/rfc3464-03.eml", .subject = "Undelivered Mail Returned to Sender", .from = "MAILER-DAEMON@EXAMPLE.ORG", .message_id = "20170717233445.EEEEEEEE00F@smtpd-02.example.org", .text = "This is the Email Security Gateway at ho", .attachments = 1, .attachment = "Nyaan.eml", .report_type = "delivery-status", .action = "failed", .status = "5.0.0", .recipients = 1, .original_id = "220000000022.0000.0000000000000000222@NEKO.NYAAN"},
    {.file = "sisimai-set-of-emails/bsd/rfc3464-07.eml", .subject = "Delivery Status Notification (Mail Delivery Delaye", .from = "bosscat@example.com", .message_id = "0000000000000000@mx54.exmaple.com", .text = "- This is only a notification about a de", .attachments = 0, .report_type = "delivery-status", .action = "delayed", .status = "4.4.0", .recipients = 1, .original_id = "000000000000000@list.example.jp"},
    {.file = "sisimai-set-of-emails/bsd/rfc3464-09.eml", .subject = "Delayed Mail (still being retried)", .from = "MAILER-DAEMON@mx4.gr3.example.jp", .message_id = "20090509233455.00000000000@mx4.gr3.example.jp", .text = "This is the mail system at host mx4.gr3.", .attachments = 0, .action = "delayed", .status = "4.3.0", .recipients = 1, .original_id = "00000000000000000000000000000000000000000@example.org"},
    {.file = "sisimai-set-of-emails/bsd/rfc3834-01.eml", .subject = "Away until May 5", .from = "kijitora@example.net", .message_id = "200503142138.j3QNaaaa222222@neko.example.org", .text = "I am currently away returning to the off", .attachments = 0},
    {.file = "sisimai-set-of-emails/bsd/rfc3834-02.eml", .subject = "Automatic reply: Nyaan", .from = "nekonyaan@example.org", .message_id = "fb1b2d9ea3df46d9839a6dcb99410ebb@neko.nyaan.example.net", .text = "I'm out of the office Friday. For pressi", .attachments = 0},
    {.file = "sisimai-set-of-emails/bsd/rfc3834-03.eml", .subject = "Auto reply: Nyaan", .from = "kijitora@apple.example.com", .message_id = "7e23258d-247f-479e-996d-e01f0f30af85-vac@apple.example.com", .text = "I'm only sleeping.", .attachments = 0},
    {.file = "sisimai-set-of-emails/bsd/rfc3834-04.eml", .subject = "Automatic reply: Nyaan", .from = "kijitora@example.org", .message_id = "8415797d5564f6c279db9815ab2819ca@mailserver1.com.neko.example.com", .text = "***Please stop and read this message.***", .attachments = 0},
    {.file = "sisimai-set-of-emails/bsd/rfc3834-05.eml", .subject = "kitununulinitoquekegu", .from = "foo@bar.net", .message_id = "dummy@ott.pet", .text = "zukünftig", .attachments = 0},
    {.file = "sisimai-set-of-emails/bsd/rfc3834-06.eml", .subject = "AutoRespons :Nyaan?", .from = "noreply@example.com", .message_id = "000000000-0000000000000@us-mta-000.us.mimecast.lan", .text = "This email inbox kijitora@example.com is", .attachments = 0},
    {.file = "sisimai-set-of-emails/dos/lhost-postfix-01.eml", .subject = "Undelivered Mail Returned to Sender", .from = "MAILER-DAEMON@p351355.pool.example.ne.jp", .message_id = "20130429234532.00000000000@p351355.pool.example.ne.jp", .text = "This is the mail system at host p351355.", .attachments = 1, .attachment = "message.eml", .report_type = "delivery-status", .action = "failed", .status = "5.1.1", .recipients = 1},
    {.file = "sisimai-set-of-emails/not/is-not-bounce-02.eml", .subject = "original as attachment", .from = "dummy@example.com", .message_id = "A3CE5E53-2501-4A47-9E48-ACB6137B9E96@example.com", .text = "it shouldn't be considered as bounce", .attachments = 1, .attachment = "original.eml"},
    {.file = "sisimai-set-of-emails/not/rb-issue-368-bug.eml", .subject = "email bounce notification", .from = "postmaster@yyyyyy.de", .text = "########################################", .attachments = 0, .original_id = "68e0b7e3615cd_1dc7010592ed@7cf4d87f87-9r5w2.mail"},
    {.file = "spamscope-mail-parser/mail_malformed_2", .subject = "Delivery failure (abh@netpar.com.br)", .from = "postmaster@netpar.com.br", .message_id = "B0950073156@apus.netpar.com.br", .text = "Your message has encountered delivery pr", .attachments = 0, .report_type = "delivery-status", .action = "failed", .status = "4.2.2", .recipients = 1, .original_id = "004801d1fc84$01c934ac$b247f0b7$@infospacemail.com"},
    {.file = "spamscope-mail-parser/mail_malformed_3", .subject = "Ahorre Dinero en su Recibo de Luz", .from = "smgsiso@yahoo.com.mx", .message_id = "QLHMAUTBMRLPSUHSWPVQEL@post.sk", .has_text = false, .attachments = 0},
    {.file = "spamscope-mail-parser/mail_outlook_1", .has_subject = false, .has_text = false, .attachments = 0, .expect_defect = true},
    {.file = "spamscope-mail-parser/mail_test_14", .subject = "Test", .from = "example@example.com", .text = "Plaintext here.", .attachments = 1},
    {.file = "spamscope-mail-parser/mail_test_16", .subject = "Test spam mail (GTUBE)", .from = "sender@example.net", .message_id = "GTUBE1.1010101@example.net", .text = "This is the GTUBE, the", .attachments = 0},
    {.file = "spamscope-mail-parser/mail_test_17", .subject = "Transferencia Interbancaria Banca en Línea", .from = "notificaccion-clientes@bbva.mx", .message_id = "202210102011.29AKBWwn005317@vps-051e4cda.vps.ovh.net", .text = "Test", .attachments = 0},
    {.file = "spamscope-mail-parser/mail_test_3", .subject = "Hi there", .from = "Oneil.844@randtelekom.com.tr", .message_id = "8AF5A2192C2A46BE.2743cdb5-7033-d969-fce8-c552542a49a3@mail.outlook.com", .text = "I am sending you the bills of the goods ", .attachments = 1, .attachment = "message.txt"},
    {.file = "spamscope-mail-parser/mail_test_7", .subject = "I: Ordine", .from = "geronazzo@voidstudicom.it", .message_id = "ed264cf8.1d2e138.18e5b8f.29@voidstudicom.it", .text = "Ciao sere mi puoi dire se il mio cliente", .attachments = 8, .attachment = "att18831.htm"},
};

std::string corpus_dir() {
  if (const char* env = std::getenv("ESCALA_CORPUS_DIR"); env && *env) return env;
  return ESCALA_CORPUS_DIR;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    if (n == 2 && c < 0xC2) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// Every corpus file, as a path relative to the folder (LICENSES/ and SOURCES.md are not
// messages).
std::set<std::string> corpus_files(const std::string& dir) {
  std::set<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string rel = fs::relative(entry.path(), dir).generic_string();
    if (rel == "SOURCES.md" || rel.rfind("LICENSES/", 0) == 0) continue;
    files.insert(rel);
  }
  return files;
}

void check_utf8(const MailMessage& m) {
  EXPECT_TRUE(valid_utf8(m.text)) << "text";
  EXPECT_TRUE(valid_utf8(m.html)) << "html";
  EXPECT_TRUE(valid_utf8(m.subject)) << "subject";
  EXPECT_TRUE(valid_utf8(m.from.name)) << "from name";
  EXPECT_TRUE(valid_utf8(m.from.address)) << "from address";
  for (const auto& [name, value] : m.headers) EXPECT_TRUE(valid_utf8(value)) << name;
  for (const auto& a : m.attachments) {
    EXPECT_TRUE(valid_utf8(a.filename)) << "attachment name";
    EXPECT_EQ(a.size, static_cast<int64_t>(a.data.size()));
    EXPECT_EQ(a.sha256.size(), 64u);
    EXPECT_EQ(a.filename.find('/'), std::string::npos);
  }
  for (const auto& d : m.defects) EXPECT_TRUE(valid_utf8(d)) << "defect";
}

void check_expect(const Expect& e, const MailMessage& m) {
  if (e.subject) {
    EXPECT_NE(m.subject.find(e.subject), std::string::npos) << m.subject;
  }
  EXPECT_EQ(!m.subject.empty(), e.has_subject) << "subject: " << m.subject;
  if (e.from) {
    EXPECT_EQ(lower(m.from.address), lower(e.from));
  }
  if (e.message_id) {
    EXPECT_EQ(m.message_id, e.message_id);
  }
  if (e.text) {
    EXPECT_NE(m.text.find(e.text), std::string::npos) << m.text.substr(0, 400);
  }
  bool has_text = m.text.find_first_not_of(" \t\r\n") != std::string::npos;
  EXPECT_EQ(has_text, e.has_text) << "text: " << m.text.substr(0, 200);
  if (e.attachments >= 0) {
    EXPECT_EQ(static_cast<int>(m.attachments.size()), e.attachments);
  }
  if (e.attachment) {
    bool found = std::any_of(m.attachments.begin(), m.attachments.end(),
                             [&](const auto& a) { return a.filename == e.attachment; });
    EXPECT_TRUE(found) << "no attachment named " << e.attachment;
  }
  EXPECT_EQ(m.report_type, e.report_type ? e.report_type : "");
  if (e.recipients >= 0) {
    EXPECT_EQ(static_cast<int>(m.delivery.size()), e.recipients);
  } else {
    EXPECT_TRUE(m.delivery.empty());
  }
  if (!m.delivery.empty()) {
    if (e.action) {
      EXPECT_EQ(m.delivery.front().action, e.action);
    }
    if (e.status) {
      EXPECT_EQ(m.delivery.front().status, e.status);
    }
  }
  EXPECT_EQ(m.original_message_id, e.original_id ? e.original_id : "");
  if (e.expect_defect) {
    EXPECT_FALSE(m.defects.empty());
  }
}

TEST(Corpus, FolderExistsAndMatchesTheTable) {
  std::string dir = corpus_dir();
  ASSERT_TRUE(fs::is_directory(dir)) << "corpus folder missing: " << dir
                                     << " (set ESCALA_CORPUS_DIR)";
  std::set<std::string> files = corpus_files(dir);
  std::set<std::string> rows;
  for (const auto& e : kCorpus) {
    EXPECT_TRUE(rows.insert(e.file).second) << "two rows for " << e.file;
    EXPECT_TRUE(files.count(e.file)) << "row without a file: " << e.file;
  }
  for (const auto& f : files) EXPECT_TRUE(rows.count(f)) << "file without a row: " << f;
  EXPECT_EQ(files.size(), 140u);
}

class CorpusFile : public ::testing::TestWithParam<Expect> {};

TEST_P(CorpusFile, ParsesAsExpected) {
  const Expect& e = GetParam();
  std::string path = corpus_dir() + "/" + e.file;
  ASSERT_TRUE(fs::is_regular_file(path)) << path;
  auto from_file = parse_mail_file(path);
  ASSERT_TRUE(from_file.ok()) << from_file.error().message;
  check_utf8(*from_file);
  check_expect(e, *from_file);

  // The in-memory parser must read the same message.
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto from_memory = parse_mail(bytes.str());
  ASSERT_TRUE(from_memory.ok());
  EXPECT_EQ(from_memory->raw_sha256, from_file->raw_sha256);
  EXPECT_EQ(from_memory->raw_size, from_file->raw_size);
  EXPECT_EQ(from_memory->subject, from_file->subject);
  EXPECT_EQ(from_memory->text, from_file->text);
  EXPECT_EQ(from_memory->html, from_file->html);
  ASSERT_EQ(from_memory->attachments.size(), from_file->attachments.size());
  for (size_t i = 0; i < from_file->attachments.size(); ++i) {
    EXPECT_EQ(from_memory->attachments[i].sha256, from_file->attachments[i].sha256);
  }
}

std::string row_name(const ::testing::TestParamInfo<Expect>& info) {
  std::string name = info.param.file;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Email, CorpusFile, ::testing::ValuesIn(kCorpus), row_name);

}  // namespace
