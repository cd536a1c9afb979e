// escala_loadgen: an HTTP/1.1 keep-alive load generator for the Escala API.
//
//   escala_loadgen --ports-file DATA/ports.json --email E --password P --mode create
//                  --connections 32 --duration 10 [--warmup 2]          closed loop
//   escala_loadgen ... --mode create --rate 1000 --connections 64         open loop
//   escala_loadgen ... --mode get --max-number 1000000
//   escala_loadgen ... --mode search --terms llamada,buzón,grandstream
//   escala_loadgen ... --mode create --ack-file acks.txt                  records every 201
//   escala_loadgen ... --mode verify --ack-file acks.txt                  checks them (GET)
//
// Closed loop: every connection sends its next request as soon as the previous answer
// arrives; latency runs from the send. Open loop (--rate): request i is due at
// start + i/rate whatever happens to earlier ones, and its latency runs from that scheduled
// instant, so a stalled server is charged for the requests it kept waiting (no coordinated
// omission). If every connection is busy, the request waits for one, and that wait counts.
//
// Output: one JSON object on stdout (requests, ok, errors by status and by I/O failure,
// throughput, latency percentiles in milliseconds; per-term figures for search).
// Depends on Boost.Asio/Beast (headers), Boost.System and threads only.

#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

namespace {

// ---- options ------------------------------------------------------------------------------

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string ports_file;
  std::string mode = "get";  // create | get | search | healthz | verify
  int connections = 32;
  int threads = 1;
  double duration = 10;
  double warmup = 0;
  double rate = 0;  // 0: closed loop
  std::string token, email, password;
  long long max_number = 1000;
  std::vector<std::string> terms;
  int limit = 50;
  std::string prefix = "CMW-";
  std::string ack_file;
  int timeout_ms = 10'000;
  std::string label;
  unsigned seed = 0;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "escala_loadgen: " << why << "\n"
            << "usage: escala_loadgen (--port N | --ports-file F) [--host H]\n"
               "  --mode create|get|search|healthz|verify  --connections N  --duration S\n"
               "  [--warmup S] [--rate R] [--threads T] [--token T | --email E --password P]\n"
               "  [--max-number N] [--terms a,b,c] [--limit N] [--prefix CMW-]\n"
               "  [--ack-file F] [--timeout-ms MS] [--label TEXT] [--seed N]\n";
  std::exit(2);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    if (!cur.empty()) out.push_back(cur);
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value for " + a);
      return argv[++i];
    };
    try {
      if (a == "--host") o.host = next();
      else if (a == "--port") o.port = std::stoi(next());
      else if (a == "--ports-file") o.ports_file = next();
      else if (a == "--mode") o.mode = next();
      else if (a == "--connections") o.connections = std::stoi(next());
      else if (a == "--threads") o.threads = std::stoi(next());
      else if (a == "--duration") o.duration = std::stod(next());
      else if (a == "--warmup") o.warmup = std::stod(next());
      else if (a == "--rate") o.rate = std::stod(next());
      else if (a == "--token") o.token = next();
      else if (a == "--email") o.email = next();
      else if (a == "--password") o.password = next();
      else if (a == "--max-number") o.max_number = std::stoll(next());
      else if (a == "--terms") o.terms = split(next(), ',');
      else if (a == "--limit") o.limit = std::stoi(next());
      else if (a == "--prefix") o.prefix = next();
      else if (a == "--ack-file") o.ack_file = next();
      else if (a == "--timeout-ms") o.timeout_ms = std::stoi(next());
      else if (a == "--label") o.label = next();
      else if (a == "--seed") o.seed = static_cast<unsigned>(std::stoul(next()));
      else if (a == "--help" || a == "-h") usage("help");
      else usage("unknown option " + a);
    } catch (const std::logic_error&) {
      usage("bad value for " + a);
    }
  }
  if (o.mode != "create" && o.mode != "get" && o.mode != "search" && o.mode != "healthz" &&
      o.mode != "verify")
    usage("--mode must be create, get, search, healthz or verify");
  if (o.mode == "search" && o.terms.empty()) usage("--mode search needs --terms");
  if (o.mode == "verify" && o.ack_file.empty()) usage("--mode verify needs --ack-file");
  if (o.connections < 1 || o.threads < 1 || o.duration <= 0 || o.warmup < 0 || o.rate < 0 ||
      o.max_number < 1)
    usage("counts and durations must be positive");
  o.threads = std::min(o.threads, o.connections);
  if (o.port == 0 && o.ports_file.empty()) usage("give --port or --ports-file");
  return o;
}

// Reads {"http":N} as written by `escala serve`.
int read_port(const std::string& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  auto k = s.find("\"http\"");
  if (k == std::string::npos) return 0;
  auto c = s.find(':', k);
  if (c == std::string::npos) return 0;
  return std::atoi(s.c_str() + c + 1);
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// The string value of "key":"..." in a flat JSON text (enough for tokens and numbers).
std::string json_string_field(const std::string& body, const std::string& key) {
  const std::string k = "\"" + key + "\"";
  auto p = body.find(k);
  if (p == std::string::npos) return {};
  p = body.find(':', p + k.size());
  if (p == std::string::npos) return {};
  p = body.find('"', p);
  if (p == std::string::npos) return {};
  auto e = body.find('"', p + 1);
  if (e == std::string::npos) return {};
  return body.substr(p + 1, e - p - 1);
}

// One blocking request, for the login and for verification.
struct SyncClient {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  std::string host;
  int port;
  bool connected = false;

  SyncClient(std::string h, int p) : host(std::move(h)), port(p) {}

  bool request(const std::string& method, const std::string& target, const std::string& body,
               const std::string& token, int& status, std::string& out) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      beast::error_code ec;
      if (!connected) {
        stream.expires_after(10s);
        stream.connect(tcp::endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port)), ec);
        if (ec) return false;
        connected = true;
      }
      bhttp::request<bhttp::string_body> req{method == "POST" ? bhttp::verb::post : bhttp::verb::get,
                                             target, 11};
      req.set(bhttp::field::host, host);
      if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
      if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
      stream.expires_after(30s);
      bhttp::write(stream, req, ec);
      bhttp::response<bhttp::string_body> res;
      if (!ec) bhttp::read(stream, buffer, res, ec);
      if (ec) {
        stream.socket().close(ec);
        connected = false;
        buffer.clear();
        continue;  // a stale keep-alive connection: retry once on a fresh one
      }
      status = static_cast<int>(res.result_int());
      out = std::move(res.body());
      if (!res.keep_alive()) {
        stream.socket().close(ec);
        connected = false;
      }
      return true;
    }
    return false;
  }
};

std::string login(const Options& o) {
  SyncClient c(o.host, o.port);
  int status = 0;
  std::string body;
  const std::string req = "{\"email\":\"" + json_escape(o.email) + "\",\"password\":\"" +
                          json_escape(o.password) + "\"}";
  if (!c.request("POST", "/api/v1/auth/login", req, "", status, body)) {
    std::cerr << "escala_loadgen: cannot reach " << o.host << ":" << o.port << "\n";
    std::exit(1);
  }
  if (status != 200) {
    std::cerr << "escala_loadgen: login failed (" << status << "): " << body << "\n";
    std::exit(1);
  }
  auto t = json_string_field(body, "token");
  if (t.empty()) {
    std::cerr << "escala_loadgen: no token in " << body << "\n";
    std::exit(1);
  }
  return t;
}

// ---- realistic create bodies ----------------------------------------------------------------

const char* const kProblems[] = {
    "sin audio", "no recibe llamadas", "no puede marcar", "llamadas se cortan",
    "audio en una sola vía", "eco en la llamada", "da tono de ocupado (486)",
    "no registra en el SIP", "buzón de voz no funciona", "troncal caída",
    "one-way audio", "calls drop after 30 seconds", "busy signal on inbound calls",
    "Teams no timbra", "desvío no funciona", "error 503 del carrier",
    "la grabación no se guarda", "cola de espera no reparte", "jitter alto", "latencia alta"};
const char* const kDetails[] = {
    "El cliente reporta que desde esta mañana la extensión no recibe llamadas entrantes.",
    "Las llamadas salientes hacia celulares fallan con 486 ocupado desde el carrier.",
    "Se reinició el teléfono y sigue igual; el registro SIP aparece intermitente.",
    "Customer says outbound calls to Mexico get a fast busy; inbound works fine.",
    "En Microsoft Teams la llamada entra pero no hay audio en ninguna dirección.",
    "La troncal principal tiene pérdida de paquetes y la voz se escucha entrecortada.",
    "El buzón de voz no envía la notificación por correo electrónico.",
    "After the firewall change, SIP registrations expire and calls fail with 408.",
    "El conmutador transfiere la llamada pero la cola no la entrega a ningún agente.",
    "Los usuarios escuchan eco cuando llaman a números de larga distancia."};
const char* const kDirections[] = {"inbound", "outbound"};

std::string make_create_body(std::mt19937_64& rng, const std::string& tag) {
  char ext[8], num[24];
  std::snprintf(ext, sizeof ext, "%d", 100 + static_cast<int>(rng() % 900));
  std::snprintf(num, sizeof num, "+52155%08d", static_cast<int>(rng() % 100000000));
  const char* problem = kProblems[rng() % std::size(kProblems)];
  const char* detail = kDetails[rng() % std::size(kDetails)];
  const char* dir = kDirections[rng() % 2];
  int day = 1 + static_cast<int>(rng() % 28), hour = static_cast<int>(rng() % 24),
      minute = static_cast<int>(rng() % 60);
  char when[40];
  std::snprintf(when, sizeof when, "2026-11-%02dT%02d:%02d:00-06:00", day, hour, minute);
  std::string b;
  b.reserve(600);
  b += "{\"type\":\"incident\",\"subject\":\"Extensión ";
  b += ext;
  b += ' ';
  b += problem;
  b += ' ';
  b += tag;
  b += "\",\"description\":\"";
  b += detail;
  b += "\",\"channel\":\"phone\",\"fields\":{\"extension\":\"";
  b += ext;
  b += "\",\"direction\":\"";
  b += dir;
  b += "\",\"counterpart_number\":\"";
  b += num;
  b += "\",\"occurred_at\":\"";
  b += when;
  b += "\"}}";
  return b;
}

// ---- statistics -----------------------------------------------------------------------------

struct Stats {
  std::vector<int64_t> latency_ns;  // of every counted request, ok or not
  std::vector<std::vector<int64_t>> by_term;
  int64_t requests = 0, ok = 0, completed_in_window = 0, late_starts = 0;
  std::map<int, int64_t> status_errors;
  std::map<std::string, int64_t> io_errors;
  std::vector<std::pair<std::string, std::string>> acks;  // number, tag
};

double percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t idx = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) ;
  if (idx > 0) --idx;
  idx = std::min(idx, v.size() - 1);
  return static_cast<double>(v[idx]) / 1e6;
}

std::string latency_json(std::vector<int64_t>& v) {
  std::sort(v.begin(), v.end());
  double mean = 0;
  for (auto x : v) mean += static_cast<double>(x);
  mean = v.empty() ? 0 : mean / static_cast<double>(v.size()) / 1e6;
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "{\"count\": %zu, \"mean\": %.3f, \"p50\": %.3f, \"p90\": %.3f, \"p95\": %.3f, "
                "\"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f}",
                v.size(), mean, percentile(v, 50), percentile(v, 90), percentile(v, 95),
                percentile(v, 99), percentile(v, 99.9), v.empty() ? 0.0 : static_cast<double>(v.back()) / 1e6);
  return buf;
}

// ---- the load ---------------------------------------------------------------------------------

struct Shared {
  Options opt;
  std::string token;
  Clock::time_point start, measure_from, end;
  std::chrono::nanoseconds interval{0};
  std::atomic<int64_t> next_slot{0};
  std::atomic<int64_t> next_tag{0};
  std::string run_id;
  std::vector<std::string> search_targets;
};

class Worker {
 public:
  Worker(Shared& sh, int index) : sh_(sh), index_(index), rng_(sh.opt.seed * 1000003ULL + index + 1) {
    stats_.by_term.resize(sh.search_targets.size());
  }

  void run(int connections) {
    for (int c = 0; c < connections; ++c)
      asio::co_spawn(ioc_, connection(c), asio::detached);
    ioc_.run();
  }

  Stats& stats() { return stats_; }

 private:
  // What to send next: the request and, for search, which term it carries.
  void build(bhttp::request<bhttp::string_body>& req, int& term, std::string& tag, int conn) {
    const Options& o = sh_.opt;
    term = -1;
    req = {};
    req.version(11);
    req.set(bhttp::field::host, o.host);
    if (!sh_.token.empty()) req.set(bhttp::field::authorization, "Bearer " + sh_.token);
    if (o.mode == "create") {
      req.method(bhttp::verb::post);
      req.target("/api/v1/cases");
      req.set(bhttp::field::content_type, "application/json");
      tag = "lg" + sh_.run_id + "x" + std::to_string(sh_.next_tag.fetch_add(1));
      req.body() = make_create_body(rng_, tag);
    } else if (o.mode == "get") {
      req.method(bhttp::verb::get);
      std::uniform_int_distribution<long long> d(1, o.max_number);
      char num[32];
      std::snprintf(num, sizeof num, "%06lld", d(rng_));
      req.target("/api/v1/cases/" + o.prefix + num);
    } else if (o.mode == "search") {
      req.method(bhttp::verb::get);
      term = static_cast<int>((search_counter_++ + static_cast<uint64_t>(conn)) % sh_.search_targets.size());
      req.target(sh_.search_targets[term]);
    } else {
      req.method(bhttp::verb::get);
      req.target("/healthz");
    }
    req.prepare_payload();
  }

  asio::awaitable<void> connection(int conn) {
    const Options& o = sh_.opt;
    const bool open_loop = o.rate > 0;
    auto ex = co_await asio::this_coro::executor;
    tcp::endpoint ep(asio::ip::make_address(o.host), static_cast<unsigned short>(o.port));
    std::unique_ptr<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    asio::steady_timer timer(ex);
    bhttp::request<bhttp::string_body> req;
    if (Clock::now() < sh_.start) {  // every connection starts together
      timer.expires_at(sh_.start);
      co_await timer.async_wait(kTuple);
    }
    for (;;) {
      Clock::time_point sched;
      if (open_loop) {
        const int64_t slot = sh_.next_slot.fetch_add(1);
        sched = sh_.start + sh_.interval * slot;
        if (sched >= sh_.end) break;
        if (Clock::now() < sched) {
          timer.expires_at(sched);
          co_await timer.async_wait(kTuple);
        } else if (Clock::now() - sched > 1ms) {
          ++stats_.late_starts;  // no free connection when it was due
        }
      } else {
        sched = Clock::now();
        if (sched >= sh_.end) break;
      }
      const bool counted = sched >= sh_.measure_from;
      if (!stream) {
        stream = std::make_unique<beast::tcp_stream>(ex);
        buffer.clear();
        stream->expires_after(std::chrono::milliseconds(o.timeout_ms));
        auto [ec] = co_await stream->async_connect(ep, kTuple);
        if (ec) {
          stream.reset();
          if (counted) {
            ++stats_.requests;
            ++stats_.io_errors["connect: " + ec.message()];
          }
          if (!open_loop) {  // back off a little rather than spin on a dead server
            timer.expires_after(20ms);
            co_await timer.async_wait(kTuple);
          }
          continue;
        }
        stream->socket().set_option(tcp::no_delay(true));
      }
      int term = -1;
      std::string tag;
      build(req, term, tag, conn);
      stream->expires_after(std::chrono::milliseconds(o.timeout_ms));
      auto [wec, wn] = co_await bhttp::async_write(*stream, req, kTuple);
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(64 << 20);
      beast::error_code rec = wec;
      if (!wec) {
        auto [ec2, rn] = co_await bhttp::async_read(*stream, buffer, parser, kTuple);
        rec = ec2;
      }
      const auto done = Clock::now();
      if (rec) {
        stream.reset();
        if (counted) {
          ++stats_.requests;
          ++stats_.io_errors[(wec ? "write: " : "read: ") + rec.message()];
          stats_.latency_ns.push_back((done - sched).count());
        }
        if (!open_loop) {
          timer.expires_after(20ms);
          co_await timer.async_wait(kTuple);
        }
        continue;
      }
      auto& res = parser.get();
      const int status = static_cast<int>(res.result_int());
      // An acknowledged create is recorded even outside the window: the crash test needs all.
      if (o.mode == "create" && status == 201) {
        std::string loc(res[bhttp::field::location]);
        auto slash = loc.rfind('/');
        stats_.acks.emplace_back(slash == std::string::npos ? loc : loc.substr(slash + 1), tag);
      }
      if (counted) {
        ++stats_.requests;
        const int64_t ns = (done - sched).count();
        stats_.latency_ns.push_back(ns);
        if (term >= 0) stats_.by_term[term].push_back(ns);
        if (status >= 200 && status < 300) ++stats_.ok;
        else ++stats_.status_errors[status];
        if (done <= sh_.end) ++stats_.completed_in_window;
      }
      if (!res.keep_alive()) stream.reset();
    }
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
  }

  Shared& sh_;
  int index_;
  std::mt19937_64 rng_;
  asio::io_context ioc_{1};
  Stats stats_;
  uint64_t search_counter_ = 0;
};

int verify(const Options& o, const std::string& token) {
  std::ifstream in(o.ack_file);
  if (!in) {
    std::cerr << "escala_loadgen: cannot read " << o.ack_file << "\n";
    return 1;
  }
  SyncClient c(o.host, o.port);
  std::string line;
  int64_t checked = 0, missing = 0, mismatched = 0, failed = 0;
  std::vector<std::string> bad;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto sp = line.find(' ');
    std::string number = line.substr(0, sp), tag = sp == std::string::npos ? "" : line.substr(sp + 1);
    int status = 0;
    std::string body;
    ++checked;
    if (!c.request("GET", "/api/v1/cases/" + number, "", token, status, body)) {
      ++failed;
      if (bad.size() < 20) bad.push_back(number + " (no answer)");
      continue;
    }
    if (status == 404) {
      ++missing;
      if (bad.size() < 20) bad.push_back(number + " (missing)");
    } else if (status != 200) {
      ++failed;
      if (bad.size() < 20) bad.push_back(number + " (HTTP " + std::to_string(status) + ")");
    } else if (!tag.empty() && body.find(tag) == std::string::npos) {
      ++mismatched;  // the number now holds another case: a reused number
      if (bad.size() < 20) bad.push_back(number + " (holds another case)");
    }
  }
  std::cout << "{\"mode\": \"verify\", \"ack_file\": \"" << json_escape(o.ack_file)
            << "\", \"checked\": " << checked << ", \"missing\": " << missing
            << ", \"mismatched\": " << mismatched << ", \"failed\": " << failed
            << ", \"examples\": [";
  for (size_t i = 0; i < bad.size(); ++i) std::cout << (i ? ", " : "") << '"' << bad[i] << '"';
  std::cout << "]}\n";
  return (missing || mismatched || failed) ? 3 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_options(argc, argv);
  if (o.port == 0) {
    o.port = read_port(o.ports_file);
    if (o.port == 0) {
      std::cerr << "escala_loadgen: no port in " << o.ports_file << "\n";
      return 1;
    }
  }
  std::string token = o.token;
  if (token.empty() && !o.email.empty() && o.mode != "healthz") token = login(o);
  if (o.mode == "verify") return verify(o, token);

  Shared sh;
  sh.opt = o;
  sh.token = token;
  {
    std::random_device rd;
    sh.run_id = std::to_string(rd() % 1000000);
  }
  for (const auto& t : o.terms)
    sh.search_targets.push_back("/api/v1/cases?q=" + url_encode(t) +
                                "&limit=" + std::to_string(o.limit));
  if (o.rate > 0)
    sh.interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / o.rate));
  sh.start = Clock::now() + 50ms;  // leave time to start the threads
  sh.measure_from = sh.start + std::chrono::nanoseconds(static_cast<int64_t>(o.warmup * 1e9));
  sh.end = sh.measure_from + std::chrono::nanoseconds(static_cast<int64_t>(o.duration * 1e9));

  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) workers.push_back(std::make_unique<Worker>(sh, t));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    int conns = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    threads.emplace_back([&, t, conns] { workers[t]->run(conns); });
  }
  for (auto& th : threads) th.join();
  const auto finished = Clock::now();

  Stats all;
  all.by_term.resize(sh.search_targets.size());
  for (auto& w : workers) {
    Stats& s = w->stats();
    all.requests += s.requests;
    all.ok += s.ok;
    all.completed_in_window += s.completed_in_window;
    all.late_starts += s.late_starts;
    all.latency_ns.insert(all.latency_ns.end(), s.latency_ns.begin(), s.latency_ns.end());
    for (size_t i = 0; i < s.by_term.size(); ++i)
      all.by_term[i].insert(all.by_term[i].end(), s.by_term[i].begin(), s.by_term[i].end());
    for (auto& [k, v] : s.status_errors) all.status_errors[k] += v;
    for (auto& [k, v] : s.io_errors) all.io_errors[k] += v;
    all.acks.insert(all.acks.end(), s.acks.begin(), s.acks.end());
  }
  if (!o.ack_file.empty()) {
    std::ofstream out(o.ack_file);
    for (auto& [n, t] : all.acks) out << n << ' ' << t << '\n';
  }

  int64_t errors = all.requests - all.ok;
  const double window = o.duration;
  std::ostringstream js;
  js << "{\"mode\": \"" << o.mode << "\"";
  if (!o.label.empty()) js << ", \"label\": \"" << json_escape(o.label) << "\"";
  js << ", \"loop\": \"" << (o.rate > 0 ? "open" : "closed") << "\"";
  js << ", \"connections\": " << o.connections << ", \"threads\": " << o.threads;
  js << ", \"duration_s\": " << o.duration << ", \"warmup_s\": " << o.warmup;
  if (o.rate > 0) js << ", \"target_rate\": " << o.rate << ", \"late_starts\": " << all.late_starts;
  js << ", \"requests\": " << all.requests << ", \"ok\": " << all.ok;
  js << ", \"errors\": {\"total\": " << errors << ", \"status\": {";
  bool first = true;
  for (auto& [k, v] : all.status_errors) {
    js << (first ? "" : ", ") << '"' << k << "\": " << v;
    first = false;
  }
  js << "}, \"io\": {";
  first = true;
  for (auto& [k, v] : all.io_errors) {
    js << (first ? "" : ", ") << '"' << json_escape(k) << "\": " << v;
    first = false;
  }
  js << "}}";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(all.completed_in_window) / window);
  js << ", \"throughput_per_s\": " << buf;
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(all.ok) / window);
  js << ", \"ok_per_s\": " << buf;
  if (o.mode == "create") js << ", \"acknowledged\": " << all.acks.size();
  js << ", \"latency_ms\": " << latency_json(all.latency_ns);
  if (o.mode == "search") {
    js << ", \"by_term\": {";
    for (size_t i = 0; i < o.terms.size(); ++i)
      js << (i ? ", " : "") << '"' << json_escape(o.terms[i]) << "\": " << latency_json(all.by_term[i]);
    js << "}";
  }
  std::snprintf(buf, sizeof buf, "%.2f",
                std::chrono::duration<double>(finished - sh.start).count());
  js << ", \"wall_s\": " << buf;
  {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    std::snprintf(buf, sizeof buf, "%.2f", cpu);
    js << ", \"loadgen_cpu_s\": " << buf;
  }
  js << "}";
  std::cout << js.str() << std::endl;
  return 0;
}
