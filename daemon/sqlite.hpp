#pragma once
// A thin RAII layer over SQLite's C API for the daemon's store: a connection and prepared
// statements that are kept open and reused (reset, bind, step). Errors are values (SQLite's
// result codes); the caller decides whether one is a start-up failure or a logged write error.
//
// Single-threaded, like the rest of the node: one connection, used only on the io thread.
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace p2pchat::daemon::sqlite {

class statement {
  public:
    statement() = default;
    explicit statement(sqlite3_stmt* s) : s_(s) {}
    statement(statement&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    statement& operator=(statement&& o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~statement() { sqlite3_finalize(s_); }

    // Clears the previous run (its row, its bindings stay until rebound) for the next.
    statement& reset() {
        sqlite3_reset(s_);
        return *this;
    }
    // Binds parameter i (from 1). Unsigned values are stored as SQLite's signed integers:
    // values above INT64_MAX are clamped, which no seq, Lamport time or count reaches.
    statement& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    statement& bind(int i, std::uint64_t v) {
        return bind(i, static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX)));
    }
    statement& bind_null(int i) {
        sqlite3_bind_null(s_, i);
        return *this;
    }
    statement& bind(int i, std::string_view v) {
        // SQLITE_STATIC: the caller's text outlives the step; nothing is copied.
        sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
        return *this;
    }
    // SQLITE_ROW, SQLITE_DONE or an error code.
    int step() { return sqlite3_step(s_); }
    // Steps a statement that returns no rows (a write) and resets it at once: a statement
    // left in progress, after an error say, would keep its transaction from committing.
    int run() {
        int const rc = sqlite3_step(s_);
        sqlite3_reset(s_);
        return rc;
    }

    std::int64_t int64(int column) const { return sqlite3_column_int64(s_, column); }
    bool is_null(int column) const { return sqlite3_column_type(s_, column) == SQLITE_NULL; }
    std::uint64_t uint64(int column) const {
        auto const v = sqlite3_column_int64(s_, column);
        return v < 0 ? 0 : static_cast<std::uint64_t>(v);
    }
    // Valid until the next step or reset.
    std::string_view text(int column) const {
        auto const* p = reinterpret_cast<char const*>(sqlite3_column_text(s_, column));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, column)))
                 : std::string_view();
    }

  private:
    sqlite3_stmt* s_ = nullptr;
};

class database {
  public:
    database() = default;
    database(database const&) = delete;
    database& operator=(database const&) = delete;
    ~database() { sqlite3_close_v2(db_); }

    // Opens (creating) the file. SQLite makes a handle even when opening fails: it carries
    // the error message, and is closed by the destructor.
    int open(std::string const& path) {
        return sqlite3_open_v2(path.c_str(), &db_,
                               SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                               nullptr);
    }
    // Opens an existing file for reading only: a second connection that cannot write.
    int open_read_only(std::string const& path) {
        return sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                               nullptr);
    }
    int exec(char const* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }
    // SQLITE_OK and `out` set, or an error code.
    int prepare(std::string_view sql, statement& out) {
        sqlite3_stmt* s = nullptr;
        int const rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &s, nullptr);
        out = statement(s);
        return rc;
    }
    int changes() const { return sqlite3_changes(db_); }
    char const* message() const { return db_ ? sqlite3_errmsg(db_) : "out of memory"; }
    sqlite3* get() const { return db_; }

  private:
    sqlite3* db_ = nullptr;
};

}  // namespace p2pchat::daemon::sqlite
