#pragma once
// The engine harness's interpreter (engine.cpp is its libFuzzer entry point; the seed
// generator runs it too, to check that each engine seed reaches the state it is meant to).
//
// It drives three engine::node instances as a runtime would: it executes every effect (links
// with queues, connections, the gossip timer, the memory_store, events) and carries frames
// between the nodes through wire::encode/decode, while the input also injects frames of its
// own on connections vouched as any of eight ids, breaks and makes links, moves the clock, and
// sends, renames, leaves, stops and joins. The ids are real Ed25519 identities: the three
// nodes' keys are theirs alone (the model replays what they signed, or forges), the five
// strangers' are the model's, so a stranger is a member that signs its entries and seals its
// messages, and its word relayed by a node verifies. After every input it checks what must
// always hold:
//
//   - effects name only what exists: send_to_peer, redirect_link and hang_up a peer the node
//     dialled and has not hung up on; no second dial of a dialled peer, no dial of itself or of
//     an unspecified address; reply_on and close_connection only on the connection of the
//     frame being handled (the daemon's runtime drops any other);
//   - every message the node sends encodes to a frame within the limit that decodes again;
//   - a chat message (origin, seq) is shown at most once per node;
//   - counters: messages_sent counts the sends that succeeded, messages_received no more than
//     the messages shown; the node's incarnation, next seq and Lamport clock never go back;
//   - the table and the links agree: every link is to a live peer, and every live peer has a
//     link unless the node is stopping; summary() and peers() agree with the table.
//
// Any breach aborts (FUZZ_CHECK). Input format: fuzz/formats.hpp, engine_format.
#include <cstddef>
#include <cstdint>

namespace p2pchat::fuzz {

// What an input led to, for the seed generator's checks.
struct engine_outcome {
    std::size_t ops = 0;
    std::size_t frames_delivered = 0;
    std::size_t alive_peers[3] = {};  // per node
    std::size_t messages_shown[3] = {};
    bool digests_equal = false;  // every active node has the same table digest
};

engine_outcome run_engine(std::uint8_t const* data, std::size_t size);

}  // namespace p2pchat::fuzz
