#include "adapters/http_api/server.hpp"

#include <atomic>
#include <deque>
#include <mutex>
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

// What a stream's pushes leave for its connection's write loop (server side of
// ResponseStream::start). Shared by the connection and every `push` function given out, so
// that a push after the connection ended is harmless.
struct StreamShared {
  explicit StreamShared(asio::any_io_executor ex) : executor(ex), wake(ex), reader_done(ex) {
    reader_done.expires_at(asio::steady_timer::time_point::max());
  }
  asio::any_io_executor executor;
  asio::steady_timer wake;         // waited on by the writer; cancelled to wake it
  asio::steady_timer reader_done;  // cancelled when the reader has finished
  bool client_gone = false;        // connection thread only
  bool reader_finished = false;    // connection thread only

  std::mutex mu;
  std::string pending;       // GUARDED_BY(mu)
  bool wake_posted = false;  // GUARDED_BY(mu)
  bool overflow = false;     // GUARDED_BY(mu)
  bool closed = false;       // GUARDED_BY(mu)
};

// A client that leaves this much unread is disconnected (it reconnects and refetches).
constexpr size_t kMaxStreamBacklog = 256 * 1024;

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
      if (resp.stream) {
        co_await serve_stream(stream, std::move(resp), version);
        break;
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

  // A long-lived answer: headers, then what the stream pushes, as chunks (HTTP/1.1) or
  // until the connection closes (HTTP/1.0). One coroutine writes, waking on pushes or at
  // the heartbeat; another reads only to notice that the client went away. Neither blocks
  // the thread; the connection counts against max_connections like any other.
  asio::awaitable<void> serve_stream(beast::tcp_stream& stream, Response resp,
                                     unsigned version) {
    ++streams;
    struct Guard {
      std::atomic<int>& c;
      ~Guard() { --c; }
    } guard{streams};
    const bool chunked = version >= 11;
    bhttp::response<bhttp::empty_body> head;
    head.version(version);
    head.result(static_cast<unsigned>(resp.status));
    head.set(bhttp::field::server, "escala");
    head.set(bhttp::field::content_type, resp.content_type);
    head.set(bhttp::field::cache_control, "no-store");
    head.set("X-Content-Type-Options", "nosniff");
    head.set("X-Accel-Buffering", "no");  // proxies (nginx) must not buffer the events
    for (const auto& [k, v] : resp.headers) head.set(k, v);
    head.keep_alive(chunked);
    if (chunked) head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> sr{head};
    stream.expires_after(std::chrono::seconds(opt.read_timeout_seconds));
    if (auto [ec, n] = co_await bhttp::async_write_header(stream, sr, kTuple); ec) co_return;

    auto shared = std::make_shared<StreamShared>(stream.get_executor());
    std::shared_ptr<ResponseStream> source = std::move(resp.stream);
    std::weak_ptr<StreamShared> weak = shared;
    auto push = [weak](std::string text) {
      auto st = weak.lock();
      if (!st) return;
      std::lock_guard lock(st->mu);
      if (st->closed) return;
      if (st->pending.size() + text.size() > kMaxStreamBacklog) {
        st->overflow = true;
      } else {
        st->pending += text;
      }
      if (st->wake_posted) return;
      st->wake_posted = true;
      asio::post(st->executor, [st] { st->wake.cancel(); });
    };
    if (!resp.body.empty()) push(std::move(resp.body));
    source->start(push);

    // The reader: a client of an event stream sends nothing more; end of file or an error
    // means it went away.
    stream.expires_never();
    asio::co_spawn(
        stream.get_executor(),
        [&stream, shared]() -> asio::awaitable<void> {
          char scratch[512];
          for (;;) {
            auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
            if (ec) break;
          }
          shared->client_gone = true;
          shared->reader_finished = true;
          shared->wake.cancel();
          shared->reader_done.cancel();
        },
        asio::detached);

    auto write = [&](const std::string& text) -> asio::awaitable<bool> {
      stream.expires_after(std::chrono::seconds(opt.read_timeout_seconds));
      beast::error_code ec;
      if (chunked) {
        auto [e, n] = co_await asio::async_write(
            stream, bhttp::make_chunk(asio::buffer(text)), kTuple);
        ec = e;
      } else {
        auto [e, n] = co_await asio::async_write(stream, asio::buffer(text), kTuple);
        ec = e;
      }
      co_return !ec;
    };
    const auto interval = source->heartbeat_interval();
    auto last_write = std::chrono::steady_clock::now();
    bool end_cleanly = false;
    for (;;) {
      std::string batch;
      bool overflow = false;
      {
        std::lock_guard lock(shared->mu);
        batch.swap(shared->pending);
        shared->wake_posted = false;
        overflow = shared->overflow;
      }
      if (overflow || shared->client_gone || stopping.load()) break;
      if (!batch.empty()) {
        if (!co_await write(batch)) break;
        last_write = std::chrono::steady_clock::now();
        continue;
      }
      const auto due = last_write + interval;
      if (std::chrono::steady_clock::now() >= due) {
        if (!source->alive()) {
          end_cleanly = true;
          break;
        }
        if (!co_await write(source->heartbeat())) break;
        last_write = std::chrono::steady_clock::now();
        continue;
      }
      shared->wake.expires_at(due);
      co_await shared->wake.async_wait(kTuple);  // a push, the client leaving, or the heartbeat
    }
    {
      std::lock_guard lock(shared->mu);
      shared->closed = true;
      shared->pending.clear();
    }
    source.reset();  // unsubscribes: no more pushes
    if (end_cleanly && chunked && !shared->client_gone) {
      stream.expires_after(std::chrono::seconds(5));
      (void)co_await asio::async_write(stream, bhttp::make_chunk_last(), kTuple);
    }
    // The reader refers to `stream`: let it finish before the connection goes.
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().cancel(ignored);
    if (!shared->reader_finished) (void)co_await shared->reader_done.async_wait(kTuple);
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
  std::atomic<int> streams{0};
  std::atomic<bool> stopping{false};
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
  impl_->stopping = true;
  for (auto& c : impl_->contexts) c->stop();
}

}  // namespace escala::adapters::http
