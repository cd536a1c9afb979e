#include "core/defaults.hpp"

#include "core/calendar.hpp"
#include "core/escalation.hpp"

namespace escala::core {

Json deck_defaults() {
  return Json{
      {"case_number_prefix", "CMW-"},
      {"mailboxes",
       Json::array({
           {{"address", "suporte@callmyway.com"},
            {"purpose", "General requests (R1.1)"},
            {"default_case_type", "request"},
            {"language", "es"},
            {"queue", "general"},
            {"available", "24x7"}},
           {{"address", "sosporte24@callmyway.com"},
            {"purpose", "Incident registration, 24/7 (R1.1, R3.1)"},
            {"default_case_type", "incident"},
            {"language", "es"},
            {"queue", "incidents"},
            {"available", "24x7"}},
       })},
      {"phone_numbers",
       Json::array({
           {{"country", "MX"}, {"name", "México"}, {"number", "+525541708422"}, {"channels", {"phone"}}},
           {{"country", "US"}, {"name", "USA"}, {"number", "+13056445535"}, {"channels", {"phone"}}},
           {{"country", "CO"}, {"name", "Colombia"}, {"number", "+5715189663"}, {"channels", {"phone"}}},
           {{"country", "CR"}, {"name", "Costa Rica (línea gratuita)"}, {"number", "+5068008000202"}, {"channels", {"phone"}}},
           {{"country", "CR"}, {"name", "Costa Rica"}, {"number", "+50640004000"}, {"channels", {"phone", "whatsapp"}}},
           {{"country", "PE"}, {"name", "Perú"}, {"number", "+5116409850"}, {"channels", {"phone"}}},
           {{"country", "CL"}, {"name", "Chile"}, {"number", "+56227609072"}, {"channels", {"phone"}}},
           {{"country", "PA"}, {"name", "Panamá"}, {"number", "+5078366060"}, {"channels", {"phone"}}},
       })},
      {"hours",
       {{"live_channels_calendar", "support"},
        {"email_calendar", "24x7"},
        {"note", "L-V 06:00-21:00, S-D 07:00-17:00 (GMT-6), jornada continua; correo 24x7"}}},
      {"levels",
       Json::array({
           {{"level", 1}, {"name_es", "Primer Nivel"}, {"name_en", "Level 1"},
            {"description", "Service Center: takes every new case"}},
           {{"level", 2}, {"name_es", "Segundo Nivel"}, {"name_en", "Level 2"},
            {"description", "Specialised technicians"}},
           {{"level", 3}, {"name_es", "Tercer Nivel"}, {"name_en", "Level 3"},
            {"description", "Advanced support, receives cases from level 2"}},
       })},
      {"severities",
       Json::array({
           {{"severity", "S1"}, {"name_es", "Crítica"}, {"name_en", "Critical"},
            {"response_seconds", 3600}, {"resolution_seconds", 3 * 3600}, {"calendar", "24x7"}},
           {{"severity", "S2"}, {"name_es", "Alta"}, {"name_en", "High"},
            {"response_seconds", 5400}, {"resolution_seconds", 4 * 3600}, {"calendar", "support"}},
           {{"severity", "S3"}, {"name_es", "Normal"}, {"name_en", "Normal"},
            {"response_seconds", 7200}, {"resolution_seconds", 4 * 3600}, {"calendar", "support"}},
           {{"severity", "S4"}, {"name_es", "Bajo impacto"}, {"name_en", "Low"},
            {"response_seconds", 7200}, {"resolution_seconds", 4 * 3600}, {"calendar", "support"}},
       })},
      {"severity_matrix",
       {{"outage", {{"one", "S2"}, {"several", "S1"}, {"all", "S1"}}},
        {"serious", {{"one", "S2"}, {"several", "S2"}, {"all", "S1"}}},
        {"degraded", {{"one", "S3"}, {"several", "S3"}, {"all", "S2"}}},
        {"none", {{"one", "S4"}, {"several", "S4"}, {"all", "S4"}}}}},
      {"reopen_window_days", 30},
      {"sla_warn_percent", 75},
      {"escalation_rules", rules_to_json(default_rules())},
      // R1.6: live channels keep these hours; email and S1 (D2) count around the clock.
      {"calendars", Json::array({calendar_to_json(support_calendar()),
                                 calendar_to_json(always_open_calendar())})},
  };
}

}  // namespace escala::core
