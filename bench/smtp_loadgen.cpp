// SMTP load generator for the email channel's benchmark (issue 4: at least 1,000 messages/s
// of typical 10 KB messages, new cases and replies, with 16 concurrent clients; each 250
// comes only after the message is stored).
//
//   escala_smtp_loadgen --port N [--host 127.0.0.1] [--clients 16] [--seconds 10]
//                       [--size 10240] [--to sosporte24@callmyway.com] [--reply-every 2]
//                       [--attachment-mb 0] [--messages 0]
//
// Each client is a thread with a blocking socket and one SMTP session; it sends one
// message per transaction (MAIL, RCPT, DATA pipelined) and measures from the first byte of
// MAIL to the 250 after the data. Every `--reply-every`-th message of a client is a reply
// (In-Reply-To the client's previous new message): it joins that case instead of opening
// one. Prints one JSON object: messages, seconds, rate, latency percentiles, errors, and
// the answers of the last message (for a human to check). With --messages N each client
// sends exactly N messages instead of running for --seconds (used by the kill -9 check,
// which reads the acknowledged Message-IDs from --ack-log).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int clients = 16;
  double seconds = 10;
  size_t size = 10 * 1024;
  std::string to = "sosporte24@callmyway.com";
  int reply_every = 2;
  int attachment_mb = 0;
  long messages = 0;
  std::string ack_log;
  std::string tag = "load";
};

using Clock = std::chrono::steady_clock;

class Conn {
 public:
  bool open(const Options& o) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(o.port));
    inet_pton(AF_INET, o.host.c_str(), &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }
  ~Conn() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool send_all(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // One reply (multi-line replies end with "NNN " ); returns the code, 0 on a broken link.
  int reply(std::string* text = nullptr) {
    for (;;) {
      auto eol = buf_.find("\r\n");
      if (eol != std::string::npos) {
        std::string line = buf_.substr(0, eol);
        buf_.erase(0, eol + 2);
        if (line.size() >= 4 && line[3] == '-') continue;
        if (text) *text = line;
        return line.size() >= 3 ? std::atoi(line.substr(0, 3).c_str()) : 0;
      }
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return 0;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

std::string body_text(size_t size, std::mt19937& rng) {
  static const char* kWords[] = {"la", "extensión", "no", "tiene", "tono", "llamadas",
                                 "salientes", "fallan", "desde", "ayer", "por", "la",
                                 "tarde", "cliente", "reporta", "corte", "audio", "SIP"};
  std::string out = "Hola, buen día.\r\nExtensión: 204\r\nTráfico: saliente\r\n"
                    "Número contraparte: +52 55 1234 5678\r\nFecha y hora: 26/11 10:30\r\n\r\n";
  size_t col = 0;
  while (out.size() < size) {
    const char* w = kWords[rng() % std::size(kWords)];
    out += w;
    col += std::strlen(w) + 1;
    if (col > 70) {
      out += "\r\n";
      col = 0;
    } else {
      out += ' ';
    }
  }
  return out + "\r\n";
}

std::string base64_block(size_t bytes, std::mt19937& rng) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  const size_t chars = (bytes + 2) / 3 * 4;
  out.reserve(chars + chars / 76 * 2 + 4);
  for (size_t i = 0; i < chars; ++i) {
    out += kAlphabet[rng() % 64];
    if ((i + 1) % 76 == 0) out += "\r\n";
  }
  return out + "\r\n";
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host") o.host = v;
    else if (k == "--port") o.port = std::stoi(v);
    else if (k == "--clients") o.clients = std::stoi(v);
    else if (k == "--seconds") o.seconds = std::stod(v);
    else if (k == "--size") o.size = std::stoul(v);
    else if (k == "--to") o.to = v;
    else if (k == "--reply-every") o.reply_every = std::stoi(v);
    else if (k == "--attachment-mb") o.attachment_mb = std::stoi(v);
    else if (k == "--messages") o.messages = std::stol(v);
    else if (k == "--ack-log") o.ack_log = v;
    else if (k == "--tag") o.tag = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.port <= 0) {
    std::fprintf(stderr, "usage: escala_smtp_loadgen --port N [options]\n");
    return 2;
  }
  std::atomic<bool> stop{false};
  std::atomic<long> errors{0};
  std::mutex mu;
  std::vector<double> latencies;
  std::string last_answer;
  std::ofstream ack(o.ack_log.empty() ? "/dev/null" : o.ack_log, std::ios::app);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 rng(static_cast<unsigned>(c * 7919 + 1));
      std::vector<double> mine;
      std::vector<std::string> acked;
      Conn conn;
      std::string line;
      if (!conn.open(o) || conn.reply() != 220 || !conn.send_all("EHLO load.test\r\n") ||
          conn.reply() != 250) {
        errors.fetch_add(1);
        return;
      }
      const std::string text = body_text(o.size, rng);
      const std::string attachment =
          o.attachment_mb > 0 ? base64_block(static_cast<size_t>(o.attachment_mb) << 20, rng) : "";
      std::string last_new_id;
      for (long i = 0;; ++i) {
        if (o.messages > 0 ? i >= o.messages : stop.load()) break;
        const bool reply = o.reply_every > 0 && !last_new_id.empty() && i % o.reply_every == 1;
        const std::string id = o.tag + "." + std::to_string(c) + "." + std::to_string(i) +
                               "." + std::to_string(rng()) + "@load.test";
        std::string msg = "From: Cliente " + std::to_string(c) + " <cliente" +
                          std::to_string(c) + "@acme.example>\r\nTo: " + o.to +
                          "\r\nSubject: " + (reply ? "Re: " : "") + "Sin tono en la 204 (" + id +
                          ")\r\nMessage-ID: <" + id + ">\r\nDate: Fri, 27 Nov 2026 10:00:00 -0600\r\n";
        if (reply) msg += "In-Reply-To: <" + last_new_id + ">\r\nReferences: <" + last_new_id + ">\r\n";
        msg += "MIME-Version: 1.0\r\n";
        if (attachment.empty()) {
          msg += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
          msg += text;
        } else {
          msg += "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text +
                 "--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
                 "Content-Disposition: attachment; filename=\"captura.bin\"\r\n\r\n" + attachment +
                 "--b1--\r\n";
        }
        const auto t0 = Clock::now();
        const std::string head = "MAIL FROM:<cliente" + std::to_string(c) +
                                 "@acme.example>\r\nRCPT TO:<" + o.to + ">\r\nDATA\r\n";
        if (!conn.send_all(head) || conn.reply() != 250 || conn.reply() != 250 ||
            conn.reply() != 354 || !conn.send_all(msg + ".\r\n")) {
          errors.fetch_add(1);
          break;
        }
        int code = conn.reply(&line);
        if (code != 250) {
          errors.fetch_add(1);
          if (code == 0) break;
          continue;
        }
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!reply) last_new_id = id;
        acked.push_back(id);
      }
      conn.send_all("QUIT\r\n");
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
      last_answer = line;
      for (const auto& a : acked) ack << a << "\n";
    });
  }
  if (o.messages == 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    stop = true;
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const size_t n = latencies.size();
  std::printf(
      "{\"messages\": %zu, \"seconds\": %.2f, \"rate\": %.1f, \"clients\": %d, \"size\": %zu, "
      "\"attachment_mb\": %d, \"p50_ms\": %.2f, \"p95_ms\": %.2f, \"p99_ms\": %.2f, "
      "\"max_ms\": %.2f, \"errors\": %ld, \"last_answer\": \"%s\"}\n",
      n, secs, static_cast<double>(n) / secs, o.clients, o.size, o.attachment_mb,
      pct(latencies, 50), pct(latencies, 95), pct(latencies, 99), pct(latencies, 100),
      errors.load(), last_answer.c_str());
  return errors.load() == 0 ? 0 : 1;
}
