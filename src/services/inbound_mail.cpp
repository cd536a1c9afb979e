#include "services/inbound_mail.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/rules.hpp"
#include "core/text.hpp"

namespace escala::services {
namespace {

using core::Json;

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? "" : core::ascii_lower(address.substr(at + 1));
}

// Public mail providers: a sender at one of these says nothing about their company.
bool is_public_provider(const std::string& domain) {
  static const char* kProviders[] = {
      "gmail.com", "googlemail.com", "hotmail.com", "hotmail.es", "outlook.com", "outlook.es",
      "live.com",  "live.com.mx",    "msn.com",     "yahoo.com",  "yahoo.es",    "yahoo.com.mx",
      "icloud.com", "me.com",        "aol.com",     "proton.me",  "protonmail.com", "gmx.com",
      "mail.com",  "zoho.com",       "yandex.com",  "uol.com.br", "bol.com.br",  "terra.com.br"};
  for (const char* p : kProviders)
    if (domain == p) return true;
  return false;
}

// Addresses that say no one reads them (noreply@, mailer-daemon@...): a case may still be
// opened from their mail, but no automatic message is ever sent to them.
bool is_unattended(const std::string& address) {
  const std::string local = core::ascii_lower(address.substr(0, address.find('@')));
  static const char* kLocal[] = {"noreply", "no-reply", "no_reply", "donotreply",
                                 "do-not-reply", "do_not_reply", "mailer-daemon", "postmaster",
                                 "bounce", "bounces", "notifications", "notification"};
  for (const char* l : kLocal)
    if (local == l || local.rfind(std::string(l) + "+", 0) == 0) return true;
  return local.rfind("noreply", 0) == 0 || local.rfind("no-reply", 0) == 0 ||
         local.find("-request") != std::string::npos;  // list command addresses
}

// Cuts UTF-8 text to at most `max` bytes on a character boundary.
std::string cut_utf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  s += "\n[…]";
  return s;
}

// The same for a one-line value (a subject): the mark stays on the line, and within `max`.
std::string cut_utf8_line(std::string s, size_t max) {
  static constexpr std::string_view kMark = " […]";
  if (s.size() <= max) return s;
  size_t n = max - kMark.size();
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  s += kMark;
  return s;
}

std::string ledger_key(const core::MailMessage& m) {
  if (!m.message_id.empty() && m.message_id.size() <= 900) return "mid:" + m.message_id;
  return "sha256:" + m.raw_sha256;
}

std::string human_size(int64_t bytes) {
  return std::to_string(bytes / (1024 * 1024)) + " MB";
}

struct Sender {
  std::string address;        // From (lower case)
  std::string reply_address;  // where answers go: Reply-To when given, else From
  std::string name;
  std::string account;
  std::optional<int64_t> contact_id;
  std::string language;
  bool identified = false;
};

struct Files {
  std::vector<core::AttachmentRef> kept;
  std::vector<core::StoredBlob> blobs;
  Json dropped = Json::array();
};

Files take_attachments(core::MailMessage& m, int64_t limit) {
  Files f;
  for (auto& a : m.attachments) {
    if (a.size > limit) {
      f.dropped.push_back({{"name", a.filename}, {"size", a.size}});
      continue;
    }
    f.kept.push_back(core::AttachmentRef{a.filename.empty() ? "attachment" : a.filename,
                                         a.content_type, a.size, a.sha256});
    f.blobs.push_back(core::StoredBlob{a.sha256, std::make_shared<const std::string>(std::move(a.data))});
  }
  return f;
}

Json missing_list(const core::Case& c) {
  Json out = Json::array();
  int i = 1;
  const std::string lang = c.requester.language == "en" ? "en" : "es";
  for (const auto& f : c.missing_fields)
    out.push_back({{"index", std::to_string(i++)},
                   {"name", f},
                   {"label", core::field_label(c.type, f, lang)}});
  return out;
}

std::string example_line(const core::Case& c) {
  if (c.missing_fields.empty()) return "";
  const std::string lang = c.requester.language == "en" ? "en" : "es";
  return core::field_label(c.type, c.missing_fields.front(), lang) + ": …";
}

// Only the fields still missing are taken from a reply: what an agent already set stays.
Json only_missing(const Json& extracted, const core::Case& c) {
  Json out = Json::object();
  for (const auto& [k, v] : extracted.items()) {
    bool missing = std::find(c.missing_fields.begin(), c.missing_fields.end(), k) !=
                   c.missing_fields.end();
    if (missing || !c.fields.contains(k)) out[k] = v;
  }
  return out;
}

}  // namespace

InboundMail::InboundMail(ports::CaseStore& cases, ports::DirectoryStore& directory,
                         ports::MailStore& mail, ports::MailCodec& codec,
                         CaseService& case_service, const CaseMailer& mailer,
                         const ports::Clock& clock)
    : cases_(cases),
      directory_(directory),
      mail_(mail),
      codec_(codec),
      case_service_(case_service),
      mailer_(mailer),
      clock_(clock) {}

bool InboundMail::accepts(std::string_view address) const {
  return mailer_.settings().find(address) != nullptr;
}

Result<IngestOutcome> InboundMail::ingest(std::string_view raw, const Envelope& envelope) {
  auto parsed = codec_.parse(raw);
  if (!parsed.ok()) return parsed.error();
  return process(std::move(parsed).value(), std::string(raw), envelope);
}

Result<IngestOutcome> InboundMail::ingest_file(const std::string& path, const Envelope& envelope) {
  auto parsed = codec_.parse_file(path);
  if (!parsed.ok()) return parsed.error();
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kUnavailable, "cannot read the spooled message");
  std::string raw;
  raw.resize(static_cast<size_t>(parsed->raw_size));
  in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  raw.resize(static_cast<size_t>(in.gcount()));
  return process(std::move(parsed).value(), std::move(raw), envelope);
}

Result<IngestOutcome> InboundMail::process(core::MailMessage msg, std::string raw,
                                           const Envelope& env) {
  const MailSettings& settings = mailer_.settings();
  const Instant now = clock_.now();
  // A message without a From takes the envelope's sender; one without any header line at
  // all is not a message (an empty pipe, a stray byte) and is refused, not made a case.
  if (msg.from.address.empty() && core::is_email_address(env.mail_from))
    msg.from.address = env.mail_from;
  if (msg.from.address.empty() && msg.subject.empty() && msg.message_id.empty() &&
      msg.headers.empty() && msg.to.empty())
    return make_error(ErrorCode::kInvalidArgument, "not an email message: it has no headers");
  IngestOutcome out;
  out.key = ledger_key(msg);

  // dedupe: a message seen before changes nothing (SMTP retries, IMAP re-fetches).
  auto seen = mail_.find_inbound(out.key);
  if (!seen.ok()) return seen.error();
  if (seen.value()) {
    out.disposition = "duplicate";
    out.kind = seen.value()->kind;
    out.reason = "already received";
    if (seen.value()->case_id)
      out.case_number = core::format_case_number(case_service_.number_prefix(), seen.value()->case_id);
    return out;
  }

  // Which mailbox: the envelope, else the headers, else the first one.
  const Mailbox* box = nullptr;
  for (const auto& r : env.recipients)
    if (!box) box = settings.find(r);
  for (const auto* list : {&msg.to, &msg.cc})
    for (const auto& a : *list)
      if (!box) box = settings.find(a.address);
  if (!box) box = &settings.fallback();

  core::InboundRecord record;
  record.key = out.key;
  record.mailbox = box->address;
  record.from = core::ascii_lower(msg.from.address);
  record.subject = cut_utf8_line(msg.subject, 300);
  record.message_id = msg.message_id.size() <= 900 ? msg.message_id : "";
  record.raw_sha256 = msg.raw_sha256;
  record.raw_size = static_cast<int64_t>(raw.size());
  record.received_at = now;
  std::vector<core::StoredBlob> blobs{
      core::StoredBlob{msg.raw_sha256, std::make_shared<const std::string>(std::move(raw))}};

  const core::MailClass cls = core::classify_mail(msg, settings.identity());
  out.kind = std::string(core::to_string(cls.kind));
  out.reason = cls.reason;
  record.kind = out.kind;

  // The case a message threads into by its headers (never by subject text alone).
  std::vector<std::string> ids = msg.references;
  for (const auto& i : msg.in_reply_to) ids.push_back(i);
  if (!msg.original_message_id.empty()) ids.push_back(msg.original_message_id);
  auto threaded = mail_.case_for_message_ids(ids);
  if (!threaded.ok()) return threaded.error();

  auto finish_duplicate = [&](const Error& e) -> Result<IngestOutcome> {
    if (e.code != ErrorCode::kAlreadyExists) return e;
    out.disposition = "duplicate";
    return out;
  };

  // ---- automatic mail: recorded, never answered, never a case ----
  if (cls.kind != core::MailKind::kPerson) {
    if (cls.kind == core::MailKind::kBounce)
      for (const auto& r : cls.failed_recipients) {
        std::string why = "bounced";
        for (const auto& d : msg.delivery)
          if (core::ascii_lower(d.recipient) == r) why = (d.status + " " + d.diagnostic);
        (void)directory_.set_email_failure(r, cut_utf8_line(why, 500));
      }
    out.disposition = cls.kind == core::MailKind::kBounce ? "bounce" : "ignored";
    record.disposition = out.disposition;
    const bool own = cls.kind == core::MailKind::kOwnLoop;
    if (threaded.value() && !own) {
      const int64_t id = *threaded.value();
      auto current = cases_.get(id);
      if (!current.ok()) return current.error();
      if (current.value()) {
        auto ctx = case_service_.context_for((*current)->account);
        if (!ctx.ok()) return ctx.error();
        Json data = {{"kind", out.kind},     {"reason", cls.reason},
                     {"from", record.from}, {"subject", record.subject},
                     {"raw_sha256", record.raw_sha256}};
        if (!cls.failed_recipients.empty()) data["recipients"] = cls.failed_recipients;
        if (!msg.delivery.empty())
          data["status"] = msg.delivery.front().status,
          data["diagnostic"] = cut_utf8(msg.delivery.front().diagnostic, 1000);
        const std::string type = cls.kind == core::MailKind::kBounce ? "mail_bounced" : "mail_ignored";
        auto updated = cases_.update(id, [&](const core::Case& c) -> Result<core::Change> {
          auto ch = core::record_event(c, type, data, /*internal=*/true,
                                       core::Actor{0, core::Role::kSystem, core::kMaxLevel, "", "email"},
                                       now, *ctx);
          if (!ch.ok()) return ch;
          ch->inbound = record;
          ch->blobs = blobs;
          return ch;
        });
        if (!updated.ok()) return finish_duplicate(updated.error());
        case_service_.note_changed(*updated, ChangeKinds{type, ""});  // internal events
        out.case_number = case_service_.number_of(*updated);
        return out;
      }
    }
    auto st = mail_.record_inbound(record, blobs, {});
    if (!st.ok()) return finish_duplicate(st.error());
    return out;
  }

  // ---- a person wrote: who? ----
  Sender sender;
  sender.address = core::ascii_lower(msg.from.address);
  sender.reply_address =
      msg.reply_to && core::is_email_address(msg.reply_to->address) ? msg.reply_to->address
                                                                    : msg.from.address;
  sender.name = msg.from.name;
  if (!sender.address.empty()) {
    auto contacts = directory_.find_contacts_by_email(sender.address);
    if (!contacts.ok()) return contacts.error();
    if (!contacts->empty()) {
      const auto& c = contacts->front();
      sender.account = c.account;
      sender.contact_id = c.id;
      sender.language = c.language;
      if (sender.name.empty()) sender.name = c.name;
      sender.identified = true;
    } else if (auto user = directory_.find_user_by_email(sender.address);
               user.ok() && user.value() && user.value()->role == core::Role::kCustomer) {
      sender.account = user.value()->account;
      sender.language = user.value()->language;
      if (sender.name.empty()) sender.name = user.value()->name;
      sender.identified = true;
    } else {
      const std::string domain = domain_of(sender.address);
      if (!domain.empty() && !is_public_provider(domain)) {
        auto acc = directory_.account_for_email_domain(domain);
        if (!acc.ok()) return acc.error();
        if (acc.value()) {
          // A colleague of a known contact: attach to the company and remember them.
          core::Contact contact;
          contact.account = *acc.value();
          contact.name = sender.name.empty() ? sender.address.substr(0, sender.address.find('@'))
                                             : sender.name;
          contact.email = sender.address;
          contact.created_at = now;
          auto account = directory_.get_account(contact.account);
          if (account.ok() && account.value()) contact.language = account.value()->language;
          auto made = directory_.create_contact(contact);
          if (made.ok()) sender.contact_id = made->id;
          sender.account = contact.account;
          sender.language = contact.language;
          sender.identified = true;
        }
      }
    }
  }
  if (sender.language != "en" && sender.language != "es") sender.language = box->language;

  Files files = take_attachments(msg, settings.max_attachment_bytes);
  for (auto& b : files.blobs) blobs.push_back(std::move(b));
  const std::string body = cut_utf8(core::strip_quoted_and_signature(msg.text), settings.max_body_chars);
  const Instant written = msg.date.value_or(now);

  // ---- follow-up: the thread, else a bracketed case number of the sender's ----
  std::optional<core::Case> target;
  if (threaded.value()) {
    auto c = cases_.get(*threaded.value());
    if (!c.ok()) return c.error();
    if (c.value()) target = std::move(*c.value());
  }
  if (!target) {
    if (auto n = core::case_number_in_subject(msg.subject, case_service_.number_prefix())) {
      auto c = cases_.get(*n);
      if (!c.ok()) return c.error();
      if (c.value()) {
        const core::Case& k = *c.value();
        const bool same_account = !k.account.empty() && k.account == sender.account;
        const bool same_person = !k.requester.email.empty() &&
                                 (core::ascii_lower(k.requester.email) == sender.address ||
                                  core::ascii_lower(k.requester.email) == core::ascii_lower(sender.reply_address));
        // Another account's number, or a stranger's, starts a new case (no disclosure).
        if (same_account || same_person) target = std::move(*c.value());
      }
    }
  }
  // The case's mailbox may have its own reopen window (D4a: "per mailbox policy").
  auto context_of = [&](const core::Case& c) -> Result<core::CaseContext> {
    auto ctx = case_service_.context_for(c.account);
    if (!ctx.ok()) return ctx;
    const Mailbox* own = settings.find(c.mailbox);
    if (own && own->reopen_days && ctx->policy) {
      auto p = std::make_shared<core::CasePolicy>(*ctx->policy);
      p->reopen_window = Seconds{int64_t{*own->reopen_days} * 24 * 3600};
      ctx->own_policy = p;
      ctx->policy = p.get();
    }
    return ctx;
  };
  std::string linked_from;
  if (target && target->status == core::CaseStatus::kClosed) {
    auto ctx = context_of(*target);
    if (!ctx.ok()) return ctx.error();
    const Seconds window = ctx->policy ? ctx->policy->reopen_window : Seconds{30 * 24 * 3600};
    if (!target->closed_at || now - *target->closed_at > window) {
      linked_from = case_service_.number_of(*target);
      target.reset();
    }
  }

  auto automatic_allowed = [&](const std::string& address) -> bool {
    if (is_unattended(address)) return false;
    auto n = mail_.count_automatic_to(address, now - Seconds{24 * 3600});
    return n.ok() && n.value() < settings.automatic_per_day;
  };

  if (target) {
    const int64_t id = target->id;
    auto ctx = context_of(*target);
    if (!ctx.ok()) return ctx.error();
    const bool may_answer = automatic_allowed(target->requester.email.empty()
                                                  ? sender.reply_address
                                                  : target->requester.email);
    core::CustomerMessage m;
    m.sender_name = sender.name;
    m.sender_email = sender.address;
    m.body = body.empty() ? cut_utf8(msg.text, settings.max_body_chars) : body;
    m.message_id = record.message_id;
    m.raw_sha256 = record.raw_sha256;
    m.attachments = files.kept;
    const core::Actor by_mail{0, core::Role::kSystem, core::kMaxLevel, "",
                              sender.name.empty() ? sender.address : sender.name};
    bool queued = false;
    ChangeKinds kinds;
    auto updated = cases_.update(id, [&](const core::Case& c) -> Result<core::Change> {
      out.disposition.clear();  // a store may run this more than once
      m.intent = c.status == core::CaseStatus::kResolved ? core::detect_intent(m.body)
                                                         : core::CustomerIntent::kNone;
      auto ch = core::receive_customer_message(c, m, now, *ctx);
      if (!ch.ok()) return ch;
      core::Change total = std::move(ch).value();
      // Required data the reply brings (R2.3): only what is still missing.
      bool tried_fields = false;
      if (!total.after.missing_fields.empty() &&
          total.after.status != core::CaseStatus::kResolved &&
          total.after.status != core::CaseStatus::kClosed) {
        Json found = only_missing(
            core::extract_fields(total.after.type, m.body, written, ctx->default_offset),
            total.after);
        tried_fields = true;
        if (!found.empty()) {
          auto f = core::update_fields(total.after, found, by_mail, now, *ctx);
          if (f.ok()) core::chain(total, std::move(f).value());
        }
      }
      if (total.after.requester.email.empty()) {
        total.after.requester = core::Requester{sender.name, sender.reply_address, sender.language};
        if (total.after.mailbox.empty()) total.after.mailbox = box->address;
      }
      if (!record.message_id.empty()) {
        total.thread_ids.push_back(record.message_id);
        total.after.mail_refs.push_back(record.message_id);
      }
      const auto before = c.status, after = total.after.status;
      const std::string answered = record.message_id;
      if (before == core::CaseStatus::kAwaitingInfo && after == core::CaseStatus::kOpen) {
        mailer_.add_customer_mail(total, "data_complete", Json::object(), now, answered, true);
        out.disposition = "completed";
      } else if (after == core::CaseStatus::kAwaitingInfo && tried_fields) {
        if (may_answer)
          mailer_.add_customer_mail(total, "still_missing",
                                    Json{{"missing", missing_list(total.after)}}, now, answered,
                                    true);
      } else if (before == core::CaseStatus::kResolved && after == core::CaseStatus::kClosed) {
        mailer_.add_customer_mail(total, "closed", Json::object(), now, answered, false);
        out.disposition = "confirmed";
      } else if ((before == core::CaseStatus::kResolved || before == core::CaseStatus::kClosed) &&
                 after == core::CaseStatus::kOpen) {
        mailer_.add_customer_mail(total, "reopened", Json::object(), now, answered, false);
        out.disposition = "reopened";
      }
      if (out.disposition.empty()) out.disposition = "joined";
      record.disposition = out.disposition;
      total.inbound = record;
      total.blobs = blobs;
      if (const auto& deco = case_service_.change_decorator()) deco(total, *ctx, now);
      queued = !total.outbox.empty();
      kinds = kinds_of(total.events);
      return total;
    });
    if (!updated.ok()) return finish_duplicate(updated.error());
    case_service_.note_timer(*updated);
    case_service_.note_changed(*updated, kinds);
    if (queued) case_service_.note_mail_queued();
    out.case_number = case_service_.number_of(*updated);
    return out;
  }

  // ---- a new case ----
  core::OpenCaseInput in;
  in.type = core::guess_case_type(box->default_type, msg.subject, body);
  in.account = sender.account;
  in.contact_id = sender.contact_id;
  in.channel = "email";
  in.subject = cut_utf8_line(core::clean_subject(msg.subject, case_service_.number_prefix()), 290);
  if (in.subject.empty()) in.subject = sender.language == "en" ? "(no subject)" : "(sin asunto)";
  in.description = body.empty() ? cut_utf8(msg.text, settings.max_body_chars) : body;
  if (!linked_from.empty())
    in.description = "[" + linked_from + "] " + in.description;
  auto ctx = case_service_.context_for(in.account);
  if (!ctx.ok()) return ctx.error();
  Json fields = core::extract_fields(in.type, in.description, written, ctx->default_offset);
  if (in.type == core::CaseType::kActivation && !sender.account.empty() &&
      !fields.contains("account_id"))
    fields["account_id"] = sender.account;  // known from the sender: never asked for
  // Fields that do not validate are left for the customer to send again (never guessed).
  if (!core::merge_fields(in.type, Json::object(), fields, ctx->default_offset).ok()) {
    Json kept = Json::object();
    for (const auto& [k, v] : fields.items())
      if (core::merge_fields(in.type, Json::object(), Json{{k, v}}, ctx->default_offset).ok())
        kept[k] = v;
    fields = std::move(kept);
  }
  in.fields = std::move(fields);
  const core::Actor actor = sender.identified
                                ? core::Actor{0, core::Role::kCustomer, 0, sender.account,
                                              sender.name.empty() ? sender.address : sender.name}
                                : core::Actor{0, core::Role::kSystem, core::kMaxLevel, "",
                                              sender.name.empty() ? sender.address : sender.name};
  const bool may_answer = automatic_allowed(sender.reply_address);
  bool queued = false;
  ChangeKinds kinds;
  auto created = cases_.create([&](int64_t id) -> Result<core::Change> {
    auto ch = core::open_case(id, in, actor, now, *ctx);
    if (!ch.ok()) return ch;
    core::Change& total = ch.value();
    total.after.mailbox = box->address;
    total.after.requester = core::Requester{sender.name, sender.reply_address, sender.language};
    total.after.attachments = files.kept;
    if (!record.message_id.empty()) {
      total.after.mail_refs.push_back(record.message_id);
      total.thread_ids.push_back(record.message_id);
    }
    if (!total.events.empty()) {
      auto& created_event = total.events.front();
      created_event.data["from"] = sender.address;
      created_event.data["mailbox"] = box->address;
      created_event.data["raw_sha256"] = record.raw_sha256;
      if (!files.kept.empty()) {
        Json list = Json::array();
        for (const auto& a : files.kept)
          list.push_back({{"name", a.name}, {"size", a.size}, {"content_type", a.content_type},
                          {"sha256", a.sha256}});
        created_event.data["attachments"] = list;
      }
      if (!linked_from.empty()) created_event.data["follows"] = linked_from;
    }
    Json vars = {{"dropped", files.dropped.empty() ? Json(false)
                                                   : Json{{"files", files.dropped}}},
                 {"limit", human_size(settings.max_attachment_bytes)}};
    if (may_answer) {
      if (total.after.missing_fields.empty()) {
        mailer_.add_customer_mail(total, "acknowledgement", vars, now, record.message_id, true);
      } else {
        vars["missing"] = missing_list(total.after);
        vars["example"] = example_line(total.after);
        mailer_.add_customer_mail(total, "missing_data", vars, now, record.message_id, true);
      }
    } else {
      const bool unattended = is_unattended(sender.reply_address);
      auto held = core::record_event(
          total.after, "auto_reply_held",
          {{"to", sender.reply_address},
           {"reason", unattended ? "the address takes no replies (noreply, list robot)"
                                 : "automatic messages per day reached"}},
          true, core::Actor::system(), now, *ctx);
      if (held.ok()) core::chain(total, std::move(held).value());
    }
    out.disposition = linked_from.empty() ? "new_case" : "linked_case";
    record.disposition = out.disposition;
    total.inbound = record;
    total.blobs = blobs;
    if (const auto& deco = case_service_.change_decorator()) deco(total, *ctx, now);
    queued = !total.outbox.empty();
    kinds = kinds_of(total.events);
    return total;
  });
  if (!created.ok()) return finish_duplicate(created.error());
  case_service_.note_timer(*created);
  case_service_.note_changed(*created, kinds);
  if (queued) case_service_.note_mail_queued();
  out.case_number = case_service_.number_of(*created);
  return out;
}

}  // namespace escala::services
