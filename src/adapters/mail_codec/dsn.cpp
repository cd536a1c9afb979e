#include "adapters/mail_codec/dsn.hpp"

#include "adapters/mail_codec/charset.hpp"

namespace escala::adapters::mail_codec_internal {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '\n') {
      std::string_view line = text.substr(start, i - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      lines.push_back(line);
      start = i + 1;
    }
  }
  return lines;
}

bool is_field_name_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 32 && u < 127 && c != ':';
}

// "rfc822; user@example.com" → "user@example.com" (the address type is dropped).
std::string after_type(std::string_view value) {
  size_t semi = value.find(';');
  if (semi != std::string_view::npos && semi < 40) {
    bool plain_type = true;
    for (char c : value.substr(0, semi)) plain_type = plain_type && c != ' ' && c != '<';
    if (plain_type) value.remove_prefix(semi + 1);
  }
  return std::string(trim(value));
}

std::string first_word(std::string_view value) {
  value = trim(value);
  size_t end = value.find_first_of(" \t(;");
  return std::string(value.substr(0, end));
}

std::string address_only(std::string value) {
  std::string_view v = trim(value);
  if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = v.substr(1, v.size() - 2);
  return std::string(trim(v));
}

}  // namespace

std::vector<std::vector<Field>> parse_field_blocks(std::string_view text) {
  std::vector<std::vector<Field>> blocks;
  std::vector<Field> current;
  bool last_was_field = false;
  for (std::string_view line : split_lines(text)) {
    if (trim(line).empty()) {
      if (!current.empty()) blocks.push_back(std::move(current));
      current.clear();
      last_was_field = false;
      continue;
    }
    if ((line[0] == ' ' || line[0] == '\t') && last_was_field) {
      std::string& value = current.back().value;
      std::string_view more = trim(line);
      if (!value.empty()) value += ' ';
      value.append(more);
      continue;
    }
    size_t colon = line.find(':');
    bool is_field = colon != std::string_view::npos && colon > 0;
    for (size_t i = 0; is_field && i < colon; ++i) is_field = is_field_name_char(line[i]);
    if (!is_field) {
      last_was_field = false;
      continue;
    }
    current.push_back({ascii_lower(line.substr(0, colon)),
                       std::string(trim(line.substr(colon + 1)))});
    last_was_field = true;
  }
  if (!current.empty()) blocks.push_back(std::move(current));
  return blocks;
}

std::vector<core::DeliveryStatus> parse_delivery_status(std::string_view text) {
  std::vector<core::DeliveryStatus> out;
  for (const auto& block : parse_field_blocks(text)) {
    core::DeliveryStatus status;
    std::string final_recipient, original_recipient;
    bool any = false;
    auto flush = [&] {
      if (!any) return;
      status.recipient = address_only(!final_recipient.empty() ? final_recipient
                                                               : original_recipient);
      out.push_back(std::move(status));
      status = {};
      final_recipient.clear();
      original_recipient.clear();
      any = false;
    };
    for (const Field& field : block) {
      if (field.name == "final-recipient") {
        // Broken reports run several recipients together without a blank line.
        if (!final_recipient.empty()) flush();
        final_recipient = after_type(field.value);
        any = true;
      } else if (field.name == "original-recipient") {
        if (!original_recipient.empty()) flush();
        original_recipient = after_type(field.value);
        any = true;
      } else if (field.name == "action") {
        status.action = ascii_lower(first_word(field.value));
        any = true;
      } else if (field.name == "status") {
        status.status = first_word(field.value);
        any = true;
      } else if (field.name == "diagnostic-code") {
        status.diagnostic = after_type(field.value);
      }
    }
    flush();
  }
  for (auto& s : out) {
    s.recipient = sanitize_utf8(s.recipient);
    s.action = sanitize_utf8(s.action);
    s.status = sanitize_utf8(s.status);
    s.diagnostic = sanitize_utf8(s.diagnostic);
  }
  return out;
}

std::string strip_message_id(std::string_view value) {
  value = trim(value);
  size_t open = value.find('<');
  if (open != std::string_view::npos) {
    size_t close = value.find('>', open + 1);
    if (close != std::string_view::npos) value = value.substr(open + 1, close - open - 1);
    else value = value.substr(open + 1);
  }
  value = trim(value);
  size_t blank = value.find_first_of(" \t");
  if (blank != std::string_view::npos) value = value.substr(0, blank);
  return sanitize_utf8(value);
}

std::string first_block_field(std::string_view text, std::string_view name) {
  auto blocks = parse_field_blocks(text);
  if (blocks.empty()) return "";
  for (const Field& field : blocks.front()) {
    if (field.name == name) return field.value;
  }
  return "";
}

std::string find_quoted_message_id(std::string_view text, std::string_view own_id) {
  auto lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    while (!line.empty() && (line[0] == '>' || line[0] == ' ' || line[0] == '\t')) {
      line.remove_prefix(1);
    }
    if (line.size() < 11 || ascii_lower(line.substr(0, 11)) != "message-id:") continue;
    std::string_view value = trim(line.substr(11));
    if (value.empty() && i + 1 < lines.size()) value = trim(lines[i + 1]);
    std::string id = strip_message_id(value);
    if (!id.empty() && id != own_id && id.find('@') != std::string::npos) return id;
  }
  return "";
}

}  // namespace escala::adapters::mail_codec_internal
