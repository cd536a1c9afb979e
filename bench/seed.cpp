// escala_seed: fills a data directory with N realistic cases, fast, for the benchmarks.
//
//   escala_seed --data-dir DIR [--cases 1000000] [--threads 32] [--accounts 200]
//
// Cases go through the real store (SqliteStore::create, group commit) and the real domain
// rules (core::open_case), so rows, events, the FTS index and the counters are exactly what
// the server would have written; only synchronous=NORMAL (no fsync per commit) makes it
// quicker. Text is Spanish/English telephony vocabulary drawn from a Zipf distribution, so
// there are very frequent words (in most cases), medium ones and rare ones; DIR/terms.tsv
// lists how many cases contain each word, to choose search terms by frequency.
// Create the admin user afterwards with `escala user add` (bench/run.sh does).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "adapters/sqlite_store/sqlite_store.hpp"
#include "core/calendar.hpp"
#include "core/lifecycle.hpp"
#include "services/calendar_set.hpp"
#include "core/text.hpp"

namespace {

using namespace escala;
using Json = core::Json;

// Content words, most frequent first (rank r drawn with probability ~ 1/r). Accented words
// are spread over the ranks so that accent-insensitive search is exercised at all
// frequencies.
const std::vector<std::string> kContent = {
    "llamada", "extensión", "llamadas", "cliente", "audio", "troncal", "número", "usuario",
    "SIP", "entrante", "saliente", "carrier", "error", "línea", "teléfono", "registro", "buzón",
    "voz", "call", "calls", "extension", "Teams", "ocupado", "corte", "desvío", "cola",
    "transferencia", "conmutador", "marcación", "tono", "eco", "latencia", "jitter", "códec",
    "grabación", "conferencia", "timbrado", "grupo", "IVR", "menú", "operadora", "DID",
    "portabilidad", "factura", "cuenta", "contraseña", "correo", "notificación", "celular",
    "móvil", "fijo", "larga", "distancia", "internacional", "nacional", "local", "intermitente",
    "caída", "lenta", "entrecortada", "silencio", "ruido", "estática", "congelada", "perdida",
    "inbound", "outbound", "trunk", "voicemail", "busy", "dropped", "registration", "firewall",
    "NAT", "puerto", "router", "switch", "VLAN", "QoS", "ancho", "banda", "paquetes",
    "pérdida", "retardo", "servidor", "proveedor", "softphone", "Zoiper", "Yealink", "Polycom",
    "Cisco", "Grandstream", "Fanvil", "Snom", "Asterisk", "FreePBX", "Kamailio", "WebRTC",
    "navegador", "Chrome", "Firefox", "Windows", "Android", "iPhone", "aplicación",
    "actualización", "versión", "firmware", "reinicio", "configuración", "contestadora",
    "horario", "festivo", "recepción", "recepcionista", "agente", "supervisor", "reporte",
    "estadísticas", "grabaciones", "descarga", "almacenamiento", "espacio", "licencia",
    "activación", "alta", "baja", "cambio", "migración", "tránsito", "enrutamiento", "ruta",
    "prefijo", "marcado", "plan", "tarifa", "saldo", "recarga", "crédito", "cobro", "cargo",
    "sucursal", "oficina", "matriz", "bodega", "almacén", "tienda", "hospital", "escuela",
    "despacho", "consultorio", "hotel", "restaurante", "gerente", "director", "asistente",
    "ventas", "soporte", "cobranza", "compras", "sistemas", "TI", "red", "cableado", "switchboard",
    "headset", "diadema", "auricular", "micrófono", "bocina", "altavoz", "volumen", "tecla",
    "pantalla", "botón", "LED", "parpadea", "apagado", "encendido", "energía", "PoE",
    "eliminador", "cable", "conector", "RJ45", "Ethernet", "WiFi", "inalámbrico", "DECT",
    "base", "repetidor", "cobertura", "señal", "intensidad", "interferencia", "fax", "T38",
    "módem", "alarma", "elevador", "portero", "intercomunicador", "emergencia", "911",
    "ambulancia", "bomberos", "policía", "fraude", "hackeo", "bloqueo", "lista", "negra",
    "spam", "robocall", "identificador", "CallerID", "privado", "anónimo", "oculto",
    "presentación", "nombre", "display", "pickup", "captura", "estacionamiento", "parking",
    "retención", "música", "espera", "anuncio", "bienvenida", "mensaje", "prompt", "locución",
    "idioma", "inglés", "español", "portugués", "traducción", "transcripción", "SMS",
    "WhatsApp", "chat", "widget", "click2call", "portal", "web", "API", "webhook", "token",
    "integración", "CRM", "Salesforce", "HubSpot", "Zendesk", "Odoo", "SAP", "Excel", "CSV",
    "exportar", "importar", "contactos", "agenda", "directorio", "LDAP", "Active", "Directory",
    "Azure", "Microsoft", "Office", "Outlook", "Exchange", "Google", "Workspace", "Gmail",
    "calendario", "reunión", "videollamada", "cámara", "compartir", "escritorio", "grabar",
    "BLF", "presencia", "estado", "disponible", "ausente", "ocupada", "DND", "molestar",
    "sígueme", "followme", "simultáneo", "secuencial", "timbra", "timbre", "melodía",
    "Opus", "G711", "G729", "G722", "PCMU", "PCMA", "RTP", "SRTP", "TLS", "STUN", "TURN",
    "ICE", "SBC", "SDP", "INVITE", "BYE", "CANCEL", "REGISTER", "OPTIONS", "ACK", "PRACK",
    "Kubernetes", "Docker", "Debian", "Ubuntu", "CentOS", "monitoreo", "Zabbix", "Grafana",
    "Prometheus", "OpenSIPS", "rtpengine", "Homer", "sngrep", "tcpdump", "Wireshark", "pcap",
    "ñandú", "guía", "averiguación", "pingüino", "cigüeña"};

const std::vector<std::string> kStop = {
    "de", "la", "el", "en", "y", "que", "los", "las", "por", "para", "una", "un", "se", "del",
    "al", "no", "con", "sin", "desde", "hacia", "su", "sus", "es", "está", "pero", "muy",
    "también", "después", "antes", "cuando", "hoy", "ayer", "mañana", "the", "to", "of", "and",
    "is", "when", "from", "on", "at", "after", "since", "not", "all"};

// Where the customer is: one town in about half of the cases, Zipf-distributed, so the last
// ones are rare (about 0.1% of cases) and many carry accents.
const std::vector<std::string> kTowns = {
    "Monterrey", "Guadalajara", "Querétaro", "Puebla", "Tijuana", "León", "Mérida", "Cancún",
    "Toluca", "Chihuahua", "Saltillo", "Aguascalientes", "Morelia", "Hermosillo", "Culiacán",
    "Torreón", "Veracruz", "Acapulco", "Oaxaca", "Tampico", "Reynosa", "Mexicali", "Durango",
    "Zacatecas", "Pachuca", "Cuernavaca", "Xalapa", "Villahermosa", "Tuxtla", "Campeche",
    "Colima", "Tepic", "Tlaxcala", "Irapuato", "Celaya", "Ensenada", "Matamoros", "Nogales",
    "Mazatlán", "Cuautla", "Bogotá", "Medellín", "Cali", "Lima", "Quito", "Santiago",
    "Montevideo", "Asunción", "Panamá", "Managua", "Tegucigalpa", "Guatemala", "Miami",
    "Houston", "Madrid", "Sevilla", "Valparaíso", "Cusco", "Arequipa", "Ushuaia"};

const std::vector<std::string> kSipCodes = {"486", "503", "404", "408", "480", "487", "603",
                                            "488", "500", "183", "401", "403"};

const std::vector<std::string> kReplies = {
    "Hola, ya revisamos la extensión y el registro SIP está activo. ¿Puede intentar de nuevo?",
    "Reiniciamos el troncal con el carrier; las llamadas entrantes ya deberían llegar.",
    "We reprovisioned the phone and the registration is back. Please confirm calls work.",
    "Se corrigió la ruta de salida; el 486 venía del carrier por un límite de canales.",
    "El buzón de voz quedó configurado para enviar la notificación por correo.",
    "Cambiamos el códec a G711 y el audio ya se escucha en ambas direcciones.",
    "Abrimos el puerto RTP en el firewall del cliente; el audio de una vía quedó resuelto.",
    "La cola de timbrado ya reparte las llamadas entre los agentes disponibles.",
    "Actualizamos el firmware del teléfono Yealink y el problema desapareció.",
    "Teams ya timbra: faltaba asignar la licencia de Phone System al usuario."};

class Zipf {
 public:
  Zipf(size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) cdf_[i] = (sum += 1.0 / std::pow(static_cast<double>(i + 1), s));
    for (auto& c : cdf_) c /= sum;
  }
  size_t operator()(std::mt19937_64& rng) const {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

// Due instants as the server computes them, over the built-in calendars.

struct Generator {
  Zipf content{kContent.size(), 1.0};
  Zipf stop{kStop.size(), 1.0};
  Zipf towns{kTowns.size(), 1.1};

  // Appends a word of content (or, with probability p_stop, a stop word); records it.
  static void word(std::string& out, const std::string& w) {
    if (!out.empty()) out += ' ';
    out += w;
  }

  core::OpenCaseInput make(std::mt19937_64& rng, int accounts, std::vector<size_t>& used,
                           std::string& sample_ticket) const {
    core::OpenCaseInput in;
    const int kind = static_cast<int>(rng() % 100);
    in.type = kind < 75 ? core::CaseType::kIncident
              : kind < 95 ? core::CaseType::kRequest : core::CaseType::kActivation;
    static const char* kChannels[] = {"phone", "email", "chat", "portal", "whatsapp", "click2call"};
    in.channel = kChannels[rng() % std::size(kChannels)];
    char acc[16];
    std::snprintf(acc, sizeof acc, "CLI%04d", static_cast<int>(rng() % static_cast<unsigned>(accounts)) + 1);
    in.account = acc;
    const int ext = 100 + static_cast<int>(rng() % 900);
    char phone[24];
    std::snprintf(phone, sizeof phone, "+52155%08d", static_cast<int>(rng() % 100000000));

    auto content_word = [&]() -> const std::string& {
      size_t r = content(rng);
      used.push_back(r);
      return kContent[r];
    };
    // Subject: 3-7 content words, sometimes with the extension or a SIP code.
    std::string subject;
    const int sw = 3 + static_cast<int>(rng() % 5);
    for (int i = 0; i < sw; ++i) word(subject, content_word());
    if (rng() % 3 == 0) word(subject, std::to_string(ext));
    if (rng() % 5 == 0) word(subject, kSipCodes[rng() % kSipCodes.size()]);
    in.subject = subject;
    // Description: 15-60 words, about 40% stop words, a phone number now and then.
    std::string desc;
    const int dw = 15 + static_cast<int>(rng() % 46);
    for (int i = 0; i < dw; ++i) {
      if (rng() % 10 < 4) word(desc, kStop[stop(rng)]);
      else word(desc, content_word());
      if (i % 12 == 11) desc += '.';
    }
    if (rng() % 4 == 0) word(desc, phone);
    if (rng() % 4 == 0) word(desc, kSipCodes[rng() % kSipCodes.size()]);
    if (rng() % 2 == 0) {
      word(desc, "en");
      word(desc, kTowns[towns(rng)]);
    }
    // Identifiers an agent pastes into the search box: each is in one case or very few.
    if (rng() % 3 == 0) {
      char ref[24];
      std::snprintf(ref, sizeof ref, "TT%08llu", static_cast<unsigned long long>(rng() % 100000000));
      word(desc, "ticket del carrier");
      word(desc, ref);
      if (sample_ticket.empty()) sample_ticket = ref;
    }
    if (rng() % 5 == 0) {
      char mac[24];
      std::snprintf(mac, sizeof mac, "805ec0%06llx", static_cast<unsigned long long>(rng() % 0x1000000));
      word(desc, "MAC");
      word(desc, mac);
    }
    desc += '.';
    in.description = desc;

    if (in.type == core::CaseType::kIncident) {
      // 85% complete, 15% missing some data (awaiting_info).
      in.fields = Json::object();
      in.fields["extension"] = std::to_string(ext);
      in.fields["direction"] = rng() % 2 ? "inbound" : "outbound";
      if (rng() % 100 < 85) {
        in.fields["counterpart_number"] = phone;
        char when[40];
        std::snprintf(when, sizeof when, "2026-%02d-%02dT%02d:%02d:00-06:00",
                      1 + static_cast<int>(rng() % 12), 1 + static_cast<int>(rng() % 28),
                      static_cast<int>(rng() % 24), static_cast<int>(rng() % 60));
        in.fields["occurred_at"] = when;
      }
      static const char* kAffected[] = {"one", "several", "all"};
      static const char* kDisruption[] = {"outage", "serious", "degraded", "none"};
      in.impact = core::Impact{kAffected[rng() % 3], kDisruption[rng() % 4]};
    } else if (in.type == core::CaseType::kActivation) {
      in.fields = Json::object();
      in.fields["account_id"] = in.account;
      in.fields["user_full_name"] = "Usuario " + std::to_string(ext);
      in.fields["extension"] = std::to_string(ext);
      in.fields["direct_number"] = rng() % 2 == 0;
      in.fields["extension_type"] = "sip";
      in.fields["ring_groups"] = Json::array({"ventas"});
    }
    return in;
  }
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "escala_seed: " << why
            << "\nusage: escala_seed --data-dir DIR [--cases N] [--threads T] [--accounts A]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  long long total = 1'000'000;
  int threads = 32, accounts = 200;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value for " + a);
      return argv[++i];
    };
    if (a == "--data-dir") dir = next();
    else if (a == "--cases") total = std::stoll(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--accounts") accounts = std::stoi(next());
    else usage("unknown option " + a);
  }
  if (dir.empty()) usage("--data-dir is required");
  if (total < 1 || threads < 1 || accounts < 1) usage("counts must be positive");
  std::filesystem::create_directories(dir);

  const auto t0 = std::chrono::steady_clock::now();
  adapters::SqliteOptions opt;
  opt.path = (std::filesystem::path(dir) / "escala.db").string();
  opt.synchronous_full = false;
  auto opened = adapters::SqliteStore::open(opt);
  if (!opened.ok()) {
    std::cerr << "escala_seed: " << opened.error().message << "\n";
    return 1;
  }
  auto& store = **opened;

  // Cases are spread over the 700 days before now. Like a desk in service, those older than
  // a day were answered, resolved and closed (so no SLA clock is left running on them and
  // the server's SLA scheduler has no backlog to work off); the last day's stay open, and
  // the incidents that lack data stay awaiting_info.
  const Instant end = std::chrono::floor<Millis>(std::chrono::system_clock::now());
  const auto span = std::chrono::duration_cast<Millis>(std::chrono::hours(24 * 700));
  const Instant base = end - span;
  const Instant close_before = end - std::chrono::hours(24);
  for (int a = 1; a <= accounts; ++a) {
    core::Account acc;
    char code[16];
    std::snprintf(code, sizeof code, "CLI%04d", a);
    acc.code = code;
    acc.name = "Cliente " + std::to_string(a);
    acc.contract = core::Contract{"Plan " + std::to_string(a % 5), core::Money{150000, "MXN"}};
    acc.created_at = base;
    auto r = store.create_account(acc);
    if (!r.ok() && r.error().code != ErrorCode::kAlreadyExists) {
      std::cerr << "escala_seed: account " << code << ": " << r.error().message << "\n";
      return 1;
    }
  }

  services::CalendarSet due;  // the desk's built-in calendars
  core::CasePolicy policy;
  policy.due = &due;
  core::CaseContext ctx{&policy, core::Money{150000, "MXN"}, Seconds{-6 * 3600}};
  const core::Actor agent{2, core::Role::kAgent, 3, "", "Agente de carga"};
  Generator gen;

  std::atomic<long long> next{0}, done{0}, failed{0};
  std::mutex mu;
  std::vector<long long> doc_freq(kContent.size(), 0);
  std::string sample_ticket;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(12345 + static_cast<uint64_t>(t));
      std::vector<long long> local(kContent.size(), 0);
      std::vector<size_t> used;
      std::string ticket;
      for (;;) {
        const long long i = next.fetch_add(1);
        if (i >= total) break;
        used.clear();
        core::OpenCaseInput in = gen.make(rng, accounts, used, ticket);
        std::sort(used.begin(), used.end());
        used.erase(std::unique(used.begin(), used.end()), used.end());
        for (auto r : used) ++local[r];
        const Instant now = base + Millis{span.count() * i / total};
        const std::string& reply = kReplies[rng() % kReplies.size()];
        auto r = store.create([&](int64_t id) -> Result<core::Change> {
          auto ch = core::open_case(id, in, agent, now, ctx);
          if (!ch.ok() || now >= close_before || ch->after.status != core::CaseStatus::kOpen)
            return ch;
          // Answered, resolved, then closed by the desk.
          auto step = [&](Result<core::Change> more) -> bool {
            if (!more.ok()) return false;
            core::chain(*ch, std::move(more).value());
            return true;
          };
          const core::Case* c = &ch->after;
          if (!step(core::add_reply(*c, reply, false, false, agent, now + Seconds{900}, ctx)))
            return ch;
          c = &ch->after;
          if (!step(core::resolve(*c, reply, agent, now + Seconds{3 * 3600}, ctx))) return ch;
          c = &ch->after;
          step(core::confirm(*c, core::Actor::system(), now + Seconds{20 * 3600}, ctx));
          return ch;
        });
        if (!r.ok()) {
          if (failed.fetch_add(1) < 5) std::cerr << "escala_seed: " << r.error().message << "\n";
          continue;
        }
        const long long d = done.fetch_add(1) + 1;
        if (d % 100'000 == 0) {
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          std::fprintf(stderr, "escala_seed: %lld cases, %.1f s, %.0f cases/s\n", d, s, d / s);
        }
      }
      std::lock_guard lock(mu);
      for (size_t k = 0; k < local.size(); ++k) doc_freq[k] += local[k];
      if (sample_ticket.empty()) sample_ticket = ticket;
    });
  }
  for (auto& th : pool) th.join();
  opened->reset();  // closes the database (the writer drains and stops)
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Words by how many cases contain them (the folded form, as search sees it).
  {
    std::vector<std::pair<long long, std::string>> rows;
    for (size_t k = 0; k < kContent.size(); ++k) rows.emplace_back(doc_freq[k], kContent[k]);
    std::sort(rows.rbegin(), rows.rend());
    std::ofstream out(std::filesystem::path(dir) / "terms.tsv");
    out << "# cases containing the word (of " << done.load()
        << "), from the seed's generator; folded form in the third column\n";
    for (auto& [n, w] : rows) out << w << '\t' << n << '\t' << core::fold_for_search(w) << '\n';
    out << "# a carrier ticket reference that is in the data (a rare search term)\n"
        << "ticket\t" << sample_ticket << '\n';
  }
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(opt.path, ec);
  std::printf("{\"cases\": %lld, \"failed\": %lld, \"threads\": %d, \"seconds\": %.1f, "
              "\"cases_per_s\": %.0f, \"db_bytes\": %llu}\n",
              done.load(), failed.load(), threads, secs, done.load() / secs,
              static_cast<unsigned long long>(ec ? 0 : bytes));
  return failed.load() ? 1 : 0;
}
