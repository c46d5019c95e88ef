#include "daemon/frame_reader.hpp"

#include <array>

namespace p2pchat::daemon {

std::span<char> shared_read_buffer() {
    thread_local std::array<char, 64 * 1024> buffer;
    return buffer;
}

}  // namespace p2pchat::daemon
