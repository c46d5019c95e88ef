// A node under a combined attack keeps serving its members (issue 9, docs/SECURITY.md): while
// strangers and a hostile member flood it from every angle at once, two honest members chat
// through it, a newcomer with an invite gets in, its counters say what it refused, and its
// memory stays within its budget. Real daemons on loopback, driven through p2pchatctl; the
// attackers speak TCP and the handshake by hand (tests/support/secure_peer) from a thread of
// their own, so that the flood runs while the members chat.
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stop_token>
#include <thread>

#include "common/crypto/signatures.hpp"
#include "common/invite.hpp"
#include "common/wire/frame_decoder.hpp"
#include "common/wire/messages.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/secure_peer.hpp"
#include "tests/support/sockets.hpp"

namespace p2pchat::test {
namespace {

namespace json = boost::json;

// Resident and peak resident memory of a process, in KiB (/proc/PID/status).
struct memory_use {
    std::int64_t rss_kib = -1;
    std::int64_t peak_kib = -1;
};

memory_use memory_of(std::int64_t pid) {
    memory_use m;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string key;
        std::int64_t kib = -1;
        fields >> key >> kib;
        if (key == "VmRSS:") m.rss_kib = kib;
        if (key == "VmHWM:") m.peak_kib = kib;
    }
    return m;
}

// True if the other end has closed the connection (or reset it), without waiting.
bool closed_now(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char byte;
    ssize_t const n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

// Bytes written to a socket that the other end has not taken yet; 0 once it closed.
int unsent_bytes(int fd) {
    int queued = 0;
    return ::ioctl(fd, SIOCOUTQ, &queued) == 0 && !closed_now(fd) ? queued : 0;
}

// Closes raw sockets at the end of the scope.
struct socket_guard {
    std::vector<int> fds;
    ~socket_guard() {
        for (int fd : fds)
            if (fd >= 0) ::close(fd);
    }
};

// A node's entry as `peers --json` on another node shows it.
struct member {
    std::string id, name, address;
    std::uint64_t incarnation = 0;
};

std::optional<member> find_peer(node const& on, std::string const& id) {
    for (auto const& v : on.peers()) {
        auto const& e = v.as_object();
        if (str(e, "id") == id)
            return member{id, str(e, "name"), str(e, "address"),
                          static_cast<std::uint64_t>(num(e, "incarnation"))};
    }
    return std::nullopt;
}

// The states of the entries of `peers --json`, by id.
std::map<std::string, std::string> peer_states(node const& n) {
    std::map<std::string, std::string> states;
    for (auto const& v : n.peers()) states[str(v.as_object(), "id")] = str(v.as_object(), "state");
    return states;
}

bool sees_alive(node const& n, std::vector<std::string> const& ids) {
    auto const states = peer_states(n);
    return std::all_of(ids.begin(), ids.end(), [&](auto const& id) {
        auto it = states.find(id);
        return it != states.end() && it->second == "alive";
    });
}

std::string frames_of(std::vector<wire::message> const& messages) {
    std::string out;
    for (auto const& m : messages) out += wire::encode_frame(wire::encode(m));
    return out;
}

// ---------------------------------------------------------------- the attackers

// Whom the attack aims at: the node, and the members it tries to forge.
struct target {
    std::string host;
    std::uint16_t port = 0;
    crypto::network_key key;
    member alice;  // the node under attack
    member bob;    // the honest member it tries to remove and speak for
};

// Sources of their own, so the honest nodes' addresses never share a per-address limit with
// the flood. (Members and strangers that speak the handshake connect from 127.0.0.1.)
constexpr char const* storm_source = "127.0.0.66";
constexpr char const* stranger_source = "127.0.0.67";

// What one attack did, as far as the node must count it. The progress counters are read by
// the test while the attack runs; the rest once its thread has ended.
struct attack_tally {
    std::atomic<int> rounds{0};
    std::atomic<int> steps{0};           // angles done, in all rounds
    std::atomic<int> holders_placed{0};  // set once the partial records are in

    int storm_connections = 0;  // connections of the storm
    int storm_closed = 0;       // ... that the node closed within its handshake limits
    int strangers = 0;          // handshakes without the key, and garbage before one
    int strangers_let_in = 0;   // ... that were not closed
    int malformed_sent = 0;     // broken records and frames after a valid handshake
    int malformed_left_open = 0;
    int forged_sent = 0;  // entries and chats the node must refuse and count as forged
    int fake_members = 0;
    int sybil_chats = 0;  // chats of fresh members, each from its own identity and link
    int holders = 0;      // connections holding a partial record of 1 MiB
    int holders_cut = 0;  // ... that the node closed (its memory budget)
    std::set<std::string> hostile_ids;  // the hostile member and every fake member it made up
    std::vector<std::string> failures;  // what the attackers could not do at all
};

class attacker {
  public:
    // Per round: a storm of connections from one address; strangers; the hostile member's
    // floods; broken frames; fresh members that chat once. Once: connections that hold
    // half a record each, more of them than the node's memory budget holds.
    static constexpr int storm_per_round = 200;
    static constexpr int fakes_per_round = 120;
    static constexpr int forged_tombstones_per_round = 10;
    static constexpr int chats_as_bob_per_round = 10;
    static constexpr int fresh_origin_chats_per_round = 40;
    static constexpr int sybils_per_round = 20;  // < 48: see the test
    static constexpr int holder_count = 72;      // x 1 MiB: more than the 64 MiB budget
    static constexpr int max_rounds = 6;
    // The most connections the attack has open at once (the storm's, the holders', and one
    // of each other kind), for the memory bound.
    static constexpr int most_concurrent = storm_per_round + holder_count + 4;

    attacker(target t, attack_tally& tally) : target_(std::move(t)), tally_(tally) {
        hostile_ = new_identity();
        tally_.hostile_ids.insert(node_id_of(hostile_));
    }

    void run(std::stop_token stop) {
        socket_guard holders;
        while (!stop.stop_requested() && tally_.rounds < max_rounds) {
            auto const started = steady::now();
            socket_guard storm;
            for (auto step :
                 {&attacker::start_storm, &attacker::strangers, &attacker::hostile_member,
                  &attacker::broken_frames, &attacker::sybils}) {
                (this->*step)(storm);
                ++tally_.steps;
            }
            if (tally_.rounds == 0) hold_partial_records(holders);
            finish_storm(storm, started + 12s);
            ++tally_.steps;
            ++tally_.rounds;
        }
    }

  private:
    void fail(std::string what) { tally_.failures.push_back(std::move(what)); }

    // Hundreds of connections from one address: a third say nothing, a third send half a
    // handshake message, a third a whole first message with the key (the node answers it,
    // a Diffie-Hellman's work) and nothing after.
    void start_storm(socket_guard& storm) {
        for (int i = 0; i < storm_per_round; ++i) {
            int const fd = tcp_connect(target_.host, target_.port, storm_source);
            if (fd < 0) return fail("storm: cannot connect");
            storm.fds.push_back(fd);
            ++tally_.storm_connections;
            if (i % 3 == 1) {
                (void)write_all(fd, frame_header(48) + std::string(10, 'h'), 1s);
            } else if (i % 3 == 2) {
                auto const me = new_identity();
                crypto::channel_handshake handshake(crypto::handshake::role::initiator, me,
                                                    target_.key);
                (void)write_all(fd, wire::encode_frame(handshake.start()), 1s);
            }
        }
    }

    // Each storm connection must be closed by the node: at once (over the 8 handshakes in
    // progress per address) or at the handshake timeout (5 s).
    void finish_storm(socket_guard& storm, steady::time_point deadline) {
        for (int fd : storm.fds)
            if (wait_closed(fd, std::max(milliseconds(100), milliseconds(remaining_ms(deadline)))))
                ++tally_.storm_closed;
    }

    // Strangers: a handshake with a random key, one with the open network's key, garbage,
    // and a plain frame from before the handshake existed.
    void strangers(socket_guard&) {
        for (auto const& key : {crypto::generate_network_key(), crypto::open_network_key()}) {
            secure_peer stranger(target_.host, target_.port, key);
            ++tally_.strangers;
            if (stranger.ok()) ++tally_.strangers_let_in;
        }
        for (std::string const& bytes : {std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                                         frame(R"({"v":1,"type":"hello"})")}) {
            int const fd = tcp_connect(target_.host, target_.port, stranger_source);
            if (fd < 0) return fail("stranger: cannot connect");
            socket_guard guard{{fd}};
            ++tally_.strangers;
            (void)write_all(fd, bytes, 1s);
            if (!wait_closed(fd, 10s)) ++tally_.strangers_let_in;
        }
    }

    // The hostile member: the key and an identity of its own, so the node takes its frames.
    void hostile_member(socket_guard&) {
        secure_peer peer(target_.host, target_.port, target_.key, hostile_);
        if (!peer.ok()) return fail("hostile member: handshake failed: " + peer.failure());
        auto const round = static_cast<std::uint64_t>(tally_.rounds.load());
        std::uint64_t const now_ms =
            static_cast<std::uint64_t>(std::chrono::duration_cast<milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
        wire::peer_entry self{node_id_of(hostile_),    "mallory", "127.0.0.66:1", now_ms,
                              wire::peer_state::alive, {}};
        self.sig = crypto::sign_entry(self, hostile_.secret_key);
        std::vector<wire::message> out{wire::hello_msg{self}};

        // (a) Members that do not exist, each signed by its own key, at addresses nobody
        // listens on, in lists of 60.
        for (int batch = 0; batch < fakes_per_round / 60; ++batch) {
            wire::peers_msg list;
            for (int i = 0; i < 60; ++i) {
                auto const fake = new_identity();
                wire::peer_entry e{
                    node_id_of(fake),        "fake-" + std::to_string(tally_.fake_members),
                    "127.0.0.99:1",          now_ms,
                    wire::peer_state::alive, {}};
                e.sig = crypto::sign_entry(e, fake.secret_key);
                tally_.hostile_ids.insert(e.id);
                list.peers.push_back(std::move(e));
                ++tally_.fake_members;
            }
            out.push_back(std::move(list));
        }

        // (b) Tombstones for the honest members that they did not sign: bob at his own
        // incarnation (a tombstone would beat his live entry) and above it, counted as
        // forged; alice about herself, which she ignores.
        wire::peers_msg tombstones;
        for (int i = 0; i < forged_tombstones_per_round; ++i) {
            wire::peer_entry e{
                target_.bob.id,         target_.bob.name,
                target_.bob.address,    target_.bob.incarnation + (i == 0 ? 0 : round * 100 + i),
                wire::peer_state::left, {}};
            e.sig = crypto::sign_entry(e, hostile_.secret_key);
            tombstones.peers.push_back(std::move(e));
            ++tally_.forged_sent;
        }
        wire::peer_entry alice_gone{target_.alice.id,       target_.alice.name,
                                    target_.alice.address,  target_.alice.incarnation + 1,
                                    wire::peer_state::left, {}};
        alice_gone.sig = crypto::sign_entry(alice_gone, hostile_.secret_key);
        tombstones.peers.push_back(alice_gone);
        out.push_back(std::move(tombstones));

        // (c) Chats in bob's name, refused (live chat is taken only from its author's own
        // link), and chats of origins nobody knows, refused alike.
        for (int i = 0; i < chats_as_bob_per_round + fresh_origin_chats_per_round; ++i) {
            bool const as_bob = i < chats_as_bob_per_round;
            wire::chat_msg chat{as_bob ? target_.bob.id : node_id_of(new_identity()),
                                (round + 1) * 1'000'000'000'000ULL + static_cast<std::uint64_t>(i),
                                1,
                                0,
                                as_bob ? target_.bob.name : "nobody",
                                (as_bob ? "forged as bob " : "forged origin ") + std::to_string(i),
                                {}};
            chat.chain = crypto::next_chain("", chat);
            out.push_back(std::move(chat));
            ++tally_.forged_sent;
        }

        // (d) Seals in bob's name, far ahead of his messages: kept, they would push his own
        // seals out of what the node hands a newcomer, and his history with them.
        for (int i = 0; i < 5; ++i) {
            wire::chat_msg tip{target_.bob.id,
                               UINT64_MAX - static_cast<std::uint64_t>(i),
                               1,
                               0,
                               target_.bob.name,
                               "x",
                               {}};
            tip.chain = crypto::next_chain("", tip);
            out.push_back(crypto::seal(tip.origin, tip.seq, tip.chain, hostile_.secret_key));
        }
        if (!peer.send_record(frames_of(out)))
            fail("hostile member: the node closed its connection");
    }

    // Broken input after a valid handshake: each must close its connection and be counted.
    void broken_frames(socket_guard&) {
        std::string const garbage = frame("this is {not json");
        std::string const oversized = frame_header(0x7fffffff) + R"({"v":1,)";
        std::string const empty = frame_header(0);
        std::string const not_a_type = frame(R"({"v":1,"type":"chat","text":"no origin"})");
        for (auto const* bytes : {&garbage, &oversized, &empty, &not_a_type}) {
            secure_peer peer(target_.host, target_.port, target_.key);
            if (!peer.ok()) return fail("broken frames: handshake failed: " + peer.failure());
            (void)peer.send_record(*bytes);
            ++tally_.malformed_sent;
            if (!wait_closed(peer.fd(), 10s)) ++tally_.malformed_left_open;
        }
        // A record that is no record at all: a length of 0.
        secure_peer peer(target_.host, target_.port, target_.key);
        if (!peer.ok()) return fail("broken record: handshake failed: " + peer.failure());
        (void)peer.send_raw(frame_header(0));
        ++tally_.malformed_sent;
        if (!wait_closed(peer.fd(), 10s)) ++tally_.malformed_left_open;
    }

    // Fresh members (each its own identity and link, as a member may make them) that chat
    // once and seal it: origins the node has never heard of, which it must remember within
    // its bounds.
    void sybils(socket_guard&) {
        for (int i = 0; i < sybils_per_round; ++i) {
            auto const me = new_identity();
            secure_peer peer(target_.host, target_.port, target_.key, me);
            if (!peer.ok()) return fail("sybil: handshake failed: " + peer.failure());
            wire::chat_msg chat{
                peer.id(), 1, 1, 0, "sybil", "sybil " + std::to_string(tally_.sybil_chats), {}};
            chat.chain = crypto::next_chain("", chat);
            auto seal = crypto::seal(chat.origin, chat.seq, chat.chain, me.secret_key);
            if (!peer.send_record(frames_of({std::move(chat), std::move(seal)})))
                return fail("sybil: the node closed its connection");
            ++tally_.sybil_chats;
            // Connect, send, close: the seed's pattern, which the node must still serve.
        }
    }

    // Connections that each send 1 MiB of a record and never finish it: more of them than
    // the node's 64 MiB budget for half-received records holds. Kept open for the rest of
    // the attack; the node must close those that would take it over its budget.
    void hold_partial_records(socket_guard& holders) {
        std::string const part =
            frame_header(static_cast<std::uint32_t>(crypto::max_record_bytes)) +
            std::string(crypto::max_record_plaintext, 'r');
        std::vector<std::unique_ptr<secure_peer>> peers;
        for (int i = 0; i < holder_count; ++i) {
            auto peer = std::make_unique<secure_peer>(target_.host, target_.port, target_.key);
            if (!peer->ok()) return fail("holder: handshake failed: " + peer->failure());
            ++tally_.holders;
            (void)peer->send_raw(part, 5s);  // fails if the node closed it meanwhile
            peers.push_back(std::move(peer));
        }
        // Once the node has read all we wrote (nothing left in our sockets' send queues), the
        // ones it closed are those that would have taken it over its budget.
        wait_until(
            [&] {
                return std::all_of(peers.begin(), peers.end(),
                                   [](auto const& p) { return unsent_bytes(p->fd()) == 0; });
            },
            10s);
        for (auto& p : peers) {
            if (closed_now(p->fd())) ++tally_.holders_cut;
            // Keep the socket for the rest of the attack, past this peer object.
            holders.fds.push_back(::dup(p->fd()));
        }
        tally_.holders_placed = 1;
    }

    target target_;
    attack_tally& tally_;
    crypto::identity_keys hostile_;
};

// ---------------------------------------------------------------- the test

// `from` sends `text`; it arrives at `to` (its tail) once.
void expect_delivered(node const& from, tail_reader& to, std::string const& text,
                      std::vector<node const*> const& logs) {
    auto const r = from.ctl({"send", text});
    ASSERT_EQ(r.status, 0) << r.err << logs_of(logs);
    EXPECT_TRUE(to.wait_for([&](auto const& e) { return count_messages(e, text) == 1; }, 20s))
        << "'" << text << "' did not arrive\n"
        << logs_of(logs);
}

TEST(UnderAttack, ANodeFloodedFromEveryAngleKeepsServingItsMembers) {
    auto const test_started = steady::now();
    constexpr int max_peers = 32;
    node a(on("127.0.0.10").named("alice").max(max_peers).with({"--network=closed"}));
    auto const invite_line = a.ctl({"invite"});
    ASSERT_EQ(invite_line.status, 0) << invite_line.err << a.log();
    std::string const invite = invite_line.out.substr(0, invite_line.out.find('\n'));
    auto const parsed = parse_invite(invite);
    ASSERT_TRUE(parsed) << invite;

    node b(on("127.0.0.11").named("bob").max(max_peers).joining(invite));
    ASSERT_TRUE(wait_until([&] { return sees_alive(a, {b.id()}) && sees_alive(b, {a.id()}); }, 15s))
        << logs_of({&a, &b});
    auto tail_a = a.tail({"-n", "0"});
    auto tail_b = b.tail({"-n", "0"});
    expect_delivered(a, tail_b, "before the attack, from alice", {&a, &b});
    expect_delivered(b, tail_a, "before the attack, from bob", {&a, &b});

    auto const before = a.status();
    auto const pid = num(before, "pid");
    ASSERT_GT(pid, 0);
    auto const at_start = memory_of(pid);
    ASSERT_GT(at_start.rss_kib, 0);
    auto const bob_on_a = find_peer(a, b.id());
    auto const alice_on_a = find_peer(a, a.id());
    ASSERT_TRUE(bob_on_a && alice_on_a);

    attack_tally tally;
    std::jthread attack;  // requests stop and joins when the test ends, also on failure
    {
        target t{a.host(), a.port(), crypto::network_key{parsed->key, false}, *alice_on_a,
                 *bob_on_a};
        attack = std::jthread(
            [t, &tally](std::stop_token stop) { attacker(t, tally).run(std::move(stop)); });
    }

    // While it runs: alice and bob chat both ways, and alice answers p2pchatctl, after each
    // step of the attack, until it has done two rounds of everything.
    std::vector<std::string> bob_said;
    auto const chat_deadline = steady::now() + 40s;
    for (int i = 0, steps = 0; i == 0 || tally.rounds < 2; ++i) {
        ASSERT_LT(steady::now(), chat_deadline) << "the attack did not finish two rounds";
        expect_delivered(a, tail_b, "alice under attack " + std::to_string(i), {&a, &b});
        bob_said.push_back("bob under attack " + std::to_string(i));
        expect_delivered(b, tail_a, bob_said.back(), {&a, &b});
        auto const st = a.ctl({"status", "--json"});
        ASSERT_EQ(st.status, 0) << st.err << a.log();
        ASSERT_TRUE(parse_object(st.out)) << st.out;
        if (HasFailure()) return;
        wait_until([&] { return tally.steps > steps || tally.rounds >= 2; }, 20s);
        steps = tally.steps;
    }
    EXPECT_TRUE(tally.holders_placed);
    auto const during = memory_of(pid);

    // Bob says two things just before a newcomer arrives. His seal of the first leaves him
    // before the second (he seals each burst), so alice can prove the first to the newcomer
    // with his own seal, unless she kept the ones the hostile member sent in his name (far
    // ahead of his messages, they would push his own out). Both are among the newest 50
    // messages alice hands on: at most one step of fresh members' chats (fewer than 48) can
    // arrive in between.
    std::string const sealed_by_bob = "bob, just before carol";
    expect_delivered(b, tail_a, sealed_by_bob, {&a, &b});
    expect_delivered(b, tail_a, "bob, again", {&a, &b});

    // A newcomer with the invite gets in while the flood goes on: it sees alice and bob,
    // and they see it. The fake members must not have filled alice's table (at most
    // max(16, max_peers / 2) relayed entries nobody has reached, and a real joiner pushes
    // one out).
    node c(on("127.0.0.12").named("carol").max(max_peers));
    auto const joined = c.ctl({"join", invite});
    EXPECT_EQ(joined.status, 0) << joined.err << logs_of({&a, &c});
    EXPECT_TRUE(wait_until(
        [&] {
            return sees_alive(c, {a.id(), b.id()}) && sees_alive(a, {c.id()}) &&
                   sees_alive(b, {c.id()});
        },
        20s))
        << "the newcomer did not get in\n"
        << logs_of({&a, &b, &c});
    if (joined.status == 0) {
        auto const history = c.ctl({"tail", "-n", "all", "--no-follow", "--json"});
        ASSERT_EQ(history.status, 0) << history.err;
        std::vector<json::object> seen_by_c;
        std::istringstream lines(history.out);
        for (std::string line; std::getline(lines, line);)
            if (auto o = parse_object(line)) seen_by_c.push_back(std::move(*o));
        EXPECT_EQ(count_messages(seen_by_c, sealed_by_bob), 1u)
            << "carol's welcome did not prove bob's message\n"
            << logs_of({&a, &c});
    }

    attack.request_stop();
    attack.join();
    auto const attack_ended = steady::now();
    for (auto const& failure : tally.failures) ADD_FAILURE() << "attacker: " << failure;

    // Every angle was refused where it must be, and counted.
    EXPECT_EQ(tally.storm_closed, tally.storm_connections)
        << "storm connections outlived the handshake limits\n"
        << a.log();
    EXPECT_EQ(tally.strangers_let_in, 0) << a.log();
    EXPECT_EQ(tally.malformed_left_open, 0) << a.log();
    EXPECT_GT(tally.holders_cut, 0) << "72 MiB of half-received records fit a 64 MiB budget?";
    EXPECT_LT(tally.holders_cut, tally.holders) << "the budget cut every partial record";
    auto const delta = [&](json::object const& now, char const* key) {
        return num(now, key) - num(before, key);
    };
    // Every connection the storm made, and every stranger, was refused during its handshake;
    // every broken frame, and every partial record cut for the budget, closed as malformed;
    // every forged tombstone and chat refused as forged.
    EXPECT_TRUE(wait_until(
        [&] {
            auto const now = a.status();
            return delta(now, "rejected_connections") >= tally.storm_closed + tally.strangers &&
                   delta(now, "malformed_frames") >= tally.malformed_sent + tally.holders_cut &&
                   delta(now, "forged") >= tally.forged_sent;
        },
        10s))
        << json::serialize(a.status()) << "\nstorm " << tally.storm_closed << ", strangers "
        << tally.strangers << ", malformed " << tally.malformed_sent << "+" << tally.holders_cut
        << ", forged " << tally.forged_sent << "\n"
        << a.log();
    // The fresh members' chats were delivered: they are members, speaking as themselves.
    auto const sybil_chats_seen = [](std::vector<json::object> const& events) {
        return std::count_if(events.begin(), events.end(), [](auto const& e) {
            return str(e, "type") == "message" && str(e, "text").starts_with("sybil ");
        });
    };
    EXPECT_TRUE(tail_a.wait_for(
        [&](auto const& e) { return sybil_chats_seen(e) >= tally.sybil_chats; }, 10s));
    EXPECT_EQ(sybil_chats_seen(tail_a.events()), tally.sybil_chats);
    for (auto const& m : tail_a.messages())
        EXPECT_FALSE(str(m, "text").starts_with("forged")) << json::serialize(m);

    // After the attack: alice and bob still chat, and carol hears them.
    auto tail_c = c.tail({"-n", "0"});
    expect_delivered(a, tail_b, "after the attack, from alice", {&a, &b});
    expect_delivered(b, tail_a, "after the attack, from bob", {&a, &b});
    EXPECT_TRUE(tail_c.wait_for(
        [](auto const& e) { return count_messages(e, "after the attack, from bob") == 1; }, 20s))
        << logs_of({&b, &c});

    // Alice's live members are the honest ones, bob at the incarnation he signed; the
    // hostile member and its fakes may stay `connecting` (nobody answers at their addresses),
    // or be `suspect` once they fail their probes, until the failure detector removes them;
    // never `alive`.
    // Nor do the fakes take more places than the rule for relayed entries nobody has reached
    // allows, max(16, max_peers / 2), besides the hostile member's own.
    auto const states = peer_states(a);
    EXPECT_EQ(states.at(a.id()), "self");
    int hostile_entries = 0;
    for (auto const& [id, state] : states) {
        if (id == a.id()) continue;
        if (id == b.id() || id == c.id()) {
            EXPECT_EQ(state, "alive") << id;
        } else {
            EXPECT_TRUE(tally.hostile_ids.contains(id)) << "an entry nobody made: " << id;
            EXPECT_TRUE(state == "connecting" || state == "suspect") << id << ": " << state;
            ++hostile_entries;
        }
    }
    EXPECT_TRUE(states.contains(b.id()) && states.contains(c.id()));
    EXPECT_LE(hostile_entries, std::max(16, max_peers / 2) + 1);
    auto const bob_after = find_peer(a, b.id());
    ASSERT_TRUE(bob_after);
    EXPECT_EQ(bob_after->incarnation, bob_on_a->incarnation) << "bob's entry moved";
    EXPECT_TRUE(sees_alive(b, {a.id(), c.id()}));
    EXPECT_EQ(num(b.status(), "forged"), 0) << "bob heard of the forgeries: alice relayed them";

    // Memory: what alice holds for connections draws on one 64 MiB budget, and the attack
    // spent it (72 partial records of 1 MiB). Besides it, each connection the attack held
    // open at once (276: a storm's 200, the 72 holders, one of each other kind) may cost her
    // up to 64 KiB, the goal issue 9 states: 17.25 MiB, the margin of this bound. It has to
    // cover the rest too: the sessions and sockets, what the allocator keeps of freed
    // buffers (a record's buffer grows by doubling, so its capacity can be up to twice what
    // the budget counts), and the bounded state of the fakes, fresh origins and log. Measured
    // on the 2-core CI machine: about 7.9 MiB at start and a peak of start + 75-77 MiB,
    // against start + 81.25 MiB. (A sanitized build's memory says nothing of a real one.)
    auto const after = memory_of(pid);
    std::int64_t const bound_kib =
        at_start.rss_kib + 64 * 1024 + 64 * static_cast<std::int64_t>(attacker::most_concurrent);
    std::cout << "alice's memory (KiB): at start " << at_start.rss_kib << ", during the attack "
              << during.rss_kib << ", after it " << after.rss_kib << ", peak " << after.peak_kib
              << ", bound " << bound_kib << "\n"
              << "attack: " << tally.rounds << " rounds, " << tally.storm_connections
              << " storm connections, " << tally.strangers << " strangers, " << tally.fake_members
              << " fake members, " << tally.forged_sent << " forgeries, " << tally.sybil_chats
              << " fresh members' chats, " << tally.holders << " partial records ("
              << tally.holders_cut << " cut); counters now " << json::serialize(a.status()) << "\n"
              << "took "
              << std::chrono::duration_cast<milliseconds>(attack_ended - test_started).count()
              << " ms to the end of the attack\n";
#if !defined(__SANITIZE_ADDRESS__)
    EXPECT_LT(during.rss_kib, bound_kib);
    EXPECT_LT(after.rss_kib, bound_kib);
    EXPECT_LT(after.peak_kib, bound_kib);
#endif
}

}  // namespace
}  // namespace p2pchat::test
