// SmtpSender against a real SMTP server: Python aiosmtpd (Debian python3-aiosmtpd), started
// by each test on a loopback port with a handler that stores every message in a folder and
// refuses recipients named tempfail* (451) or reject* (550), and senders named datafail*
// at DATA (554). Variants add STARTTLS (required) and AUTH.

#include "adapters/smtp_sender/smtp_sender.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace escala::adapters::smtp {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPython = "/usr/bin/python3";  // the Debian one, with aiosmtpd

constexpr const char* kServerScript = R"PY(
import argparse, os, ssl, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

p = argparse.ArgumentParser()
p.add_argument('--port', type=int, required=True)
p.add_argument('--out', required=True)
p.add_argument('--tls-cert')
p.add_argument('--tls-key')
p.add_argument('--auth')
a = p.parse_args()

class Handler:
    def __init__(self):
        self.n = 0
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('tempfail'):
            return '451 4.3.0 mailbox busy, try later please'
        if address.startswith('reject'):
            return '550 5.1.1 no such user here'
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'
    async def handle_DATA(self, server, session, envelope):
        if envelope.mail_from.startswith('datafail'):
            return '554 5.6.0 content refused by policy'
        self.n += 1
        name = os.path.join(a.out, 'msg-%06d' % self.n)
        with open(name + '.tmp', 'wb') as f:
            f.write(envelope.original_content)
        with open(name + '.env', 'w') as f:
            f.write('%s\n%s\n%s\n' % (session.peer[1], envelope.mail_from,
                                      ','.join(envelope.rcpt_tos)))
        os.rename(name + '.tmp', name + '.eml')
        return '250 2.0.0 Ok: queued as %d' % self.n

kw = {}
if a.tls_cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.tls_cert, a.tls_key)
    kw.update(tls_context=ctx, require_starttls=True)
if a.auth:
    user, password = a.auth.split(':', 1)
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False)
    kw.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
c = Controller(Handler(), hostname='127.0.0.1', port=a.port, **kw)
c.start()
while True:
    time.sleep(3600)
)PY";

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/escala-smtp-sender-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A loopback port nobody listens on right now (bound, read, closed).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool can_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// One aiosmtpd process; killed (by its PID) when the object goes.
class AioSmtpd {
 public:
  explicit AioSmtpd(std::vector<std::string> extra = {}, uint16_t port = 0)
      : port_(port != 0 ? port : free_port()) {
    script_ = dir_.path + "/server.py";
    out_ = dir_.path + "/out";
    fs::create_directory(out_);
    std::ofstream(script_) << kServerScript;
    std::vector<std::string> args = {kPython, script_, "--port", std::to_string(port_),
                                     "--out", out_};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    // Its log (and Python's warnings) go to a file beside the messages.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string log = dir_.path + "/server.log";
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (::posix_spawn(&pid_, kPython, &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    // Ready when it accepts connections: poll, briefly, up to 15 s.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (pid_ > 0 && !can_connect(port_) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ready_ = pid_ > 0 && can_connect(port_);
  }
  ~AioSmtpd() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  bool ready() const { return ready_; }
  uint16_t port() const { return port_; }
  SmtpRelay relay() const {
    SmtpRelay r;
    r.host = "127.0.0.1";
    r.port = port_;
    r.timeout = std::chrono::seconds(10);
    return r;
  }

  struct Stored {
    std::string bytes;
    std::string peer_port, mail_from, rcpt_to;
  };
  std::vector<Stored> messages() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(out_))
      if (e.path().extension() == ".eml") names.push_back(e.path().string());
    std::sort(names.begin(), names.end());
    std::vector<Stored> out;
    for (const auto& n : names) {
      Stored s;
      s.bytes = read_file(n);
      std::istringstream env(read_file(n.substr(0, n.size() - 4) + ".env"));
      std::getline(env, s.peer_port);
      std::getline(env, s.mail_from);
      std::getline(env, s.rcpt_to);
      out.push_back(std::move(s));
    }
    return out;
  }

 private:
  TempDir dir_;
  std::string script_, out_;
  uint16_t port_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

// A throw-away self-signed certificate for "localhost".
struct Certificate {
  Certificate() {
    cert = dir.path + "/cert.pem";
    key = dir.path + "/key.pem";
    std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 "
        "-keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    ok = std::system(cmd.c_str()) == 0;
  }
  TempDir dir;
  std::string cert, key;
  bool ok = false;
};

const std::string kMessage =
    "From: Ana <ana@example.com>\r\n"
    "To: desk@escala.local\r\n"
    "Subject: printer on fire\r\n"
    "\r\n"
    "Hello,\r\n"
    ".\r\n"
    "..two dots\r\n"
    ".leading dot\r\n"
    "\r\n"
    "bye\r\n";

TEST(SmtpSender, SendsTheExactBytes) {
  AioSmtpd server;
  ASSERT_TRUE(server.ready());
  SmtpSender sender(server.relay());
  auto r = sender.send("ana@example.com", {"desk@escala.local"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kSent) << r.detail;
  EXPECT_EQ(r.smtp_code, 250);
  EXPECT_NE(r.detail.find("queued as 1"), std::string::npos) << r.detail;
  EXPECT_TRUE(r.refused.empty());
  auto stored = server.messages();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].bytes, kMessage);
  EXPECT_EQ(stored[0].mail_from, "ana@example.com");
  EXPECT_EQ(stored[0].rcpt_to, "desk@escala.local");
}

TEST(SmtpSender, NullSenderForBounces) {
  AioSmtpd server;
  ASSERT_TRUE(server.ready());
  SmtpSender sender(server.relay());
  auto r = sender.send("", {"a@example.com", "b@example.com"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kSent) << r.detail;
  auto stored = server.messages();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].mail_from, "<>");  // how aiosmtpd records the null sender
  EXPECT_EQ(stored[0].rcpt_to, "a@example.com,b@example.com");
}

TEST(SmtpSender, RelayDownIsTemporary) {
  SmtpRelay relay;
  relay.host = "127.0.0.1";
  relay.port = free_port();  // nothing listens there
  relay.timeout = std::chrono::seconds(5);
  SmtpSender sender(relay);
  auto r = sender.send("ana@example.com", {"desk@escala.local"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kTemporary);
  EXPECT_EQ(r.smtp_code, 0);
  EXPECT_NE(r.detail.find("127.0.0.1:" + std::to_string(relay.port)), std::string::npos)
      << r.detail;
  EXPECT_NE(r.detail.find("onnect"), std::string::npos) << r.detail;
  std::printf("relay down: %s\n", r.detail.c_str());
}

TEST(SmtpSender, TemporaryRefusalIsTemporary) {
  AioSmtpd server;
  ASSERT_TRUE(server.ready());
  SmtpSender sender(server.relay());
  auto r = sender.send("ana@example.com", {"tempfail@escala.local"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kTemporary) << r.detail;
  EXPECT_EQ(r.smtp_code, 451);
  EXPECT_NE(r.detail.find("try later please"), std::string::npos) << r.detail;
  EXPECT_TRUE(server.messages().empty());
}

TEST(SmtpSender, PermanentRefusalIsPermanentWithTheRelaysText) {
  AioSmtpd server;
  ASSERT_TRUE(server.ready());
  SmtpSender sender(server.relay());
  auto r = sender.send("ana@example.com", {"reject@escala.local"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kPermanent) << r.detail;
  EXPECT_EQ(r.smtp_code, 550);
  EXPECT_NE(r.detail.find("550 5.1.1 no such user here"), std::string::npos) << r.detail;
  std::printf("unknown user: %s\n", r.detail.c_str());
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_EQ(r.refused[0].address, "reject@escala.local");
  // The same handle goes on working after a refusal.
  auto again = sender.send("ana@example.com", {"desk@escala.local"}, kMessage);
  EXPECT_EQ(again.outcome, SendOutcome::kSent) << again.detail;
  EXPECT_EQ(server.messages().size(), 1u);
}

TEST(SmtpSender, RefusalAtDataIsPermanent) {
  AioSmtpd server;
  ASSERT_TRUE(server.ready());
  SmtpSender sender(server.relay());
  auto r = sender.send("datafail@example.com", {"desk@escala.local"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kPermanent) << r.detail;
  EXPECT_EQ(r.smtp_code, 554);
  EXPECT_NE(r.detail.find("content refused by policy"), std::string::npos) << r.detail;
}

TEST(SmtpSender, SomeRecipientsRefusedTheOthersGetIt) {
  AioSmtpd server;
  ASSERT_TRUE(server.ready());
  SmtpSender sender(server.relay());
  auto r = sender.send(
      "ana@example.com",
      {"one@escala.local", "reject@escala.local", "tempfail@escala.local", "two@escala.local"},
      kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kSent) << r.detail;
  ASSERT_EQ(r.refused.size(), 2u);
  EXPECT_EQ(r.refused[0].address, "reject@escala.local");
  EXPECT_EQ(r.refused[0].smtp_code, 550);
  EXPECT_EQ(r.refused[1].address, "tempfail@escala.local");
  EXPECT_EQ(r.refused[1].smtp_code, 451);
  EXPECT_NE(r.detail.find("no such user here"), std::string::npos) << r.detail;
  auto stored = server.messages();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].rcpt_to, "one@escala.local,two@escala.local");
}

TEST(SmtpSender, AllRecipientsRefusedMixedIsTemporary) {
  AioSmtpd server;
  ASSERT_TRUE(server.ready());
  SmtpSender sender(server.relay());
  auto r =
      sender.send("ana@example.com", {"reject@escala.local", "tempfail@escala.local"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kTemporary) << r.detail;
  EXPECT_EQ(r.refused.size(), 2u);
}

TEST(SmtpSender, MalformedAddressesAreRefusedWithoutContactingTheRelay) {
  SmtpRelay relay;
  relay.host = "127.0.0.1";
  relay.port = free_port();
  SmtpSender sender(relay);
  EXPECT_EQ(sender.send("a@b", {"x@y>\r\nRCPT TO:<evil@z"}, kMessage).outcome,
            SendOutcome::kPermanent);
  EXPECT_EQ(sender.send("a@b\r\n", {"x@y"}, kMessage).outcome, SendOutcome::kPermanent);
  EXPECT_EQ(sender.send("a@b", {}, kMessage).outcome, SendOutcome::kPermanent);
}

TEST(SmtpSender, ReusesOneConnectionFor200Messages) {
  AioSmtpd server;
  ASSERT_TRUE(server.ready());
  SmtpSender sender(server.relay());
  auto start = std::chrono::steady_clock::now();
  int sent = 0;
  for (int i = 0; i < 200; ++i) {
    std::string m = kMessage + "message " + std::to_string(i) + "\r\n";
    auto r = sender.send("ana@example.com", {"desk@escala.local"}, m);
    if (r.outcome == SendOutcome::kSent) ++sent;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("sent 200 messages to aiosmtpd in %.2f s (%.0f messages/s)\n", seconds,
              200 / seconds);
  EXPECT_EQ(sent, 200);
  auto stored = server.messages();
  ASSERT_EQ(stored.size(), 200u);
  std::set<std::string> peers;
  for (size_t i = 0; i < stored.size(); ++i) {
    peers.insert(stored[i].peer_port);
    EXPECT_EQ(stored[i].bytes, kMessage + "message " + std::to_string(i) + "\r\n");
  }
  EXPECT_EQ(peers.size(), 1u) << "each message should reuse the first connection";
}

TEST(SmtpSender, RelayRestartedBetweenMessagesIsReconnected) {
  uint16_t port = 0;
  {
    AioSmtpd first;
    ASSERT_TRUE(first.ready());
    port = first.port();
  }
  SmtpRelay relay;
  relay.host = "127.0.0.1";
  relay.port = port;
  SmtpSender sender(relay);
  {
    AioSmtpd server({}, port);
    ASSERT_TRUE(server.ready());
    EXPECT_EQ(sender.send("a@b", {"desk@escala.local"}, kMessage).outcome, SendOutcome::kSent);
  }  // the relay goes away with our cached connection
  AioSmtpd again({}, port);
  ASSERT_TRUE(again.ready());
  auto r = sender.send("a@b", {"desk@escala.local"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kSent) << r.detail;
  EXPECT_EQ(again.messages().size(), 1u);
}

TEST(SmtpSender, StartTlsRequired) {
  Certificate cert;
  ASSERT_TRUE(cert.ok);
  AioSmtpd server({"--tls-cert", cert.cert, "--tls-key", cert.key});
  ASSERT_TRUE(server.ready());

  SmtpRelay relay = server.relay();
  relay.starttls = true;
  relay.verify_peer = false;  // self-signed
  SmtpSender sender(relay);
  auto r = sender.send("ana@example.com", {"desk@escala.local"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kSent) << r.detail;
  auto stored = server.messages();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].bytes, kMessage);

  // Verifying the self-signed certificate fails: a configuration problem, retried later.
  relay.verify_peer = true;
  SmtpSender strict(relay);
  auto v = strict.send("ana@example.com", {"desk@escala.local"}, kMessage);
  EXPECT_EQ(v.outcome, SendOutcome::kTemporary) << v.detail;
  std::printf("unverifiable certificate: %s\n", v.detail.c_str());
  EXPECT_FALSE(v.detail.empty());

  // Without STARTTLS the relay refuses ("530 Must issue a STARTTLS command first").
  relay.starttls = false;
  SmtpSender plain(relay);
  auto p = plain.send("ana@example.com", {"desk@escala.local"}, kMessage);
  EXPECT_NE(p.outcome, SendOutcome::kSent);
  EXPECT_EQ(p.smtp_code, 530) << p.detail;
  EXPECT_EQ(server.messages().size(), 1u);
}

TEST(SmtpSender, StartTlsRequiredButNotOfferedIsTemporary) {
  AioSmtpd server;  // no TLS
  ASSERT_TRUE(server.ready());
  SmtpRelay relay = server.relay();
  relay.starttls = true;
  SmtpSender sender(relay);
  auto r = sender.send("ana@example.com", {"desk@escala.local"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kTemporary) << r.detail;
  EXPECT_TRUE(server.messages().empty());
  std::printf("STARTTLS not offered: %s\n", r.detail.c_str());
}

TEST(SmtpSender, AuthSucceeds) {
  AioSmtpd server({"--auth", "desk:s3cret pass"});
  ASSERT_TRUE(server.ready());
  SmtpRelay relay = server.relay();
  relay.username = "desk";
  relay.password = "s3cret pass";
  SmtpSender sender(relay);
  auto r = sender.send("ana@example.com", {"desk@escala.local"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kSent) << r.detail;
  EXPECT_EQ(server.messages().size(), 1u);
}

TEST(SmtpSender, WrongPasswordIsPermanent) {
  AioSmtpd server({"--auth", "desk:s3cret pass"});
  ASSERT_TRUE(server.ready());
  SmtpRelay relay = server.relay();
  relay.username = "desk";
  relay.password = "wrong";
  SmtpSender sender(relay);
  auto r = sender.send("ana@example.com", {"desk@escala.local"}, kMessage);
  EXPECT_EQ(r.outcome, SendOutcome::kPermanent) << r.detail;
  EXPECT_EQ(r.smtp_code, 535) << r.detail;
  std::printf("wrong password: %s\n", r.detail.c_str());
  EXPECT_TRUE(server.messages().empty());
}

}  // namespace
}  // namespace escala::adapters::smtp
