#include "adapters/smtp_listener/smtp_listener.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>

namespace escala::adapters::smtp {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

constexpr size_t kMaxCommandLine = 4096;  // RFC 5321 says 512; be generous
constexpr size_t kMaxAddress = 512;       // RFC 5321: 256 for a path
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kSpoolWriteChunk = 256 * 1024;
constexpr int kMaxErrors = 20;                  // then "421" and close
constexpr std::chrono::seconds kCloseGrace{5};  // to write the 421 after a timeout

// What every session shares; owned by SmtpListener::Impl and outlives every session.
struct Shared {
  Shared(SmtpListenerOptions o, SmtpHandler& h)
      : opt(std::move(o)),
        handler(h),
        workers(static_cast<size_t>(std::max(1, opt.worker_threads))) {}
  SmtpListenerOptions opt;
  SmtpHandler& handler;
  asio::thread_pool workers;
  std::optional<ssl::context> tls;
  std::string spool_dir;
  std::atomic<int> connections{0};
  std::atomic<uint64_t> spool_counter{0};
  uint64_t spool_salt = 0;
};

std::string upper(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Text from the client or the handler echoed in a reply: one printable line, bounded.
std::string printable(std::string_view s, size_t max = 200) {
  std::string r;
  for (char c : s) {
    if (r.size() >= max) break;
    auto u = static_cast<unsigned char>(c);
    r.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  return r;
}

bool has_control(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// "FROM:<path> params" / "TO:<path> params" as sent after MAIL / RCPT.
struct PathCommand {
  std::string address;
  std::vector<std::string_view> params;
};

std::optional<PathCommand> parse_path_command(std::string_view args, std::string_view keyword) {
  if (args.size() < keyword.size() || !iequals(args.substr(0, keyword.size()), keyword))
    return std::nullopt;
  std::string_view rest = trim(args.substr(keyword.size()));  // tolerate "FROM: <a>"
  PathCommand out;
  if (!rest.empty() && rest.front() == '<') {
    size_t i = 1;
    bool quoted = false;
    for (; i < rest.size(); ++i) {
      char c = rest[i];
      if (c == '\\' && i + 1 < rest.size()) {
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == '>' && !quoted) {
        break;
      }
    }
    if (i >= rest.size()) return std::nullopt;
    std::string_view path = rest.substr(1, i - 1);
    // A source route (<@relay:user@host>) is ignored, as RFC 5321 §3.3 allows.
    if (!path.empty() && path.front() == '@') {
      size_t colon = path.find(':');
      if (colon == std::string_view::npos) return std::nullopt;
      path.remove_prefix(colon + 1);
    }
    out.address = std::string(path);
    rest = rest.substr(i + 1);
  } else {
    // Sloppy clients send the address without brackets.
    size_t sp = rest.find(' ');
    out.address = std::string(rest.substr(0, sp));
    if (out.address.empty()) return std::nullopt;
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp);
  }
  if (out.address.size() > kMaxAddress || has_control(out.address) ||
      out.address.find(' ') != std::string::npos)
    return std::nullopt;
  if (!rest.empty() && rest.front() != ' ' && rest.front() != '\t') return std::nullopt;
  rest = trim(rest);
  while (!rest.empty()) {
    size_t sp = rest.find(' ');
    out.params.push_back(rest.substr(0, sp));
    rest = sp == std::string_view::npos ? std::string_view{} : trim(rest.substr(sp));
  }
  return out;
}

std::string reply_for(const Result<std::string>& r) {
  if (r.ok()) return "250 2.0.0 Ok: " + printable(r.value());
  const Error& e = r.error();
  std::string text = printable(e.message.empty() ? error_code_name(e.code) : e.message);
  switch (e.code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
      return "451 4.3.0 Temporary local problem, try again later";
    case ErrorCode::kRateLimited:
      return "451 4.7.1 Too much mail, try again later";
    case ErrorCode::kPayloadTooLarge:
      return "552 5.3.4 Message too big";
    case ErrorCode::kInvalidArgument:
      return "554 5.6.0 " + text;
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kUnauthenticated:
      return "554 5.7.1 " + text;
    default:
      return "554 5.0.0 " + text;
  }
}

// The bytes of one DATA phase: in memory up to the threshold, then in a spool file written
// in chunks. Beyond the size limit nothing is kept (the rest is read and dropped). The
// file is removed when the Spool goes, unless released to the handler first.
class Spool {
 public:
  explicit Spool(Shared& shared) : shared_(shared) {}
  ~Spool() { discard(); }
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  void append(const char* p, size_t n) {
    size_ += static_cast<int64_t>(n);
    if (too_big_ || failed_) return;
    if (size_ > shared_.opt.max_message_bytes) {
      too_big_ = true;
      discard();
      return;
    }
    data_.append(p, n);
    if (fd_ < 0 && data_.size() > shared_.opt.spool_threshold && !open_file()) return;
    if (fd_ >= 0 && data_.size() >= kSpoolWriteChunk) write_out();
  }

  // Writes what is left; false when the spool file failed.
  bool finish() {
    if (fd_ >= 0 && !failed_) write_out();
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
    return !failed_;
  }

  bool too_big() const { return too_big_; }

  SpooledMessage take() {
    SpooledMessage m;
    m.size = size_;
    if (path_.empty()) {
      m.data = std::move(data_);
    } else {
      m.path = path_;  // still removed by ~Spool, after deliver() returned
    }
    return m;
  }

 private:
  bool open_file() {
    uint64_t n = shared_.spool_counter.fetch_add(1);
    path_ = shared_.spool_dir + "/escala-smtp-" + std::to_string(::getpid()) + "-" +
            std::to_string(shared_.spool_salt) + "-" + std::to_string(n) + ".eml";
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      path_.clear();
      failed_ = true;
      data_.clear();
      return false;
    }
    return true;
  }

  // A page-cache write of a few hundred KiB: cheap enough for the network thread.
  void write_out() {
    const char* p = data_.data();
    size_t left = data_.size();
    while (left > 0) {
      ssize_t w = ::write(fd_, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        failed_ = true;
        discard();
        return;
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
    data_.clear();
  }

  void discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!path_.empty()) ::unlink(path_.c_str());
    path_.clear();
    std::string().swap(data_);
  }

  Shared& shared_;
  std::string data_;
  std::string path_;
  int fd_ = -1;
  int64_t size_ = 0;
  bool too_big_ = false;
  bool failed_ = false;
};

// One SMTP connection. All its members are touched only by its network thread (each
// io_context is run by one thread), except during the worker hops, when the coroutine is
// suspended and the worker only reads the envelope and the message.
class Session {
 public:
  Session(Shared& shared, tcp::socket socket)
      : shared_(shared), socket_(std::move(socket)), timer_(socket_.get_executor()) {
    ++shared_.connections;  // in the accept loop: a burst of accepts cannot overshoot
  }
  ~Session() { --shared_.connections; }

  asio::awaitable<void> run(std::shared_ptr<Session> self) {
    {
      error_code ec;
      auto ep = socket_.remote_endpoint(ec);
      if (!ec)
        peer_ = ep.address().is_v6()
                    ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                    : ep.address().to_string() + ":" + std::to_string(ep.port());
      socket_.set_option(tcp::no_delay(true), ec);
    }
    arm();
    asio::co_spawn(socket_.get_executor(), watchdog(self), asio::detached);
    reply("220 " + shared_.opt.hostname + " ESMTP Escala ready");
    for (;;) {
      arm();
      std::string line;
      ReadStatus st = co_await read_line(line);
      if (st == ReadStatus::kClosed) break;
      if (st == ReadStatus::kTooLong) {
        reply("500 5.5.2 Line too long");
        if (!count_error()) break;
        continue;
      }
      if (!co_await handle(line)) break;
    }
    if (timed_out_) {
      out_.clear();
      reply("421 4.4.2 " + shared_.opt.hostname + " Idle timeout, closing connection");
    }
    if (!out_.empty() && !tls_failed_) co_await flush();
    done_ = true;
    timer_.cancel();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

 private:
  enum class ReadStatus { kLine, kTooLong, kClosed };

  // The idle deadline: the watchdog below closes the connection once it passes.
  void arm() {
    if (!timed_out_) deadline_ = SteadyClock::now() + shared_.opt.idle_timeout;
  }

  // One timer per connection, re-armed only when it fires: moving the deadline is a plain
  // store, so reading a command costs no timer operation.
  asio::awaitable<void> watchdog(std::shared_ptr<Session> self) {
    for (;;) {
      timer_.expires_at(deadline_);
      co_await timer_.async_wait(kTuple);
      if (done_) co_return;
      auto now = SteadyClock::now();
      if (busy_) deadline_ = now + shared_.opt.idle_timeout;  // the handler is working
      if (now < deadline_) continue;
      error_code ignored;
      if (!timed_out_) {
        timed_out_ = true;  // run() answers 421 once its pending operation is cancelled
        socket_.cancel(ignored);
        deadline_ = now + kCloseGrace;
      } else {
        socket_.close(ignored);
        co_return;
      }
    }
  }

  void reply(std::string_view line) {
    out_.append(line);
    out_.append("\r\n");
  }

  // Counts a client error; false (after queueing a 421) when the client made too many.
  bool count_error() {
    if (++errors_ < kMaxErrors) return true;
    reply("421 4.7.0 " + shared_.opt.hostname + " Too many errors, closing connection");
    return false;
  }

  asio::awaitable<std::tuple<error_code, size_t>> read_some(asio::mutable_buffer b) {
    if (tls_) co_return co_await tls_->async_read_some(b, kTuple);
    co_return co_await socket_.async_read_some(b, kTuple);
  }

  // Replies are batched and written only when the session needs more input: a pipelining
  // client gets all the replies to one packet of commands in one write, in order.
  asio::awaitable<bool> flush() {
    std::string out;
    out.swap(out_);
    error_code ec;
    if (tls_)
      std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(out), kTuple);
    else
      std::tie(ec, std::ignore) = co_await asio::async_write(socket_, asio::buffer(out), kTuple);
    co_return !ec;
  }

  // Reads more bytes into in_; false when the connection is gone (or timed out).
  asio::awaitable<bool> fill() {
    if (!out_.empty() && !co_await flush()) co_return false;
    if (in_pos_ > 0) {
      in_.erase(0, in_pos_);
      in_pos_ = 0;
    }
    size_t old = in_.size();
    in_.resize(old + kReadChunk);
    auto [ec, n] = co_await read_some(asio::buffer(in_.data() + old, kReadChunk));
    in_.resize(old + n);
    co_return !ec && n > 0;
  }

  // One command line without its line ending (CRLF, or a bare LF from sloppy clients).
  // Longer lines are read to their end and dropped: kTooLong.
  asio::awaitable<ReadStatus> read_line(std::string& line) {
    bool discarding = false;
    size_t scanned = 0;  // bytes after in_pos_ known to hold no LF
    for (;;) {
      const char* base = in_.data() + in_pos_;
      size_t avail = in_.size() - in_pos_;
      const void* lf = std::memchr(base + scanned, '\n', avail - scanned);
      if (lf) {
        size_t end = static_cast<size_t>(static_cast<const char*>(lf) - base);
        size_t len = end > 0 && base[end - 1] == '\r' ? end - 1 : end;
        bool too_long = discarding || len > kMaxCommandLine;
        if (!too_long) line.assign(base, len);
        in_pos_ += end + 1;
        co_return too_long ? ReadStatus::kTooLong : ReadStatus::kLine;
      }
      if (avail > kMaxCommandLine + 2) {
        discarding = true;
        in_.clear();
        in_pos_ = 0;
        avail = 0;
      }
      scanned = avail;
      if (!co_await fill()) co_return ReadStatus::kClosed;
    }
  }

  // The message after "354": dot-unstuffed, up to the line ".". False when the connection
  // broke first.
  asio::awaitable<bool> read_data(Spool& spool) {
    bool line_start = true;
    for (;;) {
      while (in_pos_ < in_.size()) {
        const char* p = in_.data() + in_pos_;
        size_t n = in_.size() - in_pos_;
        if (line_start && p[0] == '.') {
          if (n < 2) break;  // need the next byte to decide
          if (p[1] == '\n') {
            in_pos_ += 2;
            co_return true;
          }
          if (p[1] == '\r') {
            if (n < 3) break;
            if (p[2] == '\n') {
              in_pos_ += 3;
              co_return true;
            }
          }
          ++p;  // dot-unstuffing (RFC 5321 §4.5.2)
          --n;
          ++in_pos_;
        }
        const void* lf = std::memchr(p, '\n', n);
        size_t take = lf ? static_cast<size_t>(static_cast<const char*>(lf) - p) + 1 : n;
        spool.append(p, take);
        in_pos_ += take;
        line_start = lf != nullptr;
      }
      arm();
      if (!co_await fill()) co_return false;
    }
  }

  // Runs `f` on the worker pool and resumes here, on the network thread, with its result.
  template <typename F>
  asio::awaitable<std::invoke_result_t<F&>> on_worker(F f) {
    using R = std::invoke_result_t<F&>;
    busy_ = true;
    R r = co_await asio::co_spawn(
        shared_.workers, [f = std::move(f)]() mutable -> asio::awaitable<R> { co_return f(); },
        asio::use_awaitable);
    busy_ = false;
    co_return r;
  }

  void reset_transaction() {
    in_transaction_ = false;
    mail_from_.clear();
    rcpt_to_.clear();
  }

  // Handles one command; false to close the connection.
  asio::awaitable<bool> handle(const std::string& line) {
    std::string_view l(line);
    size_t sp = l.find(' ');
    std::string verb = upper(l.substr(0, std::min(sp, size_t{16})));
    std::string_view args =
        sp == std::string_view::npos ? std::string_view{} : trim(l.substr(sp + 1));

    if (verb == "EHLO" || verb == "HELO") {
      if (args.empty()) {
        reply("501 5.5.4 Syntax: " + verb + " hostname");
        co_return count_error();
      }
      helo_ = printable(args.substr(0, args.find(' ')), 255);
      reset_transaction();
      if (verb == "HELO") {
        reply("250 " + shared_.opt.hostname);
        co_return true;
      }
      reply("250-" + shared_.opt.hostname + " Hello " + helo_);
      reply("250-SIZE " + std::to_string(shared_.opt.max_message_bytes));
      reply("250-8BITMIME");
      reply("250-PIPELINING");
      reply("250-ENHANCEDSTATUSCODES");
      if (shared_.tls && !tls_) reply("250-STARTTLS");
      reply("250 SMTPUTF8");
      co_return true;
    }
    if (verb == "MAIL") co_return handle_mail(args);
    if (verb == "RCPT") co_return co_await handle_rcpt(args);
    if (verb == "DATA") co_return co_await handle_data(args);
    if (verb == "RSET") {
      reset_transaction();
      reply("250 2.0.0 Ok");
      co_return true;
    }
    if (verb == "NOOP") {
      reply("250 2.0.0 Ok");
      co_return true;
    }
    if (verb == "QUIT") {
      reply("221 2.0.0 Bye");
      co_return false;
    }
    if (verb == "VRFY") {
      reply("252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery");
      co_return true;
    }
    if (verb == "HELP") {
      reply("214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS");
      co_return true;
    }
    if (verb == "STARTTLS") co_return co_await handle_starttls(args);
    if (verb == "EXPN" || verb == "AUTH" || verb == "BDAT" || verb == "ETRN" || verb == "TURN") {
      reply("502 5.5.1 Command not implemented");
      co_return count_error();
    }
    // An HTTP client (or a browser tricked into talking to us): no point in going on.
    if (verb == "GET" || verb == "POST" || verb == "HEAD" || verb == "PUT" || verb == "CONNECT" ||
        verb == "OPTIONS") {
      reply("421 4.7.0 " + shared_.opt.hostname + " This is an SMTP server");
      co_return false;
    }
    reply("500 5.5.2 Command not recognized");
    co_return count_error();
  }

  bool handle_mail(std::string_view args) {
    if (helo_.empty()) {
      reply("503 5.5.1 Send EHLO or HELO first");
      return count_error();
    }
    if (in_transaction_) {
      reply("503 5.5.1 Sender already given");
      return count_error();
    }
    auto cmd = parse_path_command(args, "FROM:");
    if (!cmd) {
      reply("501 5.5.4 Syntax: MAIL FROM:<address>");
      return count_error();
    }
    for (std::string_view p : cmd->params) {
      size_t eq = p.find('=');
      std::string key = upper(p.substr(0, eq));
      std::string_view value = eq == std::string_view::npos ? std::string_view{} : p.substr(eq + 1);
      if (key == "SIZE") {
        if (value.empty() || value.size() > 18 ||
            value.find_first_not_of("0123456789") != std::string_view::npos) {
          reply("501 5.5.4 Bad SIZE parameter");
          return count_error();
        }
        if (std::stoll(std::string(value)) > shared_.opt.max_message_bytes) {
          reply("552 5.3.4 Message size exceeds fixed maximum message size");
          return true;
        }
      } else if (key == "BODY") {
        std::string v = upper(value);
        if (v != "7BIT" && v != "8BITMIME") {
          reply("501 5.5.4 Bad BODY parameter");
          return count_error();
        }
      } else if (key == "SMTPUTF8" && eq == std::string_view::npos) {
        // Accepted: addresses and headers may be UTF-8 (RFC 6531).
      } else {
        reply("555 5.5.4 Unsupported parameter " + printable(p, 64));
        return count_error();
      }
    }
    in_transaction_ = true;
    mail_from_ = std::move(cmd->address);
    reply("250 2.1.0 Ok");
    return true;
  }

  asio::awaitable<bool> handle_rcpt(std::string_view args) {
    if (!in_transaction_) {
      reply("503 5.5.1 Need MAIL command");
      co_return count_error();
    }
    auto cmd = parse_path_command(args, "TO:");
    if (!cmd || cmd->address.empty()) {
      reply("501 5.5.4 Syntax: RCPT TO:<address>");
      co_return count_error();
    }
    if (!cmd->params.empty()) {
      reply("555 5.5.4 Unsupported parameter " + printable(cmd->params.front(), 64));
      co_return count_error();
    }
    if (rcpt_to_.size() >= static_cast<size_t>(std::max(1, shared_.opt.max_recipients))) {
      reply("452 4.5.3 Too many recipients");
      co_return true;
    }
    SmtpHandler& handler = shared_.handler;
    const std::string& address = cmd->address;
    int verdict = co_await on_worker([&handler, &address]() -> int {
      try {
        return handler.accept_recipient(address) ? 1 : 0;
      } catch (...) {
        return 2;
      }
    });
    if (verdict == 2) {
      reply("451 4.3.0 Temporary local problem, try again later");
    } else if (verdict == 0) {
      reply("550 5.1.1 <" + printable(address) + ">: recipient not accepted here");
      co_return count_error();
    } else {
      if (std::find(rcpt_to_.begin(), rcpt_to_.end(), address) == rcpt_to_.end())
        rcpt_to_.push_back(address);
      reply("250 2.1.5 Ok");
    }
    co_return true;
  }

  asio::awaitable<bool> handle_data(std::string_view args) {
    if (!args.empty()) {
      reply("501 5.5.4 Syntax: DATA");
      co_return count_error();
    }
    if (!in_transaction_) {
      reply("503 5.5.1 Need MAIL command");
      co_return count_error();
    }
    if (rcpt_to_.empty()) {
      reply("554 5.5.1 No valid recipients");
      co_return count_error();
    }
    reply("354 End data with <CR><LF>.<CR><LF>");
    Spool spool(shared_);
    if (!co_await read_data(spool)) co_return false;
    bool spooled = spool.finish();
    if (spool.too_big()) {
      reply("552 5.3.4 Message too big");
    } else if (!spooled) {
      reply("451 4.3.0 Cannot spool the message, try again later");
    } else {
      SmtpEnvelope envelope;
      envelope.helo = helo_;
      envelope.mail_from = mail_from_;
      envelope.rcpt_to = rcpt_to_;
      envelope.peer = peer_;
      envelope.tls = tls_ != nullptr;
      SpooledMessage message = spool.take();
      SmtpHandler& handler = shared_.handler;
      std::string line = co_await on_worker([&handler, &envelope, &message]() -> std::string {
        try {
          return reply_for(handler.deliver(envelope, message));
        } catch (...) {
          return reply_for(make_error(ErrorCode::kInternal, "handler threw"));
        }
      });
      if (line.starts_with("250")) errors_ = 0;  // a client that delivers is no attacker
      reply(line);
    }
    reset_transaction();
    co_return true;
  }

  asio::awaitable<bool> handle_starttls(std::string_view args) {
    if (!args.empty()) {
      reply("501 5.5.4 Syntax: STARTTLS");
      co_return count_error();
    }
    if (tls_) {
      reply("503 5.5.1 TLS already active");
      co_return count_error();
    }
    if (!shared_.tls) {
      reply("454 4.7.0 TLS not available");
      co_return true;
    }
    reply("220 2.0.0 Ready to start TLS");
    if (!co_await flush()) co_return false;
    // Anything the client pipelined after STARTTLS was sent in the clear: drop it
    // (the command injection of CVE-2011-0411).
    in_.clear();
    in_pos_ = 0;
    tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, *shared_.tls);
    arm();
    auto [ec] = co_await tls_->async_handshake(ssl::stream_base::server, kTuple);
    if (ec) {
      tls_failed_ = true;  // nothing more can be said, in clear or in TLS: just close
      co_return false;
    }
    // RFC 3207 §4.2: forget everything learnt before TLS.
    helo_.clear();
    reset_transaction();
    co_return true;
  }

  Shared& shared_;
  tcp::socket socket_;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
  asio::steady_timer timer_;
  SteadyClock::time_point deadline_;
  bool timed_out_ = false;
  bool tls_failed_ = false;
  bool busy_ = false;  // a handler call is running for this session
  bool done_ = false;
  std::string in_;
  size_t in_pos_ = 0;
  std::string out_;
  int errors_ = 0;
  std::string peer_;
  std::string helo_;
  bool in_transaction_ = false;
  std::string mail_from_;
  std::vector<std::string> rcpt_to_;
};

asio::awaitable<void> refuse(tcp::socket socket, std::string line) {
  co_await asio::async_write(socket, asio::buffer(line), kTuple);  // fits the socket buffer
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

}  // namespace

class SmtpListener::Impl {
 public:
  Impl(SmtpListenerOptions o, SmtpHandler& h) : shared(std::move(o), h) {
    for (int i = 0; i < std::max(1, shared.opt.network_threads); ++i)
      contexts.push_back(std::make_unique<asio::io_context>(1));
    acceptor.emplace(*contexts[0]);
  }

  Status listen() {
    const auto& opt = shared.opt;
    if (opt.max_message_bytes <= 0 || opt.max_connections <= 0 || opt.max_recipients <= 0 ||
        opt.idle_timeout.count() <= 0)
      return make_error(ErrorCode::kInvalidArgument, "SMTP listener limits must be positive");
    std::error_code fec;
    shared.spool_dir =
        opt.spool_dir.empty() ? std::filesystem::temp_directory_path(fec).string() : opt.spool_dir;
    if (fec || !std::filesystem::is_directory(shared.spool_dir, fec))
      return make_error(ErrorCode::kInvalidArgument,
                        "the SMTP spool folder does not exist: " + shared.spool_dir, "spool_dir");
    shared.spool_salt = std::random_device{}();
    if (opt.tls_cert_file.empty() != opt.tls_key_file.empty())
      return make_error(ErrorCode::kInvalidArgument,
                        "STARTTLS needs both a certificate and a key file", "tls_cert_file");
    if (!opt.tls_cert_file.empty()) {
      try {
        ssl::context ctx(ssl::context::tls_server);
        ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                        ssl::context::single_dh_use);
        error_code ec;
        ctx.use_certificate_chain_file(opt.tls_cert_file, ec);
        if (ec)
          return make_error(
              ErrorCode::kInvalidArgument,
              "cannot load the TLS certificate " + opt.tls_cert_file + ": " + ec.message(),
              "tls_cert_file");
        ctx.use_private_key_file(opt.tls_key_file, ssl::context::pem, ec);
        if (ec)
          return make_error(ErrorCode::kInvalidArgument,
                            "cannot load the TLS key " + opt.tls_key_file + ": " + ec.message(),
                            "tls_key_file");
        shared.tls.emplace(std::move(ctx));
      } catch (const std::exception& e) {
        return make_error(ErrorCode::kInvalidArgument,
                          std::string("cannot set up TLS: ") + e.what());
      }
    }
    error_code ec;
    auto addr = asio::ip::make_address(opt.host, ec);
    if (ec) return make_error(ErrorCode::kInvalidArgument, "bad listen address " + opt.host);
    tcp::endpoint ep(addr, opt.port);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(
          ErrorCode::kUnavailable,
          "cannot listen on " + opt.host + ":" + std::to_string(opt.port) + ": " + ec.message());
    port = acceptor->local_endpoint().port();
    return ok_status();
  }

  asio::awaitable<void> accept_loop() {
    asio::steady_timer backoff(acceptor->get_executor());
    for (;;) {
      auto& target = *contexts[next_context++ % contexts.size()];
      auto [ec, socket] = co_await acceptor->async_accept(target, kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
        // E.g. too many open files: keep serving the open connections, retry shortly.
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(kTuple);
        continue;
      }
      if (shared.connections.load() >= shared.opt.max_connections) {
        auto ex = socket.get_executor();
        asio::co_spawn(ex,
                       refuse(std::move(socket), "421 4.3.2 " + shared.opt.hostname +
                                                     " Too many connections, try again later\r\n"),
                       asio::detached);
        continue;
      }
      try {
        auto ex = socket.get_executor();
        auto session = std::make_shared<Session>(shared, std::move(socket));
        asio::co_spawn(ex, session->run(session), asio::detached);
      } catch (const std::exception&) {
        // Out of memory for this one connection: drop it, keep accepting.
      }
    }
  }

  void start() {
    if (started || stopped) return;
    started = true;
    asio::co_spawn(acceptor->get_executor(), accept_loop(), asio::detached);
    for (auto& c : contexts) {
      guards.push_back(asio::make_work_guard(*c));
      threads.emplace_back([ctx = c.get()] { ctx->run(); });
    }
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    for (auto& c : contexts) c->stop();
    for (auto& t : threads) t.join();
    threads.clear();
    // Handler calls in flight hold references into suspended sessions: let them return
    // before the sessions are destroyed with their io_context.
    shared.workers.join();
    guards.clear();
    acceptor.reset();
    contexts.clear();  // destroys the sessions: closes their sockets, removes spool files
  }

  Shared shared;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  size_t next_context = 0;  // used by the accept loop only
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;
};

SmtpListener::SmtpListener(SmtpListenerOptions options, SmtpHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

SmtpListener::~SmtpListener() { impl_->stop(); }

Status SmtpListener::listen() { return impl_->listen(); }
uint16_t SmtpListener::port() const { return impl_->port; }
void SmtpListener::start() { impl_->start(); }
void SmtpListener::stop() { impl_->stop(); }

}  // namespace escala::adapters::smtp
