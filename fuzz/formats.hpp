#pragma once
// The input formats of the harnesses that read structured inputs, shared with the seed
// generator (seeds.cpp) so that seeds say what they mean. Each harness's header comment
// describes its operands; the values here are the op codes. An op byte is taken modulo the
// count, so every byte is some op.
#include <cstdint>

namespace p2pchat::fuzz {

// handshake.cpp: setup bits, then one op per message the victim reads.
namespace handshake_format {
inline constexpr std::uint8_t victim_initiates = 1, open_network = 2, wrong_key = 4,
                              false_identity = 8, insider_mac = 16;
enum op : std::uint8_t {
    genuine,    // the counterparty's message as it is
    flipped,    // u16 position, u8 mask: one byte changed
    truncated,  // u16 length (modulo the size + 1)
    extended,   // blob appended
    replaced,   // blob instead
    crafted,    // blob as the body, with a valid mac1 under the victim's network key
    reflipped,  // u16 position, u8 mask on the body (mac1 stripped), then a valid mac1
    replayed,   // u8 index: an earlier genuine message of either side
    op_count
};
}  // namespace handshake_format

// record_decoder.cpp: u64 chunking seed, then ops.
namespace record_format {
enum op : std::uint8_t {
    seal_frames,  // u8 count (1 + n % 8), then a blob per frame: sealed with seal_records()
    seal_bytes,   // blob: one record of arbitrary plaintext with seal_record()
    seal_big,     // u8 choice: a frame at or near the frame limit (once per input)
    insert_raw,   // blob appended to the stream as it is
    flip_byte,    // u32 position, u8 mask
    cut_end,      // u16: that many bytes cut off the end
    op_count
};
}  // namespace record_format

// engine.cpp (engine_model.hpp): u8 setup, then ops.
namespace engine_format {
enum op : std::uint8_t {
    advance,      // u16 ms, u8 scale (x1 or x64): moves the clock, fires due timers
    fire_timer,   // u8 node: its gossip timer fires now (the clock jumps to it if needed)
    send,         // u8 node, u8 text choice [, blob]
    rename,       // u8 node, u8 name choice [, blob]
    leave,        // u8 node
    stop,         // u8 node
    join,         // u8 node, u8 contact node: a join on a connection of its own
    connect,      // u8 node, u8 link: the runtime's dial of that link succeeds or fails
    disconnect,   // u8 node, u8 link: the link's connection breaks
    deliver,      // u8 frame: the oldest frame in flight on that frame's connection arrives
    deliver_all,  // everything in flight arrives, oldest first (at most 256 frames)
    inject,       // u8 node, u8 connection choice [, u8 vouched id, u8 host], message
    link_event,   // u8 node, u8 id, flag up: on_link_up/down for a peer it has no link to
    share_key,    // u8 node, u8 key choice [, blob]
    connect_all,  // every link that can connect does (links to ids nobody has fail)
    op_count
};
// How inject (and join's welcome, and history) builds a message: u8 kind, then fields.
enum message_kind : std::uint8_t {
    m_join,
    m_hello,
    m_welcome,
    m_refused,
    m_peers,
    m_digest,
    m_chat,
    m_rename,
    m_leave,
    m_network_key,
    m_seal,
    m_unknown,
    m_raw,  // blob: decoded as the wire would (skipped when it does not decode)
    // Failure detection: u64-ish seq, then gossip (u8 entries % 3, u8 suspicions % 3) or a
    // target id; after m_raw so that the seeds written before them keep their meaning.
    m_ping,
    m_ack,
    m_ping_req,
    m_nack,
    message_kind_count
};
inline constexpr int nodes = 3;    // engine instances; ids 0-2 of the id pool
inline constexpr int id_pool = 8;  // ids 3-7 belong to nobody running (strangers)
}  // namespace engine_format

}  // namespace p2pchat::fuzz
