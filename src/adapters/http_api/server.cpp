#include "adapters/http_api/server.hpp"

#include <atomic>
#include <optional>
#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>
#include <vector>

namespace escala::adapters::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

Response too_large(size_t limit) {
  Response r;
  r.status = 413;
  r.body = R"({"error":{"code":"payload_too_large","message":"the body is larger than )" +
           std::to_string(limit) + R"( bytes"}})";
  return r;
}

Response bad_request(const std::string& message) {
  Response r;
  r.status = 400;
  r.body = R"({"error":{"code":"bad_request","message":")" + message + R"("}})";
  return r;
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions o, Handler h, BlockingPredicate b)
      : opt(std::move(o)),
        handler(std::move(h)),
        is_blocking(std::move(b)),
        workers(static_cast<size_t>(opt.worker_threads)) {
    // One io_context per network thread, each run by exactly one thread: connections stay
    // on their thread and the scheduler needs no cross-thread locking or wake-ups.
    for (int i = 0; i < std::max(1, opt.network_threads); ++i)
      contexts.push_back(std::make_unique<asio::io_context>(1));
    acceptor.emplace(*contexts[0]);
  }

  Status listen() {
    beast::error_code ec;
    auto addr = asio::ip::make_address(opt.host, ec);
    if (ec) return make_error(ErrorCode::kInvalidArgument, "bad listen address " + opt.host);
    tcp::endpoint ep(addr, opt.port);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(ErrorCode::kUnavailable,
                        "cannot listen on " + opt.host + ":" + std::to_string(opt.port) + ": " +
                            ec.message());
    port = acceptor->local_endpoint().port();
    return ok_status();
  }

  asio::awaitable<void> do_accept() {
    for (;;) {
      auto& target = *contexts[next_context++ % contexts.size()];
      auto [ec, socket] = co_await acceptor->async_accept(target, kTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;  // e.g. too many open files: keep serving the others
      }
      if (connections.load() >= opt.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto ex = socket.get_executor();
      asio::co_spawn(ex, do_session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<Response> run_blocking(Request req) {
    co_return handler(req);
  }

  asio::awaitable<void> do_session(tcp::socket socket) {
    ++connections;
    struct Guard {
      std::atomic<int>& c;
      ~Guard() { --c; }
    } guard{connections};
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    std::string client;
    {
      beast::error_code ec;
      auto ep = stream.socket().remote_endpoint(ec);
      if (!ec) client = ep.address().to_string();
    }
    for (;;) {
      stream.expires_after(std::chrono::seconds(opt.read_timeout_seconds));
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opt.max_header));
      parser.body_limit(opt.max_body);
      auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kTuple);
      size_t limit = opt.max_body;
      if (!ec && opt.body_limit_for) {
        const size_t special = opt.body_limit_for(std::string_view(parser.get().target()));
        if (special > 0) limit = special;
        parser.body_limit(limit);
      }
      if (!ec && !parser.is_done()) {
        auto [ec2, n2] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
        ec = ec2;
      }
      Response resp;
      bool keep_alive = false;
      unsigned version = 11;
      if (ec == bhttp::error::end_of_stream || ec == asio::error::eof) break;
      if (ec == bhttp::error::body_limit) {
        resp = too_large(limit);
      } else if (ec == bhttp::error::header_limit) {
        resp = bad_request("the request headers are too large");
        resp.status = 431;
      } else if (ec) {
        if (ec == beast::error::timeout || ec == asio::error::operation_aborted ||
            ec == asio::error::connection_reset)
          break;
        resp = bad_request("malformed HTTP request");
      } else {
        auto& msg = parser.get();
        keep_alive = msg.keep_alive();
        version = msg.version();
        Request req;
        req.method = std::string(msg.method_string());
        req.target = std::string(msg.target());
        req.authorization = std::string(msg[bhttp::field::authorization]);
        req.content_type = std::string(msg[bhttp::field::content_type]);
        req.accept = std::string(msg[bhttp::field::accept]);
        req.accept_encoding = std::string(msg[bhttp::field::accept_encoding]);
        req.cookie = std::string(msg[bhttp::field::cookie]);
        req.csrf_token = std::string(msg["X-CSRF-Token"]);
        req.origin = std::string(msg[bhttp::field::origin]);
        req.sec_fetch_site = std::string(msg["Sec-Fetch-Site"]);
        req.host = std::string(msg[bhttp::field::host]);
        req.body = std::move(msg.body());
        req.client = client;
        if (is_blocking(req)) {
          resp = co_await asio::co_spawn(workers, run_blocking(std::move(req)),
                                         asio::use_awaitable);
        } else {
          resp = handler(req);
        }
      }
      bhttp::response<bhttp::string_body> out;
      out.version(version);
      out.result(static_cast<unsigned>(resp.status));
      out.set(bhttp::field::server, "escala");
      if (!resp.body.empty() || resp.status != 204)
        out.set(bhttp::field::content_type, resp.content_type);
      out.set(bhttp::field::cache_control, "no-store");
      out.set("X-Content-Type-Options", "nosniff");
      for (const auto& [k, v] : resp.headers) out.set(k, v);
      out.body() = std::move(resp.body);
      out.keep_alive(keep_alive);
      out.prepare_payload();
      stream.expires_after(std::chrono::seconds(opt.read_timeout_seconds));
      auto [wec, wn] = co_await bhttp::async_write(stream, out, kTuple);
      if (wec || !keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  ServerOptions opt;
  Handler handler;
  BlockingPredicate is_blocking;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  asio::thread_pool workers;
  std::optional<tcp::acceptor> acceptor;
  size_t next_context = 0;  // used by the accept loop only
  unsigned short port = 0;
  std::atomic<int> connections{0};
};

Result<std::unique_ptr<Server>> Server::create(ServerOptions options, Handler handler,
                                               BlockingPredicate is_blocking) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler),
                                     std::move(is_blocking));
  auto st = impl->listen();
  if (!st.ok()) return st.error();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() {
  stop();
  impl_->workers.join();
}

unsigned short Server::port() const { return impl_->port; }

void Server::run() {
  asio::co_spawn(impl_->acceptor->get_executor(), impl_->do_accept(), asio::detached);
  // Keep every context running while it has no work yet.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& c : impl_->contexts) guards.push_back(asio::make_work_guard(*c));
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->contexts.size(); ++i)
    threads.emplace_back([this, i] { impl_->contexts[i]->run(); });
  impl_->contexts[0]->run();
  for (auto& t : threads) t.join();
}

void Server::stop() {
  for (auto& c : impl_->contexts) c->stop();
}

}  // namespace escala::adapters::http
