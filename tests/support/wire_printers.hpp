#pragma once
// How GoogleTest prints the wire structs tests compare (found by ADL): a failed
// EXPECT_EQ(entry, ...) shows the fields, not the bytes of the object.
#include <ostream>

#include "common/wire/messages.hpp"

namespace p2pchat::wire {

inline void PrintTo(peer_entry const& e, std::ostream* os) {
    *os << "{" << e.id.substr(0, 8) << " '" << e.name << "' " << e.addr << " inc " << e.inc << ' '
        << (e.state == peer_state::alive ? "alive" : "left") << " sig " << e.sig.substr(0, 8)
        << "}";
}

inline void PrintTo(chat_msg const& c, std::ostream* os) {
    *os << "{" << c.origin.substr(0, 8) << ":" << c.seq << " lamport " << c.lamport << " time "
        << c.time_ms << " '" << c.name << "': '" << c.text.substr(0, 40) << "' chain "
        << c.chain.substr(0, 8) << "}";
}

inline void PrintTo(seal_msg const& s, std::ostream* os) {
    *os << "{seal " << s.origin.substr(0, 8) << ":" << s.seq << " chain " << s.chain.substr(0, 8)
        << " sig " << s.sig.substr(0, 8) << "}";
}

}  // namespace p2pchat::wire
