#pragma once
// How SQL stores keep domain objects: the case as a JSON document beside the columns that
// queries filter on, times as Unix milliseconds. Shared by the SQLite and PostgreSQL stores.

#include <string>
#include <vector>

#include "core/mail.hpp"
#include "core/model.hpp"
#include "core/result.hpp"

namespace escala::adapters::sql {

std::string case_to_doc(const core::Case& c);
Result<core::Case> case_from_doc(const std::string& doc);

std::string contract_to_doc(const std::optional<core::Contract>& contract);
std::optional<core::Contract> contract_from_doc(const std::string& doc);

// The text the full-text index holds for a case, apart from messages.
std::string case_search_text(const core::Case& c);
// Text of an event that belongs in the index (public messages), else empty.
std::string event_search_text(const core::Event& e);
// The indexable text of a change's events, one line per event that has any.
std::string events_search_text(const std::vector<core::Event>& events);

// An outgoing message as the outbox keeps it (JSON).
std::string outbound_to_doc(const core::OutboundMail& m);
core::OutboundMail outbound_from_doc(const std::string& doc);

// Turns user input into an FTS query of quoted terms, all required; empty when no terms.
std::string fts_query(const std::string& text);

}  // namespace escala::adapters::sql
