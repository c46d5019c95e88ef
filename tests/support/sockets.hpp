#pragma once
// Raw socket clients for tests that speak the protocols by hand (bad input, the control
// socket's edges): blocking connects, and reads and writes bounded by a deadline.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tests/support/process.hpp"

namespace p2pchat::test {

// Connects over TCP, from the local address `source` when one is given (another loopback
// address, so that a test's flood comes from an address of its own); -1 on failure.
int tcp_connect(std::string const& host, std::uint16_t port, std::string const& source = {});
// Connects to a Unix stream socket; -1 on failure.
int unix_connect(std::string const& path);
// Writes everything or fails (false), within the deadline.
bool write_all(int fd, std::string_view data, milliseconds timeout);
// True if the peer closes the connection (EOF or reset) within the timeout; whatever it sent
// before closing is appended to *received when given.
bool wait_closed(int fd, milliseconds timeout, std::string* received = nullptr);
// Reads one '\n'-terminated line (without the '\n') within the timeout; `buffer` keeps what
// was read beyond it.
std::optional<std::string> read_line(int fd, std::string& buffer, milliseconds timeout);
// A 4-byte big-endian length followed by the payload (the peer-protocol frame).
std::string frame(std::string_view payload);
std::string frame_header(std::uint32_t length);

}  // namespace p2pchat::test
