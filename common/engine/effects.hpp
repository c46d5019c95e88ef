#pragma once
// What the engine asks its runtime to do. Every input appends effects to an `effects` list;
// the runtime (daemon/ with sockets, tests/sim/ with a simulated network) carries them out in
// order before it feeds the next input. Nothing here does I/O.
//
// Messages travel as shared immutable values: a broadcast is encoded once by the runtime and
// the same buffer goes to every link.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/address.hpp"
#include "common/engine/events.hpp"
#include "common/engine/time.hpp"
#include "common/wire/messages.hpp"

namespace p2pchat::engine {

// A connection the runtime accepted or dialled; the runtime numbers them, 0 is never used.
using connection_id = std::uint64_t;
using outgoing = std::shared_ptr<wire::message const>;

template <class Message>
outgoing make_outgoing(Message&& m) {
    return std::make_shared<wire::message const>(std::forward<Message>(m));
}

// probe: the failure detector's next deadline (a probe, a suspicion running out);
// ack: the acknowledgements of the messages stored since the last ones are due.
enum class timer_kind { gossip, seal, probe, ack };
enum class severity { debug, info, notice, warning };

// Sends on the persistent outbound link to `peer` (queued while it is down). `first` puts the
// message ahead of everything queued: the greeting of a link that just (re)connected.
struct send_to_peer {
    std::string peer;
    outgoing message;
    bool first = false;
};
// Sends on one connection, whichever side opened it: the answer to what arrived on it, now
// or later (an indirect probe's requester is answered on its own connection when the target's
// ack comes in on another). A connection that closed meanwhile drops it.
struct reply_on {
    connection_id connection = 0;
    outgoing message;
};
// Sends on every outbound link except the one to `except` (empty: none excepted).
struct broadcast {
    outgoing message;
    std::string except;
};
// Opens the persistent outbound link to a peer: dial, greet, redial with backoff when it
// breaks, and report link_up/link_down as it goes.
struct dial_peer {
    std::string peer;
    address target;
};
// The peer now listens elsewhere: drop the link's connection and dial the new address.
struct redirect_link {
    std::string peer;
    address target;
};
// Ends the link to a peer: at once (queue discarded), or after what is queued was written.
struct hang_up {
    std::string peer;
    bool flush = false;
};
struct close_connection {
    connection_id connection = 0;
    bool flush = false;
};
// (Re)arms the one timer of this kind; on_timer(kind) is the input when it fires.
struct arm_timer {
    timer_kind timer = timer_kind::gossip;
    steady_time at;
};
struct emit_event {
    node_event event;
};
// Keeps an accepted chat message in the node's message_store (see message_store.hpp), with the
// Unix time (ms) it arrived and whether it came late (message_arrived::late), which a runtime
// keeps with it to show it again as it was shown.
struct store_message {
    wire::chat_msg chat;
    std::int64_t arrived_unix_ms = 0;
    bool late = false;
};
// Keeps a seal that proves messages the store holds (or will hold: it may come first).
struct store_seal {
    wire::seal_msg seal;
};
// A member handed this node its network's key (the network was open and is now closed): the
// runtime takes it when its own network is open, and ignores it otherwise.
struct adopt_network_key {
    std::string key;  // as network_key_msg carries it
    std::string from;
};
struct log_line {
    severity level = severity::info;
    std::string text;
};

using effect = std::variant<send_to_peer, reply_on, broadcast, dial_peer, redirect_link, hang_up,
                            close_connection, arm_timer, emit_event, store_message, store_seal,
                            adopt_network_key, log_line>;

// The list one input appends to. Components of the engine write through it; the runtime
// takes the list (take()) and executes it.
class effects {
  public:
    void push(effect e) { list_.push_back(std::move(e)); }
    template <class... Parts>
    void log(severity level, Parts const&... parts) {
        std::string text;
        (append(text, parts), ...);
        list_.push_back(log_line{level, std::move(text)});
    }

    bool empty() const { return list_.empty(); }
    std::vector<effect> const& pending() const { return list_; }
    // Hands the pending effects over and starts a new list. Pass back a drained list to
    // reuse its storage (no allocation per input on a busy node).
    std::vector<effect> take(std::vector<effect> spare = {}) {
        spare.clear();
        std::swap(spare, list_);
        return spare;
    }

  private:
    static void append(std::string& out, std::string_view s) { out += s; }
    static void append(std::string& out, char const* s) { out += s; }
    static void append(std::string& out, std::string const& s) { out += s; }
    template <class Number>
    requires std::is_arithmetic_v<Number>
    static void append(std::string& out, Number n) { out += std::to_string(n); }

    std::vector<effect> list_;
};

// A short name of the effect's kind, for traces.
std::string_view kind_name(effect const& e);

}  // namespace p2pchat::engine
