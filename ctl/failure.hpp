#pragma once
// Expected failures of a p2pchatctl command as values: the exit status and the one line the
// user sees on stderr. Commands return them up to main(), which prints and exits.
#include <boost/system/result.hpp>
#include <boost/throw_exception.hpp>
#include <stdexcept>
#include <string>

namespace p2pchat::ctl {

struct failure {
    int status = 1;       // exit status (rpc::exit_status)
    std::string message;  // printed as "p2pchatctl: <message>"; empty for a quiet exit
};

// A value or a failure; result<void> for operations that return nothing on success
// (`return {};`). Callers test it and take error(); value() on a failure throws (a bug).
template <class T>
using result = boost::system::result<T, failure>;

// What result<T>::value() throws on a failure (found by argument-dependent lookup).
[[noreturn]] inline void throw_exception_from_error(failure const& f,
                                                    boost::source_location const& loc) {
    boost::throw_exception(std::runtime_error(f.message), loc);
}

// Prints "p2pchatctl: <message>" on stderr (when there is a message) and returns the status.
int report(failure const& f);

}  // namespace p2pchat::ctl
