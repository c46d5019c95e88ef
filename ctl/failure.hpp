#pragma once
// Expected failures of a p2pchatctl command as values: the exit status and the one line the
// user sees on stderr. Commands return them up to main(), which prints and exits.
#include <string>
#include <utility>
#include <variant>

namespace p2pchat::ctl {

struct failure {
    int status = 1;       // exit status (rpc::exit_status)
    std::string message;  // printed as "p2pchatctl: <message>"; empty for a quiet exit
};

// A value or a failure. Small on purpose: std::expected is C++23 and this is all ctl needs.
template <class T>
class result {
  public:
    result(T value) : v_(std::move(value)) {}
    result(failure f) : v_(std::move(f)) {}

    explicit operator bool() const { return v_.index() == 0; }
    T& operator*() { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    failure& error() { return std::get<1>(v_); }

  private:
    std::variant<T, failure> v_;
};

// For operations that return nothing on success.
struct ok_t {};
inline constexpr ok_t ok{};

// Prints "p2pchatctl: <message>" on stderr (when there is a message) and returns the status.
int report(failure const& f);

}  // namespace p2pchat::ctl
