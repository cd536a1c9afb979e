#include "fakes/memory_store.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace escala::fakes {
namespace {

std::string searchable_text(const core::Case& c, const std::vector<core::Event>& events) {
  std::string t = c.subject + " " + c.description + " " + c.account;
  for (const auto& [k, v] : c.fields.items()) t += " " + (v.is_string() ? v.get<std::string>() : v.dump());
  for (const auto& e : events)
    if (!e.internal && (e.type == "reply" || e.type == "customer_message"))
      t += " " + e.data.value("body", std::string());
  return " " + core::fold_for_search(t) + " ";
}

bool matches_text(const std::string& folded, const std::string& query) {
  for (const auto& term : core::search_terms(query)) {
    bool found = false;
    for (const auto& word : core::search_terms(folded))
      if (word == term) { found = true; break; }
    if (!found) return false;
  }
  return true;
}

}  // namespace

void MemoryStore::store_change(core::Change&& change) {
  auto& evs = events_[change.after.id];
  for (auto& e : change.events) evs.push_back(std::move(e));
  if (change.billable) {
    change.billable->id = static_cast<int64_t>(billable_.size()) + 1;
    billable_.push_back(*change.billable);
  }
  for (auto n : change.notifications) {
    n.id = static_cast<int64_t>(notifications_.size()) + 1;
    notifications_.push_back(std::move(n));
  }
  store_mail_part(change);
  text_[change.after.id] = searchable_text(change.after, evs);
  cases_[change.after.id] = std::move(change.after);
}

Result<core::Case> MemoryStore::create(const ports::CaseBuilder& build) {
  std::lock_guard lock(mu_);
  auto change = build(next_case_);
  if (!change.ok()) return change.error();
  if (change->inbound && inbound_.count(change->inbound->key))
    return make_error(ErrorCode::kAlreadyExists, "message already received");
  ++next_case_;
  core::Case out = change->after;
  store_change(std::move(change).value());
  return out;
}

Result<core::Case> MemoryStore::update(int64_t id, const ports::CaseMutator& mutate) {
  std::lock_guard lock(mu_);
  auto it = cases_.find(id);
  if (it == cases_.end()) return make_error(ErrorCode::kNotFound, "no such case");
  auto change = mutate(it->second);
  if (!change.ok()) return change.error();
  if (change->inbound && inbound_.count(change->inbound->key))
    return make_error(ErrorCode::kAlreadyExists, "message already received");
  const bool mail = change->inbound || !change->outbox.empty() || !change->thread_ids.empty();
  if (change->events.empty() && !mail &&
      change->after.sla.next_timer_mark == it->second.sla.next_timer_mark)
    return it->second;
  core::Case out = change->after;
  store_change(std::move(change).value());
  return out;
}

Result<std::optional<core::Case>> MemoryStore::get(int64_t id) {
  std::lock_guard lock(mu_);
  auto it = cases_.find(id);
  if (it == cases_.end()) return std::optional<core::Case>();
  return std::optional<core::Case>(it->second);
}

Result<ports::CasePage> MemoryStore::list(const ports::CaseQuery& q) {
  std::lock_guard lock(mu_);
  ports::CasePage page;
  for (auto it = cases_.rbegin(); it != cases_.rend(); ++it) {
    const auto& c = it->second;
    if (q.status && c.status != *q.status) continue;
    if (q.level && c.level != *q.level) continue;
    if (q.severity && c.severity != *q.severity) continue;
    if (q.type && c.type != *q.type) continue;
    if (q.account && c.account != *q.account) continue;
    if (q.assignee && c.assignee_id.value_or(0) != *q.assignee) continue;
    if (q.created_from && c.created_at < *q.created_from) continue;
    if (q.created_before && c.created_at >= *q.created_before) continue;
    if (q.updated_from && c.updated_at < *q.updated_from) continue;
    if (!q.text.empty() && !matches_text(text_[c.id], q.text)) continue;
    ++page.total;
    if (q.before_id && c.id >= *q.before_id) continue;
    if (static_cast<int>(page.items.size()) < q.limit) page.items.push_back(c);
    else if (!page.next_before) page.next_before = page.items.back().id;
  }
  if (!q.text.empty() && page.total > q.search_count_cap) {
    page.total = q.search_count_cap;
    page.total_exact = false;
  }
  return page;
}

Result<ports::EventPage> MemoryStore::events(const ports::EventQuery& q) {
  std::lock_guard lock(mu_);
  ports::EventPage page;
  for (const auto& e : events_[q.case_id]) {
    if (e.internal && !q.include_internal) continue;
    ++page.total;
    if (e.seq <= q.after_seq) continue;
    if (static_cast<int>(page.items.size()) < q.limit) page.items.push_back(e);
    else if (!page.next_after) page.next_after = page.items.back().seq;
  }
  return page;
}

Result<std::vector<core::BillableItem>> MemoryStore::billable_items(const std::string& account) {
  std::lock_guard lock(mu_);
  std::vector<core::BillableItem> out;
  for (const auto& b : billable_)
    if (b.account == account) out.push_back(b);
  return out;
}

Result<std::optional<Millis>> MemoryStore::next_sla_mark(const std::string& calendar) {
  std::lock_guard lock(mu_);
  std::optional<Millis> next;
  for (const auto& [id, c] : cases_)
    if (c.sla.calendar == calendar && c.sla.next_timer_mark &&
        (!next || *c.sla.next_timer_mark < *next))
      next = c.sla.next_timer_mark;
  return next;
}

Result<std::vector<int64_t>> MemoryStore::cases_with_due_timers(const std::string& calendar,
                                                                Millis mark, int limit) {
  std::lock_guard lock(mu_);
  std::vector<std::pair<Millis, int64_t>> due;
  for (const auto& [id, c] : cases_)
    if (c.sla.calendar == calendar && c.sla.next_timer_mark && *c.sla.next_timer_mark <= mark)
      due.emplace_back(*c.sla.next_timer_mark, id);
  std::sort(due.begin(), due.end());
  std::vector<int64_t> out;
  for (const auto& [m, id] : due) {
    if (static_cast<int>(out.size()) >= limit) break;
    out.push_back(id);
  }
  return out;
}

Result<core::Account> MemoryStore::create_account(const core::Account& a) {
  std::lock_guard lock(mu_);
  if (accounts_.count(a.code)) return make_error(ErrorCode::kAlreadyExists, "the account code is taken", "code");
  accounts_[a.code] = a;
  return a;
}

Result<core::Account> MemoryStore::update_account(const core::Account& a) {
  std::lock_guard lock(mu_);
  if (!accounts_.count(a.code)) return make_error(ErrorCode::kNotFound, "no such account");
  accounts_[a.code] = a;
  return a;
}

Result<std::optional<core::Account>> MemoryStore::get_account(const std::string& code) {
  std::lock_guard lock(mu_);
  auto it = accounts_.find(code);
  if (it == accounts_.end()) return std::optional<core::Account>();
  return std::optional<core::Account>(it->second);
}

Result<std::vector<core::Account>> MemoryStore::list_accounts(const std::string& after, int limit) {
  std::lock_guard lock(mu_);
  std::vector<core::Account> out;
  for (auto it = accounts_.upper_bound(after); it != accounts_.end() && static_cast<int>(out.size()) < limit; ++it)
    out.push_back(it->second);
  return out;
}

Result<core::Contact> MemoryStore::create_contact(const core::Contact& c) {
  std::lock_guard lock(mu_);
  core::Contact out = c;
  out.id = static_cast<int64_t>(contacts_.size()) + 1;
  contacts_[out.id] = out;
  return out;
}

Result<std::optional<core::Contact>> MemoryStore::get_contact(int64_t id) {
  std::lock_guard lock(mu_);
  auto it = contacts_.find(id);
  if (it == contacts_.end()) return std::optional<core::Contact>();
  return std::optional<core::Contact>(it->second);
}

Result<std::vector<core::Contact>> MemoryStore::list_contacts(const std::string& account) {
  std::lock_guard lock(mu_);
  std::vector<core::Contact> out;
  for (const auto& [id, c] : contacts_)
    if (c.account == account) out.push_back(c);
  return out;
}

Result<core::User> MemoryStore::create_user(const core::User& u) {
  std::lock_guard lock(mu_);
  for (const auto& [id, other] : users_)
    if (other.email == u.email) return make_error(ErrorCode::kAlreadyExists, "the email is taken", "email");
  core::User out = u;
  out.id = static_cast<int64_t>(users_.size()) + 1;
  users_[out.id] = out;
  return out;
}

Result<std::optional<core::User>> MemoryStore::get_user(int64_t id) {
  std::lock_guard lock(mu_);
  auto it = users_.find(id);
  if (it == users_.end()) return std::optional<core::User>();
  return std::optional<core::User>(it->second);
}

Result<std::optional<core::User>> MemoryStore::find_user_by_email(const std::string& email) {
  std::lock_guard lock(mu_);
  for (const auto& [id, u] : users_)
    if (u.email == email) return std::optional<core::User>(u);
  return std::optional<core::User>();
}

Result<std::vector<core::User>> MemoryStore::list_users(int64_t after_id, int limit) {
  std::lock_guard lock(mu_);
  std::vector<core::User> out;
  for (auto it = users_.upper_bound(after_id); it != users_.end() && static_cast<int>(out.size()) < limit; ++it)
    out.push_back(it->second);
  return out;
}

Result<std::vector<core::Notification>> MemoryStore::notifications(int64_t user_id,
                                                                   int64_t before_id, int limit) {
  std::lock_guard lock(mu_);
  std::vector<core::Notification> out;
  for (auto it = notifications_.rbegin(); it != notifications_.rend(); ++it) {
    if (it->user_id != user_id || (before_id > 0 && it->id >= before_id)) continue;
    if (static_cast<int>(out.size()) >= limit) break;
    out.push_back(*it);
  }
  return out;
}

Status MemoryStore::set_user_quiet(int64_t user_id, bool quiet) {
  std::lock_guard lock(mu_);
  auto it = users_.find(user_id);
  if (it == users_.end()) return make_error(ErrorCode::kNotFound, "no such user");
  it->second.quiet = quiet;
  return ok_status();
}

Result<int64_t> MemoryStore::count_users() {
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(users_.size());
}

Result<int64_t> MemoryStore::count_accounts() {
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(accounts_.size());
}

Status MemoryStore::create_session(const ports::Session& s) {
  std::lock_guard lock(mu_);
  sessions_[s.token_hash] = s;
  return ok_status();
}

Result<std::optional<ports::Session>> MemoryStore::find_session(const std::string& h) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(h);
  if (it == sessions_.end()) return std::optional<ports::Session>();
  return std::optional<ports::Session>(it->second);
}

Status MemoryStore::delete_session(const std::string& h) {
  std::lock_guard lock(mu_);
  sessions_.erase(h);
  return ok_status();
}

Result<int64_t> MemoryStore::change_password(int64_t user_id, const std::string& password_hash,
                                             const std::string& keep_token_hash) {
  std::lock_guard lock(mu_);
  auto it = users_.find(user_id);
  if (it == users_.end()) return make_error(ErrorCode::kNotFound, "no such user");
  it->second.password_hash = password_hash;
  int64_t ended = 0;
  for (auto s = sessions_.begin(); s != sessions_.end();) {
    if (s->second.user_id == user_id && s->first != keep_token_hash) {
      s = sessions_.erase(s);
      ++ended;
    } else {
      ++s;
    }
  }
  return ended;
}

Result<std::optional<core::Json>> MemoryStore::get_setting(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = settings_.find(key);
  if (it == settings_.end()) return std::optional<core::Json>();
  return std::optional<core::Json>(it->second);
}

Status MemoryStore::put_setting(const std::string& key, const core::Json& value) {
  std::lock_guard lock(mu_);
  settings_[key] = value;
  return ok_status();
}

Result<int64_t> MemoryStore::update_cases_with_legacy_timers(const ports::CaseMutator&) {
  return int64_t{0};  // this store never kept timers as instants
}

Status MemoryStore::put_setting_with_event(const std::string& key, const core::Json& value,
                                           const DeskEvent& event,
                                           const std::optional<core::Json>& expected) {
  std::lock_guard lock(mu_);
  if (expected) {
    auto it = settings_.find(key);
    if ((it == settings_.end() ? core::Json() : it->second) != *expected)
      return make_error(ErrorCode::kConflict, "setting " + key + " changed since it was read");
  }
  settings_[key] = value;
  DeskEvent e = event;
  e.id = static_cast<int64_t>(desk_events_.size()) + 1;
  desk_events_.push_back(std::move(e));
  return ok_status();
}

Result<std::vector<ports::DirectoryStore::DeskEvent>> MemoryStore::desk_events(int64_t before_id,
                                                                              int limit) {
  std::lock_guard lock(mu_);
  std::vector<DeskEvent> out;
  for (auto it = desk_events_.rbegin(); it != desk_events_.rend(); ++it) {
    if (before_id > 0 && it->id >= before_id) continue;
    if (static_cast<int>(out.size()) >= limit) break;
    out.push_back(*it);
  }
  return out;
}

}  // namespace escala::fakes

namespace escala::fakes {
namespace {
}  // namespace

void MemoryStore::add_outbox(std::vector<core::OutboxMessage> out, int64_t case_id) {
  for (auto& m : out) {
    m.id = static_cast<int64_t>(outbox_.size()) + 1;
    if (m.case_id == 0) m.case_id = case_id;
    outbox_[m.id] = std::move(m);
  }
}

void MemoryStore::store_mail_part(core::Change& change) {
  for (auto& b : change.blobs) blobs_.emplace(b.sha256, b.data ? *b.data : std::string());
  if (change.inbound) {
    change.inbound->case_id = change.after.id;
    inbound_[change.inbound->key] = *change.inbound;
  }
  for (const auto& t : change.thread_ids) threads_[t] = change.after.id;
  add_outbox(std::move(change.outbox), change.after.id);
}

Result<std::vector<core::Contact>> MemoryStore::find_contacts_by_email(const std::string& email) {
  std::lock_guard lock(mu_);
  std::vector<core::Contact> out;
  for (const auto& [id, c] : contacts_)
    if (core::ascii_lower(c.email) == core::ascii_lower(email)) out.push_back(c);
  return out;
}

Result<std::optional<std::string>> MemoryStore::account_for_email_domain(const std::string& domain) {
  std::lock_guard lock(mu_);
  const std::string suffix = "@" + core::ascii_lower(domain);
  for (const auto& [id, c] : contacts_) {
    std::string e = core::ascii_lower(c.email);
    if (!domain.empty() && e.size() > suffix.size() &&
        e.compare(e.size() - suffix.size(), suffix.size(), suffix) == 0)
      return std::optional<std::string>(c.account);
  }
  return std::optional<std::string>();
}

Result<int64_t> MemoryStore::set_email_failure(const std::string& email, const std::string& failure) {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  for (auto& [id, c] : contacts_)
    if (core::ascii_lower(c.email) == core::ascii_lower(email) && c.email_failure != failure) {
      c.email_failure = failure;
      ++n;
    }
  return n;
}

Result<std::optional<core::InboundRecord>> MemoryStore::find_inbound(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = inbound_.find(key);
  if (it == inbound_.end()) return std::optional<core::InboundRecord>();
  return std::optional<core::InboundRecord>(it->second);
}

Status MemoryStore::record_inbound(const core::InboundRecord& record,
                                   const std::vector<core::StoredBlob>& blobs,
                                   const std::vector<core::OutboxMessage>& outbox) {
  std::lock_guard lock(mu_);
  if (inbound_.count(record.key))
    return make_error(ErrorCode::kAlreadyExists, "message already received");
  for (const auto& b : blobs) blobs_.emplace(b.sha256, b.data ? *b.data : std::string());
  inbound_[record.key] = record;
  add_outbox(outbox, record.case_id);
  return ok_status();
}

Result<std::optional<int64_t>> MemoryStore::case_for_message_ids(const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    auto t = threads_.find(*it);
    if (t != threads_.end()) return std::optional<int64_t>(t->second);
  }
  return std::optional<int64_t>();
}

Result<std::optional<std::string>> MemoryStore::get_blob(const std::string& sha256) {
  std::lock_guard lock(mu_);
  auto it = blobs_.find(sha256);
  if (it == blobs_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Result<std::vector<core::OutboxMessage>> MemoryStore::claim_outbox(Instant now, Millis lease, int limit) {
  std::lock_guard lock(mu_);
  std::vector<core::OutboxMessage*> due;
  for (auto& [id, m] : outbox_)
    if ((m.status == "pending" || m.status == "sending") && m.next_attempt_at <= now) due.push_back(&m);
  std::stable_sort(due.begin(), due.end(), [](auto* a, auto* b) { return a->next_attempt_at < b->next_attempt_at; });
  std::vector<core::OutboxMessage> out;
  for (auto* m : due) {
    if (static_cast<int>(out.size()) >= limit) break;
    m->status = "sending";
    ++m->attempts;
    m->next_attempt_at = now + lease;
    out.push_back(*m);
  }
  return out;
}

Result<std::vector<int64_t>> MemoryStore::renew_outbox_claims(
    const std::vector<OutboxClaim>& claims, Instant until) {
  std::lock_guard lock(mu_);
  std::vector<int64_t> held;
  for (const auto& c : claims) {
    auto it = outbox_.find(c.id);
    if (it == outbox_.end() || it->second.status != "sending" || it->second.attempts != c.attempt)
      continue;
    it->second.next_attempt_at = until;
    held.push_back(c.id);
  }
  return held;
}

Status MemoryStore::outbox_sent(int64_t id, Instant at) {
  std::lock_guard lock(mu_);
  auto it = outbox_.find(id);
  if (it == outbox_.end()) return make_error(ErrorCode::kNotFound, "no such message");
  it->second.status = "sent";
  it->second.sent_at = at;
  it->second.last_error.clear();
  return ok_status();
}

Status MemoryStore::outbox_retry(int64_t id, Instant next_at, const std::string& error) {
  std::lock_guard lock(mu_);
  auto it = outbox_.find(id);
  if (it == outbox_.end()) return make_error(ErrorCode::kNotFound, "no such message");
  if (it->second.status == "sent") return ok_status();
  it->second.status = "pending";
  it->second.next_attempt_at = next_at;
  it->second.last_error = error;
  return ok_status();
}

Status MemoryStore::outbox_failed(int64_t id, const std::string& error) {
  std::lock_guard lock(mu_);
  auto it = outbox_.find(id);
  if (it == outbox_.end()) return make_error(ErrorCode::kNotFound, "no such message");
  if (it->second.status == "sent") return ok_status();
  it->second.status = "failed";
  it->second.last_error = error;
  return ok_status();
}

Result<std::optional<Instant>> MemoryStore::next_outbox_due() {
  std::lock_guard lock(mu_);
  std::optional<Instant> best;
  for (const auto& [id, m] : outbox_)
    if ((m.status == "pending" || m.status == "sending") && (!best || m.next_attempt_at < *best))
      best = m.next_attempt_at;
  return best;
}

Result<std::vector<core::OutboxMessage>> MemoryStore::outbox_for_case(int64_t case_id) {
  std::lock_guard lock(mu_);
  std::vector<core::OutboxMessage> out;
  for (const auto& [id, m] : outbox_)
    if (m.case_id == case_id) out.push_back(m);
  return out;
}

Result<int64_t> MemoryStore::count_automatic_to(const std::string& address, Instant since) {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  for (const auto& [id, m] : outbox_)
    if (m.automatic && !m.recipients.empty() && core::ascii_lower(m.recipients.front()) == core::ascii_lower(address) &&
        m.created_at >= since)
      ++n;
  return n;
}

Result<std::vector<std::pair<std::string, int64_t>>> MemoryStore::outbox_counts() {
  std::lock_guard lock(mu_);
  std::map<std::string, int64_t> counts;
  for (const auto& [id, m] : outbox_) ++counts[m.status];
  return std::vector<std::pair<std::string, int64_t>>(counts.begin(), counts.end());
}

}  // namespace escala::fakes
