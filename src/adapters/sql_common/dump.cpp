#include "adapters/sql_common/dump.hpp"

namespace escala::adapters::sql {

const std::vector<DumpTable>& dump_tables() {
  using K = ColumnKind;
  static const std::vector<DumpTable> kTables = {
      {"settings", {{"key", K::kText}, {"value", K::kText}}, "key"},
      {"accounts",
       {{"code", K::kText}, {"name", K::kText}, {"timezone", K::kText}, {"language", K::kText},
        {"contract", K::kText}, {"created_at", K::kInt}},
       "code"},
      {"contacts",
       {{"id", K::kInt}, {"account", K::kText}, {"name", K::kText}, {"email", K::kText},
        {"phone", K::kText}, {"language", K::kText}, {"created_at", K::kInt},
        {"email_failure", K::kText}},
       "id"},
      {"users",
       {{"id", K::kInt}, {"email", K::kText}, {"name", K::kText}, {"role", K::kText},
        {"level", K::kInt}, {"specialties", K::kText}, {"account", K::kText},
        {"language", K::kText}, {"timezone", K::kText}, {"password_hash", K::kText},
        {"active", K::kBool}, {"created_at", K::kInt}, {"quiet", K::kBool}},
       "id"},
      {"sessions",
       {{"token_hash", K::kText}, {"user_id", K::kInt}, {"created_at", K::kInt},
        {"expires_at", K::kInt}},
       "token_hash"},
      {"cases",
       {{"id", K::kInt}, {"type", K::kText}, {"status", K::kText}, {"level", K::kInt},
        {"severity", K::kText}, {"account", K::kText}, {"assignee_id", K::kInt},
        {"created_at", K::kInt}, {"updated_at", K::kInt}, {"doc", K::kText},
        {"sla_next_at", K::kInt}, {"sla_calendar", K::kText}, {"sla_mark", K::kInt}},
       "id"},
      {"events",
       {{"case_id", K::kInt}, {"seq", K::kInt}, {"type", K::kText}, {"at", K::kInt},
        {"actor_id", K::kInt}, {"actor_name", K::kText}, {"actor_role", K::kText},
        {"internal", K::kBool}, {"data", K::kText}},
       "case_id, seq"},
      {"case_text",
       {{"case_id", K::kInt}, {"subject", K::kText}, {"body", K::kText}, {"messages", K::kText}},
       "case_id"},
      {"billable_items",
       {{"id", K::kInt}, {"account", K::kText}, {"case_id", K::kInt}, {"kind", K::kText},
        {"description", K::kText}, {"amount_cents", K::kInt}, {"currency", K::kText},
        {"at", K::kInt}},
       "id"},
      {"notifications",
       {{"id", K::kInt}, {"user_id", K::kInt}, {"case_id", K::kInt}, {"kind", K::kText},
        {"subject", K::kText}, {"body", K::kText}, {"created_at", K::kInt},
        {"email_status", K::kText}},
       "id"},
      {"desk_events",
       {{"id", K::kInt}, {"at", K::kInt}, {"actor_id", K::kInt}, {"actor_name", K::kText},
        {"type", K::kText}, {"data", K::kText}},
       "id"},
      {"blobs", {{"sha256", K::kText}, {"size", K::kInt}, {"data", K::kBytes}}, "sha256"},
      {"inbound_mail",
       {{"key", K::kText}, {"mailbox", K::kText}, {"from_addr", K::kText},
        {"subject", K::kText}, {"message_id", K::kText}, {"raw_sha256", K::kText},
        {"raw_size", K::kInt}, {"kind", K::kText}, {"disposition", K::kText},
        {"case_id", K::kInt}, {"received_at", K::kInt}},
       "key"},
      {"mail_threads", {{"message_id", K::kText}, {"case_id", K::kInt}}, "message_id"},
      {"outbox",
       {{"id", K::kInt}, {"case_id", K::kInt}, {"kind", K::kText}, {"envelope_from", K::kText},
        {"recipients", K::kText}, {"first_recipient", K::kText}, {"mail", K::kText},
        {"automatic", K::kBool}, {"status", K::kText}, {"attempts", K::kInt},
        {"next_attempt_at", K::kInt}, {"last_error", K::kText}, {"created_at", K::kInt},
        {"sent_at", K::kInt}},
       "id"},
  };
  return kTables;
}

const DumpTable* find_dump_table(std::string_view name) {
  for (const auto& t : dump_tables())
    if (t.name == name) return &t;
  return nullptr;
}

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) |
                       uint8_t(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    if (ch == '\n' || ch == '\r') continue;
    if (ch == '=') break;
    const char* p = std::char_traits<char>::find(kAlphabet, 64, ch);
    if (!p) return false;
    acc = (acc << 6) | static_cast<uint32_t>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return true;
}

}  // namespace escala::adapters::sql
