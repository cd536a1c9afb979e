#pragma once
// Group commit for the PostgreSQL store: callers queue a job and wait; writer threads, each
// with its own connection, take every pending job (up to `max_batch`) and run them with
// `run_batch`, which commits them in one transaction and sets every job's result before
// it returns. One commit (one WAL flush) then acknowledges many writes, and the statements
// of a batch can be multi-row.
//
// Thread-safety: submit() from any thread. `run_batch` runs on a writer thread; it must
// set a result on every job of the batch (the caller wakes as soon as it returns).
// Shutdown: the destructor lets the writers finish every queued job, then joins them.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/pg_store/pg_conn.hpp"
#include "core/result.hpp"

namespace escala::adapters::pg {

// Base of a job: the caller sleeps in wait() until the writer calls finish(). (A mutex and
// a condition variable, not std::binary_semaphore: libstdc++'s semaphore spins with
// sched_yield before it sleeps, which cost ~10 % of the server's CPU with 32 waiting
// callers on 2 cores.)
class GroupJob {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }
  void finish() {
    // Notified under the lock: the waiter may destroy the job as soon as it sees done_.
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // GUARDED_BY(mu_)
};

template <typename Job>
class GroupCommit {
 public:
  // The writer's connection (null until the first batch connects it, or after it broke:
  // run_batch connects it) and the jobs of one batch.
  using RunBatch = std::function<void(std::unique_ptr<Conn>& conn, const std::vector<Job*>& jobs)>;

  GroupCommit(int writers, int max_batch, int max_queue, RunBatch run)
      : max_batch_(std::max(1, max_batch)), max_queue_(std::max(1, max_queue)), run_(std::move(run)) {
    for (int i = 0; i < std::max(1, writers); ++i) threads_.emplace_back([this] { writer(); });
  }
  ~GroupCommit() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues the job and waits until a writer has run it. False (nothing run) when the
  // queue is full or the store is shutting down.
  bool submit(Job& job) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || static_cast<int>(queue_.size()) >= max_queue_) return false;
      queue_.push_back(&job);
    }
    cv_.notify_one();
    job.wait();
    return true;
  }

 private:
  void writer() {
    std::unique_ptr<Conn> conn;
    std::vector<Job*> batch;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left to do
        while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch_) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
      run_(conn, batch);
      // Each caller wakes alone: no herd re-checking a shared condition.
      for (Job* j : batch) j->finish();
    }
  }

  const int max_batch_;
  const int max_queue_;
  RunBatch run_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;   // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace escala::adapters::pg
