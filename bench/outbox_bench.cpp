// Outbox delivery benchmark (issue 4: at least 1,000 messages/s delivered to a local
// relay). Fills a fresh SQLite desk's outbox with N typical acknowledgements, then lets
// the real OutboxSender (claim with lease → compose with GMime → send with libcurl → mark
// sent) drain it through `--connections` relay connections, and reports messages/s.
//
//   escala_outbox_bench --relay 127.0.0.1:PORT [--messages 20000] [--connections 4]
//                       [--data-dir /tmp/escala-outbox-bench]
//
// The relay is whatever listens there (bench/mail_bench.sh starts Debian's aiosmtpd with a
// sink handler). Prints one JSON object.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "adapters/sqlite_store/sqlite_store.hpp"
#include "adapters/system_clock/system_clock.hpp"
#include "app/server/mail_wiring.hpp"
#include "services/outbox_sender.hpp"

using namespace escala;

int main(int argc, char** argv) {
  std::string relay_arg, dir = "/tmp/escala-outbox-bench";
  int messages = 20000, connections = 4;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--relay") relay_arg = v;
    else if (k == "--messages") messages = std::stoi(v);
    else if (k == "--connections") connections = std::stoi(v);
    else if (k == "--data-dir") dir = v;
  }
  auto colon = relay_arg.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "usage: escala_outbox_bench --relay HOST:PORT [options]\n");
    return 2;
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  adapters::SqliteOptions so;
  so.path = dir + "/escala.db";
  auto store = adapters::SqliteStore::open(so);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  adapters::SystemClock clock;
  const Instant now = clock.now();
  // Typical acknowledgements, queued in batches of 500 per transaction.
  std::vector<core::OutboxMessage> batch;
  for (int i = 0; i < messages; ++i) {
    core::OutboxMessage m;
    m.kind = "acknowledgement";
    m.envelope_from = "sosporte24@callmyway.com";
    m.recipients = {"cliente" + std::to_string(i % 97) + "@acme.example"};
    m.mail.from = {"CallMyWay Soporte", "sosporte24@callmyway.com"};
    m.mail.to = {{"Cliente", m.recipients[0]}};
    m.mail.subject = "[CMW-" + std::to_string(100000 + i) + "] Extensión 204 sin tono";
    m.mail.text = "Hola:\n\nRecibimos su mensaje y abrimos el caso. Nuestro equipo ya lo está "
                  "revisando; le escribiremos con cada avance.\n\nPara agregar información, "
                  "responda a este correo conservando el número en el asunto.\n\nCallMyWay Soporte\n";
    m.mail.message_id = "bench." + std::to_string(i) + "@callmyway.com";
    m.mail.in_reply_to = {"customer." + std::to_string(i) + "@acme.example"};
    m.mail.auto_submitted = "auto-replied";
    m.mail.date = now;
    m.created_at = now;
    m.next_attempt_at = now;
    batch.push_back(std::move(m));
    if (batch.size() == 500 || i + 1 == messages) {
      core::InboundRecord r;
      r.key = "bench-fill-" + std::to_string(i);
      r.received_at = now;
      if (auto st = (*store)->record_inbound(r, {}, batch); !st.ok()) {
        std::fprintf(stderr, "%s\n", st.error().message.c_str());
        return 1;
      }
      batch.clear();
    }
  }
  adapters::smtp::SmtpRelay relay;
  relay.host = relay_arg.substr(0, colon);
  relay.port = static_cast<uint16_t>(std::stoi(relay_arg.substr(colon + 1)));
  app::GmimeCodec codec(25 * 1024 * 1024);
  services::OutboxOptions opt;
  opt.batch = 64;
  services::OutboxSender sender(
      **store, **store, codec,
      [&] { return std::make_unique<app::RelayTransport>(relay); }, clock, opt);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) threads.emplace_back([&] { sender.run(); });
  while (sender.sent() < messages) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (std::chrono::steady_clock::now() - t0 > std::chrono::minutes(5)) break;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sender.stop();
  for (auto& t : threads) t.join();
  long long failed = 0, pending = 0;
  if (auto counts = (*store)->outbox_counts(); counts.ok())
    for (const auto& [status, n] : *counts) {
      if (status == "failed") failed = n;
      if (status == "pending" || status == "sending") pending += n;
    }
  std::printf("{\"messages\": %d, \"sent\": %lld, \"failed\": %lld, \"pending\": %lld, "
              "\"connections\": %d, \"seconds\": %.2f, \"rate\": %.1f}\n",
              messages, static_cast<long long>(sender.sent()), failed, pending, connections,
              secs, static_cast<double>(sender.sent()) / secs);
  return sender.sent() == messages ? 0 : 1;
}
