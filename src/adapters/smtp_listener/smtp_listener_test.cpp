// The SMTP listener on a real loopback socket, driven by three clients: a blocking Asio
// client written here (exact bytes, pipelining, abuse), Python's smtplib (STARTTLS,
// SMTPUTF8) and swaks. A recording handler stands in for the desk.

#include "adapters/smtp_listener/smtp_listener.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace escala::adapters::smtp {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr const char* kPython = "/usr/bin/python3";

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/escala-smtp-listener-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  bool empty() const { return fs::is_empty(path); }
  std::string path;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command; returns its exit status and its output (stdout and stderr).
std::pair<int, std::string> run(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// ---------------------------------------------------------------------------------------
// The desk, as far as the listener can tell.

struct Delivery {
  SmtpEnvelope envelope;
  std::string bytes;  // from `data`, or read from the spool file during deliver()
  std::string path;   // the spool file, when there was one
  int64_t size = 0;
};

class RecordingHandler : public SmtpHandler {
 public:
  bool accept_recipient(std::string_view address) override {
    return !address.starts_with("unknown");
  }

  Result<std::string> deliver(const SmtpEnvelope& envelope,
                              const SpooledMessage& message) override {
    Delivery d;
    d.envelope = envelope;
    d.path = message.path;
    d.size = message.size;
    d.bytes = message.path.empty() ? message.data : read_file(message.path);
    std::optional<Error> fail;
    bool do_throw = false;
    std::shared_future<void> gate;
    {
      std::lock_guard lock(mu_);
      fail = next_error_;
      next_error_.reset();
      do_throw = throw_next_;
      throw_next_ = false;
      gate = gate_;
      ++calls_;
    }
    if (gate.valid()) {
      entered_.notify_all();
      gate.wait();
    }
    if (do_throw) throw std::runtime_error("handler bug");
    if (fail) return *fail;
    std::lock_guard lock(mu_);
    deliveries_.push_back(std::move(d));
    cv_.notify_all();
    return "id-" + std::to_string(deliveries_.size());
  }

  void fail_next(ErrorCode code, std::string message) {
    std::lock_guard lock(mu_);
    next_error_ = make_error(code, std::move(message));
  }
  void throw_next() {
    std::lock_guard lock(mu_);
    throw_next_ = true;
  }
  // Makes deliver() wait for `gate` (until it is set).
  void hold(std::shared_future<void> gate) {
    std::lock_guard lock(mu_);
    gate_ = std::move(gate);
  }
  bool wait_entered(int calls) {
    std::unique_lock lock(mu_);
    return entered_.wait_for(lock, 10s, [&] { return calls_ >= calls; });
  }
  bool wait_for(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 30s, [&] { return deliveries_.size() >= n; });
  }
  std::vector<Delivery> deliveries() {
    std::lock_guard lock(mu_);
    return deliveries_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_, entered_;
  std::vector<Delivery> deliveries_;
  std::optional<Error> next_error_;
  bool throw_next_ = false;
  std::shared_future<void> gate_;
  int calls_ = 0;
};

// ---------------------------------------------------------------------------------------
// A blocking Asio client. Every read waits at most 10 s (poll before reading), so a
// misbehaving server fails the test instead of hanging it.

class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  void send(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }

  // One complete reply ("250-a\r\n250 b\r\n" → "250-a\n250 b"); "" on EOF or timeout.
  std::string reply(std::chrono::milliseconds wait = 10s) {
    std::string out;
    for (;;) {
      std::string line = read_line(wait);
      if (line.empty()) return out;
      if (!out.empty()) out += "\n";
      out += line;
      if (line.size() < 4 || line[3] != '-') return out;
    }
  }

  std::string cmd(std::string_view line) {
    send(std::string(line) + "\r\n");
    return reply();
  }

  // True when the server closed the connection (EOF or reset) before `wait`.
  bool closed_by_server(std::chrono::milliseconds wait = 10s) {
    for (;;) {
      if (!readable(wait)) return false;
      char buf[4096];
      boost::system::error_code ec;
      socket_.read_some(asio::buffer(buf), ec);
      if (ec) return true;
    }
  }

  void shutdown_send() { socket_.shutdown(tcp::socket::shutdown_send); }

 private:
  bool readable(std::chrono::milliseconds wait) {
    pollfd p{socket_.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
  }

  std::string read_line(std::chrono::milliseconds wait) {
    for (;;) {
      size_t lf = buffer_.find("\r\n");
      if (lf != std::string::npos) {
        std::string line = buffer_.substr(0, lf);
        buffer_.erase(0, lf + 2);
        return line;
      }
      if (!readable(wait)) return {};
      char buf[4096];
      boost::system::error_code ec;
      size_t n = socket_.read_some(asio::buffer(buf), ec);
      if (ec) return {};
      buffer_.append(buf, n);
    }
  }

  asio::io_context io_;
  tcp::socket socket_;
  std::string buffer_;
};

std::string code_of(const std::string& reply) { return reply.substr(0, 3); }

// ---------------------------------------------------------------------------------------

class SmtpListenerTest : public ::testing::Test {
 protected:
  void start(SmtpListenerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    if (options.spool_dir.empty()) options.spool_dir = spool_.path;
    listener_ = std::make_unique<SmtpListener>(options, handler_);
    auto st = listener_->listen();
    ASSERT_TRUE(st.ok()) << st.error().message;
    listener_->start();
    port_ = listener_->port();
  }

  void TearDown() override {
    if (listener_) listener_->stop();
  }

  // A client past the greeting and EHLO.
  std::unique_ptr<Client> greeted() {
    auto c = std::make_unique<Client>(port_);
    EXPECT_EQ(code_of(c->reply()), "220");
    EXPECT_EQ(code_of(c->cmd("EHLO client.test")), "250");
    return c;
  }

  // MAIL, RCPT, DATA and the message; returns the reply to the message.
  static std::string send_message(Client& c, const std::string& from, const std::string& to,
                                  const std::string& body) {
    EXPECT_EQ(code_of(c.cmd("MAIL FROM:<" + from + ">")), "250");
    EXPECT_EQ(code_of(c.cmd("RCPT TO:<" + to + ">")), "250");
    EXPECT_EQ(code_of(c.cmd("DATA")), "354");
    c.send(body + ".\r\n");
    return c.reply();
  }

  TempDir spool_;
  RecordingHandler handler_;
  std::unique_ptr<SmtpListener> listener_;
  uint16_t port_ = 0;
};

const std::string kBody =
    "From: Ana <ana@example.com>\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "The printer is on fire.\r\n";

TEST_F(SmtpListenerTest, GreetsAndAdvertisesExtensions) {
  SmtpListenerOptions o;
  o.hostname = "mx.desk.test";
  o.max_message_bytes = 12345;
  start(o);
  Client c(port_);
  EXPECT_EQ(c.reply(), "220 mx.desk.test ESMTP Escala ready");
  std::string ehlo = c.cmd("EHLO client.test");
  EXPECT_EQ(ehlo,
            "250-mx.desk.test Hello client.test\n250-SIZE 12345\n250-8BITMIME\n"
            "250-PIPELINING\n250-ENHANCEDSTATUSCODES\n250 SMTPUTF8");  // no STARTTLS: no cert
  EXPECT_EQ(c.cmd("HELO other.test"), "250 mx.desk.test");
  EXPECT_EQ(c.cmd("QUIT"), "221 2.0.0 Bye");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(SmtpListenerTest, DeliversOneMessageWithItsEnvelope) {
  start();
  auto c = greeted();
  EXPECT_EQ(code_of(c->cmd("MAIL FROM:<ana@example.com> BODY=8BITMIME SIZE=100")), "250");
  EXPECT_EQ(code_of(c->cmd("RCPT TO:<desk@escala.local>")), "250");
  EXPECT_EQ(code_of(c->cmd("RCPT TO:<Support@Escala.Local>")), "250");
  EXPECT_EQ(code_of(c->cmd("DATA")), "354");
  c->send(kBody + ".\r\n");
  EXPECT_EQ(c->reply(), "250 2.0.0 Ok: id-1");
  EXPECT_EQ(c->cmd("QUIT"), "221 2.0.0 Bye");
  auto d = handler_.deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].envelope.helo, "client.test");
  EXPECT_EQ(d[0].envelope.mail_from, "ana@example.com");
  EXPECT_EQ(d[0].envelope.rcpt_to,
            (std::vector<std::string>{"desk@escala.local", "Support@Escala.Local"}));
  EXPECT_TRUE(d[0].envelope.peer.starts_with("127.0.0.1:")) << d[0].envelope.peer;
  EXPECT_FALSE(d[0].envelope.tls);
  EXPECT_EQ(d[0].bytes, kBody);
  EXPECT_EQ(d[0].size, static_cast<int64_t>(kBody.size()));
  EXPECT_TRUE(d[0].path.empty());
}

TEST_F(SmtpListenerTest, NullSenderIsAcceptedForBounces) {
  start();
  auto c = greeted();
  EXPECT_EQ(send_message(*c, "", "desk@escala.local", kBody).substr(0, 3), "250");
  ASSERT_EQ(handler_.deliveries().size(), 1u);
  EXPECT_EQ(handler_.deliveries()[0].envelope.mail_from, "");
}

TEST_F(SmtpListenerTest, DotUnstuffingEightBitAndBareLineFeeds) {
  start();
  auto c = greeted();
  EXPECT_EQ(code_of(c->cmd("MAIL FROM:<a@b>")), "250");
  EXPECT_EQ(code_of(c->cmd("RCPT TO:<desk@escala.local>")), "250");
  EXPECT_EQ(code_of(c->cmd("DATA")), "354");
  std::string sent =
      "Subject: d\xc3\xa9j\xc3\xa0 vu\r\n"
      "\r\n"
      "..\r\n"                    // a line with one dot, stuffed
      "...two\r\n"                // "..two"
      ".x\r\n"                    // an unstuffed leading dot from a sloppy client: "x"
      "caf\xc3\xa9 \xff\xfe\r\n"  // 8-bit bytes, not valid UTF-8 either
      "bare lf line\n"
      ".\rnot the end\r\n"  // a dot then CR without LF is data
      "last\n";
  std::string expected =
      "Subject: d\xc3\xa9j\xc3\xa0 vu\r\n"
      "\r\n"
      ".\r\n"
      "..two\r\n"
      "x\r\n"
      "caf\xc3\xa9 \xff\xfe\r\n"
      "bare lf line\n"
      "\rnot the end\r\n"
      "last\n";
  c->send(sent + ".\n");  // ended by a bare-LF dot line
  EXPECT_EQ(code_of(c->reply()), "250");
  ASSERT_EQ(handler_.deliveries().size(), 1u);
  EXPECT_EQ(handler_.deliveries()[0].bytes, expected);
}

TEST_F(SmtpListenerTest, EndOfDataSplitAcrossPackets) {
  start();
  auto c = greeted();
  EXPECT_EQ(code_of(c->cmd("MAIL FROM:<a@b>")), "250");
  EXPECT_EQ(code_of(c->cmd("RCPT TO:<desk@escala.local>")), "250");
  EXPECT_EQ(code_of(c->cmd("DATA")), "354");
  // Each piece is its own write: the ".\r\n" decision must wait for more bytes.
  for (std::string piece : {"line one\r", "\n", ".", ".x\r\n", ".", "\r", "\n"}) c->send(piece);
  EXPECT_EQ(code_of(c->reply()), "250");
  ASSERT_EQ(handler_.deliveries().size(), 1u);
  EXPECT_EQ(handler_.deliveries()[0].bytes, "line one\r\n.x\r\n");
}

TEST_F(SmtpListenerTest, PipelinedCommandsInOneWriteGetTheirRepliesInOrder) {
  start();
  Client c(port_);
  EXPECT_EQ(code_of(c.reply()), "220");
  c.send(
      "EHLO client.test\r\n"
      "MAIL FROM:<ana@example.com>\r\n"
      "RCPT TO:<one@escala.local>\r\n"
      "RCPT TO:<unknown@escala.local>\r\n"
      "RCPT TO:<two@escala.local>\r\n"
      "DATA\r\n");
  EXPECT_EQ(code_of(c.reply()), "250");  // EHLO (multi-line)
  EXPECT_EQ(c.reply(), "250 2.1.0 Ok");
  EXPECT_EQ(c.reply(), "250 2.1.5 Ok");
  EXPECT_EQ(c.reply(), "550 5.1.1 <unknown@escala.local>: recipient not accepted here");
  EXPECT_EQ(c.reply(), "250 2.1.5 Ok");
  EXPECT_EQ(code_of(c.reply()), "354");
  // The message, the next transaction and QUIT in one write too.
  c.send(kBody + ".\r\nMAIL FROM:<b@example.com>\r\nRCPT TO:<three@escala.local>\r\nDATA\r\n");
  EXPECT_EQ(c.reply(), "250 2.0.0 Ok: id-1");
  EXPECT_EQ(c.reply(), "250 2.1.0 Ok");
  EXPECT_EQ(c.reply(), "250 2.1.5 Ok");
  EXPECT_EQ(code_of(c.reply()), "354");
  c.send("second\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(c.reply(), "250 2.0.0 Ok: id-2");
  EXPECT_EQ(c.reply(), "221 2.0.0 Bye");
  auto d = handler_.deliveries();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].envelope.rcpt_to,
            (std::vector<std::string>{"one@escala.local", "two@escala.local"}));
  EXPECT_EQ(d[1].envelope.mail_from, "b@example.com");
  EXPECT_EQ(d[1].bytes, "second\r\n");
}

TEST_F(SmtpListenerTest, CommandRepliesAndBadSequences) {
  start();
  Client c(port_);
  EXPECT_EQ(code_of(c.reply()), "220");
  EXPECT_EQ(c.cmd("MAIL FROM:<a@b>"), "503 5.5.1 Send EHLO or HELO first");
  EXPECT_EQ(c.cmd("EHLO"), "501 5.5.4 Syntax: EHLO hostname");
  EXPECT_EQ(code_of(c.cmd("ehlo client.test")), "250");  // verbs are case-insensitive
  EXPECT_EQ(c.cmd("RCPT TO:<x@y>"), "503 5.5.1 Need MAIL command");
  EXPECT_EQ(c.cmd("DATA"), "503 5.5.1 Need MAIL command");
  EXPECT_EQ(c.cmd("MAIL TO:<a@b>"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(c.cmd("MAIL FROM:<a@b"), "501 5.5.4 Syntax: MAIL FROM:<address>");
  EXPECT_EQ(c.cmd("MAIL FROM:<a@b> FOO=bar"), "555 5.5.4 Unsupported parameter FOO=bar");
  EXPECT_EQ(c.cmd("MAIL FROM:<a@b> BODY=9BIT"), "501 5.5.4 Bad BODY parameter");
  EXPECT_EQ(c.cmd("MAIL FROM: <a@b> SMTPUTF8"), "250 2.1.0 Ok");  // space after ':' tolerated
  EXPECT_EQ(c.cmd("MAIL FROM:<c@d>"), "503 5.5.1 Sender already given");
  EXPECT_EQ(c.cmd("RCPT TO:<>"), "501 5.5.4 Syntax: RCPT TO:<address>");
  EXPECT_EQ(c.cmd("DATA"), "554 5.5.1 No valid recipients");
  EXPECT_EQ(c.cmd("RCPT TO:<unknown@escala.local>"),
            "550 5.1.1 <unknown@escala.local>: recipient not accepted here");
  EXPECT_EQ(c.cmd("RCPT TO:<@relay.example:desk@escala.local>"), "250 2.1.5 Ok");
  EXPECT_EQ(c.cmd("DATA extra"), "501 5.5.4 Syntax: DATA");
  EXPECT_EQ(c.cmd("RSET"), "250 2.0.0 Ok");
  EXPECT_EQ(c.cmd("RCPT TO:<x@y>"), "503 5.5.1 Need MAIL command");  // RSET ended it
  EXPECT_EQ(c.cmd("NOOP"), "250 2.0.0 Ok");
  EXPECT_EQ(code_of(c.cmd("VRFY ana")), "252");
  EXPECT_EQ(code_of(c.cmd("HELP")), "214");
  EXPECT_EQ(c.cmd("EXPN staff"), "502 5.5.1 Command not implemented");
  EXPECT_EQ(c.cmd("STARTTLS"), "454 4.7.0 TLS not available");
  EXPECT_EQ(c.cmd("FROB"), "500 5.5.2 Command not recognized");
  EXPECT_EQ(c.cmd(""), "500 5.5.2 Command not recognized");
  EXPECT_EQ(c.cmd("QUIT"), "221 2.0.0 Bye");
  EXPECT_TRUE(handler_.deliveries().empty());
}

TEST_F(SmtpListenerTest, OverlongCommandLineIsRefusedAndTheSessionGoesOn) {
  start();
  auto c = greeted();
  EXPECT_EQ(c->cmd("NOOP " + std::string(5000, 'x')), "500 5.5.2 Line too long");
  EXPECT_EQ(c->cmd("NOOP " + std::string(100000, 'y')), "500 5.5.2 Line too long");
  EXPECT_EQ(c->cmd("NOOP"), "250 2.0.0 Ok");
  EXPECT_EQ(code_of(send_message(*c, "a@b", "desk@escala.local", kBody)), "250");
}

TEST_F(SmtpListenerTest, LongLinesInsideDataAreFine) {
  start();
  auto c = greeted();
  std::string body = "Subject: long\r\n\r\n" + std::string(20000, 'z') + "\r\n";
  EXPECT_EQ(code_of(send_message(*c, "a@b", "desk@escala.local", body)), "250");
  ASSERT_EQ(handler_.deliveries().size(), 1u);
  EXPECT_EQ(handler_.deliveries()[0].bytes, body);
}

TEST_F(SmtpListenerTest, SizeOverTheLimitIsRefusedAtMail) {
  SmtpListenerOptions o;
  o.max_message_bytes = 10000;
  start(o);
  auto c = greeted();
  EXPECT_EQ(c->cmd("MAIL FROM:<a@b> SIZE=10001"),
            "552 5.3.4 Message size exceeds fixed maximum message size");
  EXPECT_EQ(c->cmd("MAIL FROM:<a@b> SIZE=99999999999999999999"), "501 5.5.4 Bad SIZE parameter");
  EXPECT_EQ(c->cmd("MAIL FROM:<a@b> SIZE=10000"), "250 2.1.0 Ok");
}

TEST_F(SmtpListenerTest, MessageOverTheLimitIsReadToTheEndThenRefused) {
  SmtpListenerOptions o;
  o.max_message_bytes = 10000;
  o.spool_threshold = 4000;  // the part kept before the limit went to a file
  start(o);
  auto c = greeted();
  EXPECT_EQ(code_of(c->cmd("MAIL FROM:<a@b>")), "250");
  EXPECT_EQ(code_of(c->cmd("RCPT TO:<desk@escala.local>")), "250");
  EXPECT_EQ(code_of(c->cmd("DATA")), "354");
  std::string line(98, 'a');
  for (int i = 0; i < 1000; ++i) c->send(line + "\r\n");  // 100,000 bytes
  c->send(".\r\n");
  EXPECT_EQ(c->reply(), "552 5.3.4 Message too big");
  EXPECT_TRUE(spool_.empty());
  // The connection is still in step: the next message goes through.
  EXPECT_EQ(code_of(send_message(*c, "a@b", "desk@escala.local", kBody)), "250");
  ASSERT_EQ(handler_.deliveries().size(), 1u);
  EXPECT_EQ(handler_.deliveries()[0].bytes, kBody);
}

TEST_F(SmtpListenerTest, LargeMessageIsSpooledToAFileRemovedAfterDelivery) {
  SmtpListenerOptions o;
  o.spool_threshold = 64 * 1024;
  start(o);
  auto c = greeted();
  EXPECT_EQ(code_of(c->cmd("MAIL FROM:<a@b>")), "250");
  EXPECT_EQ(code_of(c->cmd("RCPT TO:<desk@escala.local>")), "250");
  EXPECT_EQ(code_of(c->cmd("DATA")), "354");
  // 12 MB of base64-looking lines, written in 1 MB chunks.
  std::string expected = "Subject: attachment\r\n\r\n";
  std::string chunk;
  for (int i = 0; i < 1024 * 1024 / 78; ++i) chunk += std::string(76, 'Q') + "\r\n";
  c->send(expected);
  for (int i = 0; i < 12; ++i) {
    c->send(chunk);
    expected += chunk;
  }
  c->send(".\r\n");
  EXPECT_EQ(c->reply(), "250 2.0.0 Ok: id-1");
  auto d = handler_.deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FALSE(d[0].path.empty());
  EXPECT_TRUE(d[0].path.starts_with(spool_.path + "/")) << d[0].path;
  EXPECT_EQ(d[0].size, static_cast<int64_t>(expected.size()));
  EXPECT_TRUE(d[0].bytes == expected) << "spooled bytes differ";
  EXPECT_FALSE(fs::exists(d[0].path));
  EXPECT_TRUE(spool_.empty());
}

TEST_F(SmtpListenerTest, AbortedDataLeavesNoSpoolFileAndNoDelivery) {
  SmtpListenerOptions o;
  o.spool_threshold = 1000;
  start(o);
  auto c = greeted();
  EXPECT_EQ(code_of(c->cmd("MAIL FROM:<a@b>")), "250");
  EXPECT_EQ(code_of(c->cmd("RCPT TO:<desk@escala.local>")), "250");
  EXPECT_EQ(code_of(c->cmd("DATA")), "354");
  c->send(std::string(300000, 'x') + "\r\nno end in sight");
  c->shutdown_send();  // half-closed: the client will send no more
  EXPECT_TRUE(c->closed_by_server());
  EXPECT_TRUE(spool_.empty());
  EXPECT_TRUE(handler_.deliveries().empty());
}

TEST_F(SmtpListenerTest, HandlerErrorsBecomeSmtpReplies) {
  start();
  auto c = greeted();
  handler_.fail_next(ErrorCode::kUnavailable, "database is down");
  EXPECT_EQ(send_message(*c, "a@b", "desk@escala.local", kBody),
            "451 4.3.0 Temporary local problem, try again later");
  // The client retries (same connection here) and the desk is back.
  EXPECT_EQ(send_message(*c, "a@b", "desk@escala.local", kBody), "250 2.0.0 Ok: id-1");

  handler_.fail_next(ErrorCode::kInternal, "oops");
  EXPECT_EQ(code_of(send_message(*c, "a@b", "desk@escala.local", kBody)), "451");
  handler_.fail_next(ErrorCode::kPayloadTooLarge, "too many attachments");
  EXPECT_EQ(send_message(*c, "a@b", "desk@escala.local", kBody), "552 5.3.4 Message too big");
  handler_.fail_next(ErrorCode::kInvalidArgument, "no From header\r\nInjected: yes");
  EXPECT_EQ(send_message(*c, "a@b", "desk@escala.local", kBody),
            "554 5.6.0 no From header??Injected: yes");
  handler_.throw_next();
  EXPECT_EQ(code_of(send_message(*c, "a@b", "desk@escala.local", kBody)), "451");
  EXPECT_EQ(c->cmd("NOOP"), "250 2.0.0 Ok");
  EXPECT_EQ(handler_.deliveries().size(), 1u);
}

TEST_F(SmtpListenerTest, TooManyRecipients) {
  SmtpListenerOptions o;
  o.max_recipients = 3;
  start(o);
  auto c = greeted();
  EXPECT_EQ(code_of(c->cmd("MAIL FROM:<a@b>")), "250");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(code_of(c->cmd("RCPT TO:<r" + std::to_string(i) + "@escala.local>")), "250");
  EXPECT_EQ(c->cmd("RCPT TO:<r3@escala.local>"), "452 4.5.3 Too many recipients");
  EXPECT_EQ(code_of(c->cmd("DATA")), "354");
  c->send(kBody + ".\r\n");
  EXPECT_EQ(code_of(c->reply()), "250");
  EXPECT_EQ(handler_.deliveries()[0].envelope.rcpt_to.size(), 3u);
}

TEST_F(SmtpListenerTest, MaxConnectionsAnswers421AtTheGreeting) {
  SmtpListenerOptions o;
  o.max_connections = 2;
  start(o);
  Client a(port_), b(port_);
  EXPECT_EQ(code_of(a.reply()), "220");
  EXPECT_EQ(code_of(b.reply()), "220");
  Client refused(port_);
  EXPECT_EQ(code_of(refused.reply()), "421");
  EXPECT_TRUE(refused.closed_by_server());
  EXPECT_EQ(a.cmd("QUIT"), "221 2.0.0 Bye");
  EXPECT_TRUE(a.closed_by_server());
  // The slot is free once the server has let go of the first session; retry briefly
  // (the count drops when the session object is destroyed, just after the close).
  std::string greeting;
  for (int i = 0; i < 100 && code_of(greeting) != "220"; ++i) {
    Client next(port_);
    greeting = next.reply();
  }
  EXPECT_EQ(code_of(greeting), "220");
}

TEST_F(SmtpListenerTest, IdleClientGets421AndIsDisconnected) {
  SmtpListenerOptions o;
  o.idle_timeout = 1s;
  start(o);
  auto c = greeted();
  c->send("NOO");  // half a command, then silence
  auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(c->reply(5s), "421 4.4.2 escala.local Idle timeout, closing connection");
  EXPECT_GE(std::chrono::steady_clock::now() - before, 900ms);
  EXPECT_TRUE(c->closed_by_server());
}

TEST_F(SmtpListenerTest, BlockingHandlerDoesNotStallOtherConnections) {
  SmtpListenerOptions o;
  o.network_threads = 1;
  start(o);
  std::promise<void> release;
  handler_.hold(release.get_future().share());
  auto slow = greeted();
  EXPECT_EQ(code_of(slow->cmd("MAIL FROM:<a@b>")), "250");
  EXPECT_EQ(code_of(slow->cmd("RCPT TO:<desk@escala.local>")), "250");
  EXPECT_EQ(code_of(slow->cmd("DATA")), "354");
  slow->send("slow\r\n.\r\n");
  ASSERT_TRUE(handler_.wait_entered(1));
  // deliver() is blocked on a worker; the one network thread still serves others.
  auto other = greeted();
  EXPECT_EQ(other->cmd("NOOP"), "250 2.0.0 Ok");
  EXPECT_EQ(code_of(other->cmd("MAIL FROM:<c@d>")), "250");
  EXPECT_EQ(code_of(other->cmd("RCPT TO:<desk@escala.local>")), "250");
  EXPECT_EQ(other->cmd("QUIT"), "221 2.0.0 Bye");
  release.set_value();
  EXPECT_EQ(code_of(slow->reply()), "250");
}

TEST_F(SmtpListenerTest, HundredConcurrentClientsEachDeliveredExactlyOnce) {
  SmtpListenerOptions o;
  o.network_threads = 2;  // connections spread over two io_contexts
  start(o);
  constexpr int kClients = 100;
  std::latch go(kClients);
  std::vector<std::future<std::string>> results;
  for (int i = 0; i < kClients; ++i) {
    results.push_back(std::async(std::launch::async, [&, i] {
      Client c(port_);
      go.arrive_and_wait();
      if (code_of(c.reply()) != "220") return std::string("no greeting");
      c.cmd("EHLO client" + std::to_string(i));
      // Pipelined, as a real MTA would.
      c.send("MAIL FROM:<sender" + std::to_string(i) +
             "@example.com>\r\nRCPT TO:<desk@escala.local>\r\nDATA\r\n");
      std::string r = c.reply();
      r += "|" + c.reply();
      r += "|" + c.reply();
      c.send("Message-Id: <" + std::to_string(i) + "@test>\r\n\r\nbody " + std::to_string(i) +
             "\r\n.\r\nQUIT\r\n");
      r += "|" + code_of(c.reply());
      r += "|" + code_of(c.reply());
      return r;
    }));
  }
  for (auto& f : results)
    EXPECT_EQ(f.get(), "250 2.1.0 Ok|250 2.1.5 Ok|354 End data with <CR><LF>.<CR><LF>|250|221");
  auto d = handler_.deliveries();
  ASSERT_EQ(d.size(), static_cast<size_t>(kClients));
  std::map<std::string, int> seen;
  for (const auto& m : d) {
    std::string i = m.envelope.mail_from.substr(6, m.envelope.mail_from.find('@') - 6);
    EXPECT_EQ(m.bytes, "Message-Id: <" + i + "@test>\r\n\r\nbody " + i + "\r\n");
    ++seen[i];
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kClients));
  for (const auto& [i, n] : seen) EXPECT_EQ(n, 1) << "message " << i;
}

TEST_F(SmtpListenerTest, Throughput) {
  SmtpListenerOptions o;
  o.network_threads = 1;
  start(o);
  constexpr int kThreads = 4, kPerThread = 1000;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::future<int>> done;
  for (int t = 0; t < kThreads; ++t)
    done.push_back(std::async(std::launch::async, [&] {
      Client c(port_);
      c.reply();
      c.cmd("EHLO bench");
      int ok = 0;
      for (int i = 0; i < kPerThread; ++i) {
        c.send("MAIL FROM:<a@b>\r\nRCPT TO:<desk@escala.local>\r\nDATA\r\n");
        c.reply();
        c.reply();
        c.reply();
        c.send(kBody + ".\r\n");
        if (code_of(c.reply()) == "250") ++ok;
      }
      return ok;
    }));
  int ok = 0;
  for (auto& f : done) ok += f.get();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "listener accepted %d messages in %.2f s: %.0f messages/s (1 network thread, "
      "%d clients)\n",
      ok, s, ok / s, kThreads);
  EXPECT_EQ(ok, kThreads * kPerThread);
}

TEST_F(SmtpListenerTest, GarbageAndAbuseNeverHurtOtherClients) {
  SmtpListenerOptions o;
  o.network_threads = 1;
  o.idle_timeout = 5s;
  start(o);
  // A slowloris holding a half-written command the whole time.
  Client slow(port_);
  EXPECT_EQ(code_of(slow.reply()), "220");
  slow.send("MAIL FR");

  std::mt19937 rng(20260101);
  for (int round = 0; round < 20; ++round) {
    Client g(port_);
    EXPECT_EQ(code_of(g.reply()), "220");
    std::string junk(16 * 1024 + round * 1000, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    if (round % 2 == 1)  // short junk lines: unknown commands until "Too many errors"
      for (size_t i = 40; i < junk.size(); i += 41) junk[i] = '\n';
    boost::system::error_code ec;
    try {
      g.send(junk);
    } catch (const boost::system::system_error&) {
      // The server may have hung up already: fine.
    }
    if (round % 2 == 1) {
      std::string last, r;
      while (!(r = g.reply(5s)).empty()) last = r;
      EXPECT_EQ(code_of(last), "421") << "round " << round;
    }
  }
  // An HTTP request to the SMTP port.
  {
    Client h(port_);
    EXPECT_EQ(code_of(h.reply()), "220");
    h.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(code_of(h.reply()), "421");
    EXPECT_TRUE(h.closed_by_server());
  }
  // A client that connects and resets at once.
  for (int i = 0; i < 20; ++i) {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    s.set_option(asio::socket_base::linger(true, 0));
    s.close();
  }
  // Meanwhile a well-behaved client is served normally.
  auto c = greeted();
  EXPECT_EQ(send_message(*c, "a@b", "desk@escala.local", kBody), "250 2.0.0 Ok: id-1");
  slow.send("OM:<x@y>\r\n");                // the slowloris finishes its line: still served
  EXPECT_EQ(code_of(slow.reply()), "503");  // (no EHLO)
}

// ---------------------------------------------------------------------------------------
// Other clients: Python's smtplib and swaks.

struct Certificate {
  Certificate() {
    cert = dir.path + "/cert.pem";
    key = dir.path + "/key.pem";
    auto [rc, out] =
        run("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost "
            "-days 1 -keyout " +
            key + " -out " + cert);
    ok = rc == 0;
  }
  TempDir dir;
  std::string cert, key;
  bool ok = false;
};

std::string python(const TempDir& dir, const std::string& script, uint16_t port, int* status) {
  std::string path = dir.path + "/client.py";
  std::ofstream(path) << script;
  auto [rc, out] = run(std::string(kPython) + " " + path + " " + std::to_string(port));
  *status = rc;
  return out;
}

TEST_F(SmtpListenerTest, PythonSmtplibSendsUtf8AndEightBit) {
  start();
  TempDir dir;
  int status = 0;
  std::string out = python(dir, R"PY(
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='py.client', timeout=10)
s.ehlo()
for ext in ('size', '8bitmime', 'pipelining', 'enhancedstatuscodes', 'smtputf8'):
    assert s.has_extn(ext), ext
assert not s.has_extn('starttls')
msg = 'Subject: café\r\n\r\nñandú ☃\r\n.leading dot\r\n'.encode('utf-8')
refused = s.sendmail('josé@example.com', ['desk@escala.local', 'unknown@escala.local'], msg,
                     mail_options=['BODY=8BITMIME', 'SMTPUTF8'])
print('refused', sorted(refused))
s.quit()
)PY",
                           port_, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("refused ['unknown@escala.local']"), std::string::npos) << out;
  auto d = handler_.deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].envelope.mail_from, "jos\xc3\xa9@example.com");
  EXPECT_EQ(d[0].envelope.helo, "py.client");
  EXPECT_EQ(d[0].envelope.rcpt_to, std::vector<std::string>{"desk@escala.local"});
  EXPECT_EQ(d[0].bytes,
            "Subject: caf\xc3\xa9\r\n\r\n\xc3\xb1"
            "and\xc3\xba \xe2\x98\x83\r\n.leading dot\r\n");
}

TEST_F(SmtpListenerTest, PythonSmtplibStartTls) {
  Certificate cert;
  ASSERT_TRUE(cert.ok);
  SmtpListenerOptions o;
  o.tls_cert_file = cert.cert;
  o.tls_key_file = cert.key;
  start(o);
  TempDir dir;
  int status = 0;
  std::string out = python(dir, R"PY(
import smtplib, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='py.client', timeout=10)
s.ehlo()
assert s.has_extn('starttls')
s.docmd('MAIL FROM:<before@tls>')  # forgotten by STARTTLS (RFC 3207)
print('starttls', s.starttls(context=ctx)[0])
print('mail-after-tls-without-ehlo', s.docmd('MAIL FROM:<a@b>')[0])
s.ehlo()
print('starttls-still-offered', s.has_extn('starttls'))
print('starttls-again', s.docmd('STARTTLS')[0])
s.sendmail('py@example.com', ['tls@escala.local'], b'Subject: tls\r\n\r\nover tls\r\n')
s.quit()
)PY",
                           port_, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("starttls 220"), std::string::npos) << out;
  EXPECT_NE(out.find("mail-after-tls-without-ehlo 503"), std::string::npos) << out;
  EXPECT_NE(out.find("starttls-still-offered False"), std::string::npos) << out;
  EXPECT_NE(out.find("starttls-again 503"), std::string::npos) << out;
  auto d = handler_.deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].envelope.tls);
  EXPECT_EQ(d[0].envelope.mail_from, "py@example.com");
  EXPECT_EQ(d[0].bytes, "Subject: tls\r\n\r\nover tls\r\n");
}

TEST_F(SmtpListenerTest, StartTlsDropsCommandsPipelinedInTheClear) {
  Certificate cert;
  ASSERT_TRUE(cert.ok);
  SmtpListenerOptions o;
  o.tls_cert_file = cert.cert;
  o.tls_key_file = cert.key;
  start(o);
  auto c = greeted();
  // CVE-2011-0411: a command injected after STARTTLS must not run inside the TLS session.
  c->send("STARTTLS\r\nRSET\r\n");
  EXPECT_EQ(c->reply(), "220 2.0.0 Ready to start TLS");
  // The server now expects a TLS handshake; "RSET" was not answered.
  EXPECT_EQ(c->reply(300ms), "");
  // Garbage instead of a ClientHello: the server hangs up, others are still served.
  c->send(std::string(100, 'G') + "\r\n");
  EXPECT_TRUE(c->closed_by_server());
  auto other = greeted();
  EXPECT_EQ(code_of(send_message(*other, "a@b", "desk@escala.local", kBody)), "250");
}

TEST_F(SmtpListenerTest, BadTlsConfigurationFailsListen) {
  SmtpListenerOptions o;
  o.tls_cert_file = "/nonexistent/cert.pem";
  o.tls_key_file = "/nonexistent/key.pem";
  SmtpListener l(o, handler_);
  auto st = l.listen();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  SmtpListenerOptions p;
  p.spool_dir = "/nonexistent/spool";
  SmtpListener m(p, handler_);
  EXPECT_FALSE(m.listen().ok());
}

TEST_F(SmtpListenerTest, Swaks) {
  Certificate cert;
  ASSERT_TRUE(cert.ok);
  SmtpListenerOptions o;
  o.tls_cert_file = cert.cert;
  o.tls_key_file = cert.key;
  start(o);
  std::string server = " --server 127.0.0.1:" + std::to_string(port_);
  auto [rc, out] = run("swaks" + server +
                       " --to desk@escala.local --from ana@example.com --pipeline"
                       " --helo swaks.test --header 'Subject: from swaks'");
  EXPECT_EQ(rc, 0) << out;
  ASSERT_TRUE(handler_.wait_for(1));
  auto d = handler_.deliveries();
  EXPECT_EQ(d[0].envelope.helo, "swaks.test");
  EXPECT_FALSE(d[0].envelope.tls);
  EXPECT_NE(d[0].bytes.find("Subject: from swaks\r\n"), std::string::npos) << d[0].bytes;

  if (run("perl -MNet::SSLeay -e 1").first != 0)
    GTEST_SKIP() << "swaks --tls needs Net::SSLeay (Debian libnet-ssleay-perl)";
  auto [trc, tout] =
      run("swaks" + server + " --to desk@escala.local --from ana@example.com --tls --pipeline");
  EXPECT_EQ(trc, 0) << tout;
  ASSERT_TRUE(handler_.wait_for(2));
  EXPECT_TRUE(handler_.deliveries()[1].envelope.tls);
  // swaks sent a recipient we refuse: it reports the 550 and fails.
  auto [rrc, rout] = run("swaks" + server + " --to unknown@escala.local --from a@b");
  EXPECT_NE(rrc, 0);
  EXPECT_NE(rout.find("550 5.1.1"), std::string::npos) << rout;
}

}  // namespace
}  // namespace escala::adapters::smtp
