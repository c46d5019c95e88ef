#pragma once
// The control API's JSON (docs/CONTROL.md) for the node's typed values: made here, at the
// edge that speaks JSON, and nowhere else in the daemon.
#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "common/engine/chat_room.hpp"
#include "common/engine/events.hpp"
#include "daemon/node_status.hpp"

namespace p2pchat::daemon {

inline std::string short_id(std::string_view id) { return std::string(id.substr(0, 8)); }

boost::json::object to_json(engine::peer_view const& peer);
boost::json::object to_json(node_status const& status);
// A delivery event's body (also what `send` with wait_ms says of its message).
boost::json::object to_json(engine::message_delivery const& delivery);
// An event's body as subscribers receive it, without the seq and time_ms the log stamps.
boost::json::object to_json(engine::node_event const& event);
// A message event's body with the seq and time_ms the log stamps, appended to `out` as
// serialize() would write to_json(...) plus those two fields (same fields, same order).
void append_message_body(std::string& out, engine::message_arrived const& m, std::uint64_t seq,
                         std::int64_t time_ms);
// A `send`'s result: the message's id, seq and Lamport time, and how many peers it went to.
boost::json::object send_result(engine::send_receipt const& receipt, std::size_t peers);
// The reply line (newline included) that serialize(rpc::make_result(id, send_result(...)))
// gives, written by hand: a producer piping lines into `p2pchatctl send` makes one call per
// line, and this is the reply the control socket writes most.
std::string send_result_line(boost::json::value const& id, engine::send_receipt const& receipt,
                             std::size_t peers);
// The body's "type": message, peer_joined, peer_left, peer_renamed or delivery.
std::string_view event_type(engine::node_event const& event);

}  // namespace p2pchat::daemon
