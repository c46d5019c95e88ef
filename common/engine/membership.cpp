#include "common/engine/membership.hpp"

#include <algorithm>

#include "common/crypto/signatures.hpp"

namespace p2pchat::engine {

using wire::peer_entry;
using wire::peer_state;

namespace {

std::string_view short_id(std::string_view id) { return id.substr(0, 8); }

}  // namespace

std::string_view to_string(node_state s) {
    switch (s) {
        case node_state::active:
            return "active";
        case node_state::left:
            return "left";
        case node_state::stopping:
            return "stopping";
    }
    return "active";
}

membership::membership(peer_entry self, membership_config const& config, std::uint64_t seed,
                       crypto::signing_key const& key, effects& out, history_source welcome_history)
    : config_(config),
      key_(key),
      out_(out),
      welcome_history_(std::move(welcome_history)),
      table_(std::move(self), config.max_peers),
      random_(seed),
      detector_(
          config.detector, seed, table_,
          [this](std::string const& peer) { return link_connected(peer); }, out) {
    sign_self();
}

void membership::sign_self() { table_.sign_self(crypto::sign_entry(table_.self(), key_)); }

bool membership::believable(peer_entry const& entry) const {
    if (crypto::verifies(entry)) return true;
    // A tombstone another node wrote (it found the owner unreachable) carries the owner's
    // signature of the live entry at that incarnation: the incarnation is the owner's own,
    // and the owner refutes the verdict if it is alive.
    return entry.state == peer_state::left && crypto::verifies(entry, peer_state::alive);
}

void membership::start(instant now) {
    arm_gossip(now);
    detector_.start(now);
}

void membership::arm_gossip(instant now) {
    out_.push(arm_timer{timer_kind::gossip, now.steady + config_.gossip_interval});
}

// ---------------------------------------------------------------- frames

void membership::on_join(frame_source const& from, wire::join_msg&& m, instant now) {
    peer_entry const entry = std::move(m.from);
    if (entry.id != from.peer) {
        out_.log(severity::warning, "ignored a join for ", short_id(entry.id),
                 " on a connection of ", from.peer.empty() ? "nobody" : short_id(from.peer));
        return;
    }
    if (entry.id == self().id) {
        // Someone joined us to ourselves (join to our own address): answer so it can tell.
        out_.push(reply_on{from.connection,
                           make_outgoing(wire::welcome_msg{self(), {}, {}, {}, {}, {}})});
        out_.push(close_connection{from.connection, true});
        return;
    }
    if (m.reconnect && state_ == node_state::left) {
        // A member that removed us as unreachable, calling back: it missed our goodbye. The
        // user said leave; a user's join (not this) is what makes a new network here.
        out_.push(reply_on{from.connection,
                           make_outgoing(wire::refused_msg{"left", "this node left the network"})});
        out_.push(close_connection{from.connection, true});
        return;
    }
    bool const stopping = state_ == node_state::stopping;
    if (stopping || (table_.full() && !table_.is_alive(entry.id) && unreached_peers() == 0)) {
        std::string reason =
            stopping ? "the node is shutting down"
                     : "peer table full (" + std::to_string(table_.max_peers()) + " peers)";
        out_.log(severity::notice, "refused join from ", short_id(entry.id), " at ",
                 from.remote_host, ": ", reason);
        out_.push(reply_on{from.connection,
                           make_outgoing(wire::refused_msg{
                               stopping ? "shutting_down" : "table_full", std::move(reason)})});
        out_.push(close_connection{from.connection, true});
        return;
    }
    state_ = node_state::active;  // somebody joined us: this node is in a network again
    apply(entry, provenance::owner, now);
    wire::welcome_msg welcome{self(), table_.all_entries(), {}, {}, {}, {}};
    welcome_history_(welcome);
    out_.push(reply_on{from.connection, make_outgoing(std::move(welcome))});
    out_.push(close_connection{from.connection, true});
    // Introduce the newcomer to everyone else: one small entry each, never the whole table.
    if (auto const* stored = table_.find(entry.id))
        out_.push(broadcast{make_outgoing(wire::peers_msg{{*stored}, false}), entry.id});
    remember_newcomer(entry.id, now);
}

void membership::on_hello(frame_source const& from, wire::hello_msg&& m, instant now) {
    peer_entry const entry = std::move(m.from);
    if (entry.id != from.peer) {
        out_.log(severity::warning, "ignored a hello for ", short_id(entry.id),
                 " on a connection of ", from.peer.empty() ? "nobody" : short_id(from.peer));
        return;
    }
    apply(entry, provenance::owner, now);
}

void membership::on_welcome(peer_entry const& contact, provenance contact_provenance,
                            std::vector<peer_entry> const& peers, instant now,
                            bool answers_our_join) {
    apply(contact, contact_provenance, now);
    taking_our_welcome_ = answers_our_join;
    for (auto const& entry : peers)
        apply(entry, entry.id == contact.id ? contact_provenance : provenance::relayed, now);
    taking_our_welcome_ = false;
}

void membership::on_peers(frame_source const& from, wire::peers_msg&& m, instant now) {
    for (auto const& entry : m.peers)
        apply(entry, entry.id == from.peer ? provenance::owner : provenance::relayed, now);
    if (m.full) {
        auto missing = table_.newer_than(m.peers);
        if (!missing.empty())
            out_.push(reply_on{from.connection,
                               make_outgoing(wire::peers_msg{std::move(missing), false})});
    }
}

void membership::on_digest(frame_source const& from, wire::digest_msg const& m, instant now) {
    // While our table still changes, introductions are in flight and a mismatch says little;
    // a full table now would cost O(n) per join in a wave of joins. Repair once it settles.
    if (settling(now)) return;
    if (m.hash != table_.digest())
        out_.push(
            reply_on{from.connection, make_outgoing(wire::peers_msg{table_.all_entries(), true})});
}

void membership::on_rename(frame_source const& from, wire::rename_msg const& m, instant now) {
    // Only the node itself may rename itself: the connection must be its own.
    if (from.peer != m.id) {
        out_.log(severity::warning, "ignored rename of ", short_id(m.id), " sent by ",
                 from.remote_host);
        return;
    }
    if (auto const* known = table_.find(m.id)) {
        peer_entry renamed = *known;
        renamed.name = m.name;
        renamed.inc = m.inc;
        renamed.sig = m.sig;  // the owner's, for us to relay
        apply(renamed, provenance::owner, now);
    }
}

void membership::on_leave(frame_source const& from, wire::leave_msg const& m, instant now) {
    if (from.peer != m.id) {
        out_.log(severity::warning, "ignored leave of ", short_id(m.id), " sent by ",
                 from.remote_host);
        return;
    }
    if (auto const* known = table_.find(m.id)) {
        peer_entry gone = *known;
        gone.inc = m.inc;  // a late goodbye of an older incarnation must lose the merge
        gone.state = peer_state::left;
        gone.sig = m.sig;
        apply(gone, provenance::owner, now);
    }
}

// ---------------------------------------------------------------- links, timers

void membership::on_link_up(std::string const& peer, instant) {
    auto it = links_.find(peer);
    if (it == links_.end()) return;  // hung up meanwhile
    it->second.connected = true;
    it->second.reached = true;
    it->second.down_since.reset();
    // The first frame of every (re)connected link says who we are now: a peer that missed
    // our introduction, or our rename while the link was down, learns it here.
    out_.push(send_to_peer{peer, make_outgoing(wire::hello_msg{self()}), true});
    // A peer we hold as dead (our verdict or another's) answers: it was cut off, not gone.
    // Our table tells it of its tombstone, which it refutes, and its answer (a full list
    // asks for one) brings us its refutation and what its side of the cut knows.
    if (it->second.dead_since)
        out_.push(send_to_peer{peer, make_outgoing(wire::peers_msg{table_.all_entries(), true})});
}

void membership::on_link_down(std::string const& peer, instant now) {
    auto it = links_.find(peer);
    if (it == links_.end()) return;
    it->second.connected = false;
    if (!it->second.down_since) it->second.down_since = now.steady;
    detector_.on_link_down(peer, now);
}

void membership::on_gossip_timer(instant now) {
    if (state_ == node_state::stopping) return;
    arm_gossip(now);
    for (auto const& id : table_.expire_tombstones(steady_ms(now), tombstone_lifetime.count())) {
        detector_.forget(id);
        if (forget_) forget_(id);
    }
    if (!detector_.enabled()) remove_unreachable_peers(now);
    close_dead_links(now);
    if (!settling(now)) send_digest();
}

void membership::close_dead_links(instant now) {
    std::vector<std::string> done;
    for (auto const& [id, link] : links_)
        if (link.dead_since && now.steady - *link.dead_since > config_.dead_link_window)
            done.push_back(id);
    for (auto const& id : done) close_link(id, false);
}

void membership::on_probe_timer(instant now) {
    if (state_ != node_state::active) return;
    for (auto const& [id, inc] : detector_.on_timer(now)) {
        auto const* known = table_.find(id);
        if (!known || known->state != peer_state::alive || known->inc != inc) continue;
        // A tombstone at the peer's own incarnation, carrying its signature of the live
        // entry (docs/PROTOCOL.md, "Verdicts"). Told to every link at once, the suspect's
        // too: a verdict must reach everyone within the bound, and a suspect that is alive
        // after all refutes it when it hears it.
        peer_entry dead = *known;
        dead.state = peer_state::left;
        out_.log(severity::notice, known->name, " (", short_id(id),
                 ") did not refute its suspicion in time: removing it");
        apply(dead, provenance::verdict, now, leave_reason::unreachable);
        out_.push(broadcast{make_outgoing(wire::peers_msg{{dead}, false}), {}});
    }
}

void membership::heard_from(std::string_view peer, instant now) {
    if (!peer.empty()) detector_.heard_from(peer, now);
}

void membership::absorb(frame_source const& from, wire::gossip const& news, instant now) {
    for (auto const& entry : news.entries)
        apply(entry, entry.id == from.peer ? provenance::owner : provenance::relayed, now);
    for (auto const& s : news.suspects) {
        if (s.id == self().id)
            refute_suspicion(s);
        else
            detector_.suspect(s, now);
    }
}

void membership::refute_suspicion(wire::suspicion const& s) {
    // Only a suspicion of our current incarnation needs an answer: an older one is answered
    // already, and a higher one is nobody's signed word (we never had it).
    if (state_ != node_state::active || s.inc != self().inc) return;
    table_.bump_self();
    sign_self();
    out_.log(severity::notice, short_id(s.from), " suspects this node: refuting (incarnation ",
             self().inc, ")");
    out_.push(broadcast{make_outgoing(wire::peers_msg{{self()}, false}), {}});
    detector_.spread(self());
    detector_.on_refuted();
}

void membership::on_ping(frame_source const& from, wire::ping_msg const& m, instant now) {
    absorb(from, m.news, now);
    detector_.on_ping(from.connection, std::string(from.peer), m, now);
}

void membership::on_ack(frame_source const& from, wire::ack_msg const& m, instant now) {
    absorb(from, m.news, now);
    detector_.on_ack(m, now);
}

void membership::on_ping_req(frame_source const& from, wire::ping_req_msg const& m, instant now) {
    absorb(from, m.news, now);
    detector_.on_ping_req(from.connection, std::string(from.peer), m, now);
}

void membership::send_digest() {
    std::vector<std::string const*> connected;
    for (auto const& [id, link] : links_)
        if (link.connected) connected.push_back(&id);
    if (connected.empty()) return;
    auto const pick = std::uniform_int_distribution<std::size_t>(0, connected.size() - 1)(random_);
    out_.push(send_to_peer{*connected[pick], make_outgoing(wire::digest_msg{
                                                 table_.digest(), table_.alive_count() + 1})});
}

void membership::remove_unreachable_peers(instant now) {
    std::vector<std::string> gone;
    for (auto const& [id, link] : links_)
        if (link.down_since && now.steady - *link.down_since > config_.peer_timeout)
            gone.push_back(id);
    for (auto const& id : gone) {
        auto const* known = table_.find(id);
        if (!known) continue;
        // A tombstone at the peer's own incarnation: it spreads with anti-entropy, and a
        // peer that is in fact alive refutes it (raises its incarnation) when it hears it.
        peer_entry dead = *known;  // keeps the owner's signature of its live entry
        dead.state = peer_state::left;
        apply(dead, provenance::verdict, now, leave_reason::unreachable);
    }
}

bool membership::settling(instant now) const {
    return last_table_change_ && now.steady - *last_table_change_ < config_.gossip_interval;
}

// ---------------------------------------------------------------- local operations

bool membership::rename(std::string name) {
    std::string const old_name = self().name;
    if (name == old_name) return false;
    table_.rename_self(std::move(name));
    sign_self();
    auto const& renamed = self();
    out_.push(broadcast{
        make_outgoing(wire::rename_msg{renamed.id, renamed.name, renamed.inc, renamed.sig}), {}});
    out_.push(emit_event{peer_renamed{view(renamed), old_name}});
    out_.log(severity::info, "renamed to ", renamed.name);
    return true;
}

std::size_t membership::leave() {
    std::size_t const told = links_.size();
    bool const was_connected = table_.alive_count() > 0;
    left_inc_ = self().inc;
    peer_entry goodbye = self();
    goodbye.state = peer_state::left;
    left_sig_ = crypto::sign_entry(goodbye, key_);
    if (was_connected)
        out_.push(broadcast{make_outgoing(wire::leave_msg{self().id, self().inc, left_sig_}), {}});
    for (auto const& [id, link] : links_) out_.push(hang_up{id, true});
    links_.clear();
    table_.clear();
    detector_.clear();
    // Rejoining later must outrank the tombstones the others now keep of us.
    table_.bump_self();
    sign_self();
    if (state_ != node_state::stopping) state_ = node_state::left;
    // Announced after the table is empty, so observers read the new peer count.
    if (was_connected) out_.push(emit_event{peer_left{view(self()), leave_reason::left}});
    out_.log(severity::notice, "left the network (told ", told, " peers)");
    return told;
}

void membership::rejoin(peer_entry const& contact) {
    bool const was_left = state_ == node_state::left;  // leave() cleared and bumped already
    state_ = node_state::active;
    if (!was_left && table_.alive_count() == 0) {
        // Cut off for longer than the peer timeout, this node removed every peer as
        // unreachable and every peer removed it, each with a tombstone at the other's own
        // incarnation, and no link is left on either side. Its tombstones (or the memory of
        // expired ones) would make it ignore every member the welcome lists, and theirs would
        // make them ignore its hellos.
        table_.clear();
        detector_.clear();
        table_.bump_self();
        sign_self();
        return;
    }
    // After a split longer than the peer timeout, each side removed the other and no link
    // crosses it. The contact just answered at the incarnation it states, so a tombstone of
    // it at that incarnation is a stale verdict (a node that leaves raises its incarnation
    // before it speaks again). Forget it: the welcome then links us to the contact, and
    // anti-entropy and refutation across that link bring the two sides together.
    if (auto const* known = table_.find(contact.id);
        contact.id != self().id && (!known || known->inc <= contact.inc))
        table_.forget_tombstone(contact.id);
}

void membership::on_frame_after_leave(frame_source const& from) {
    // A peer still talks to us after we left: it missed the goodbye (its link was down when
    // we said it, or the frame was lost with a connection). Say it again on this connection,
    // at the incarnation we left with, or it would keep us as a live peer for as long as our
    // listener takes its redials.
    if (state_ != node_state::left || from.peer.empty() || from.peer == self().id) return;
    out_.push(
        reply_on{from.connection, make_outgoing(wire::leave_msg{self().id, left_inc_, left_sig_})});
}

void membership::stop() {
    state_ = node_state::stopping;
    leave();
}

// ---------------------------------------------------------------- the table

merge_outcome membership::apply(peer_entry const& received, provenance from, instant now,
                                leave_reason reason) {
    if (received.id == self().id) {
        // News about ourselves that outranks us (a late goodbye, a clock that went back):
        // answer with a higher incarnation, or the others would keep a false picture. Only
        // our own signed word counts: a forged claim must not make us churn.
        if (state_ == node_state::active && outranks(received, self()) &&
            (from != provenance::relayed || believable(received)) && table_.refute(received)) {
            sign_self();
            out_.log(severity::notice, "refuting a stale entry about this node (incarnation ",
                     received.inc, ")");
            out_.push(broadcast{make_outgoing(wire::peers_msg{{self()}, false}), {}});
            detector_.spread(self());
        }
        return merge_outcome::ignored;
    }
    peer_entry const& entry = received;
    if (from == provenance::relayed) {
        // Check only what would change the table: most relayed entries are old news.
        auto const* known = table_.find(entry.id);
        if ((!known || outranks(entry, *known)) && !believable(entry)) {
            ++forged_;
            out_.log(severity::warning, "refused an entry for ", short_id(entry.id),
                     " that its owner did not sign");
            return merge_outcome::ignored;
        }
    }
    bool const joins = entry.state == peer_state::alive && !table_.is_alive(entry.id);
    if (joins && from == provenance::relayed && !taking_our_welcome_ &&
        unreached_peers() >= max_unreached(table_.max_peers())) {
        out_.log(severity::debug, "not adding ", short_id(entry.id), ": ",
                 max_unreached(table_.max_peers()), " peers are not reached yet");
        return merge_outcome::ignored;
    }
    if (joins && from == provenance::owner && table_.full()) evict_unreached(now);
    auto const result = table_.merge(entry, steady_ms(now));
    if (result.outcome != merge_outcome::ignored) last_table_change_ = now.steady;
    if (result.outcome == merge_outcome::joined || result.outcome == merge_outcome::updated ||
        result.outcome == merge_outcome::left) {
        detector_.on_entry_changed(entry.id);
        detector_.spread(entry);
    }
    switch (result.outcome) {
        case merge_outcome::ignored:
            break;
        case merge_outcome::table_full:
            out_.log(severity::warning, "peer table full; not adding ", short_id(entry.id));
            break;
        case merge_outcome::joined:
            out_.log(severity::info, entry.name, " (", short_id(entry.id), ") joined from ",
                     entry.addr);
            if (auto link = links_.find(entry.id); link != links_.end())
                link->second.dead_since.reset();  // back from a verdict: the link stayed
            open_link(entry);
            introduce_to_recent_newcomers(entry, now);
            out_.push(emit_event{peer_joined{view(entry)}});
            break;
        case merge_outcome::updated:
            // A higher incarnation is news from the peer itself (a restart, a rename, a
            // refutation): however long our link to it has been down, that no longer says it
            // is gone. Without this a node restarted just before the timeout ran out was
            // removed at its new incarnation the moment its news arrived.
            if (auto link = links_.find(entry.id); link != links_.end() && link->second.down_since)
                link->second.down_since = now.steady;
            if (result.previous->addr != entry.addr && links_.contains(entry.id))
                if (auto target = parse_address(entry.addr))
                    out_.push(redirect_link{entry.id, std::move(*target)});
            if (result.previous->name != entry.name)
                out_.push(emit_event{peer_renamed{view(entry), result.previous->name}});
            break;
        case merge_outcome::left: {
            // A verdict (ours, or another's: the owner signed only its live entry) keeps the
            // link for a while, see membership_config::dead_link_window; a goodbye closes it.
            bool const verdict = from == provenance::verdict ||
                                 (from == provenance::relayed && !crypto::verifies(entry));
            if (verdict) reason = leave_reason::unreachable;
            out_.log(severity::info, entry.name, " (", short_id(entry.id), ") left (",
                     to_string(reason), ")");
            if (auto link = links_.find(entry.id);
                verdict && detector_.enabled() && link != links_.end())
                link->second.dead_since = now.steady;
            else
                close_link(entry.id, false);
            out_.push(emit_event{peer_left{view(entry), reason}});
            break;
        }
    }
    if (from == provenance::owner)  // it spoke for itself on a connection: it is real
        if (auto link = links_.find(entry.id); link != links_.end()) link->second.reached = true;
    return result.outcome;
}

std::size_t membership::unreached_peers() const {
    return static_cast<std::size_t>(std::count_if(links_.begin(), links_.end(), [](auto const& l) {
        return !l.second.reached && !l.second.dead_since;
    }));
}

bool membership::evict_unreached(instant now) {
    auto it = std::find_if(links_.begin(), links_.end(),
                           [](auto const& l) { return !l.second.reached && !l.second.dead_since; });
    if (it == links_.end()) return false;
    auto const* entry = table_.find(it->first);
    if (!entry) return false;
    auto const gone = *entry;
    out_.log(severity::notice, "table full: dropping ", gone.name, " (", short_id(gone.id),
             "), never reached, for a peer that was");
    table_.drop(gone.id);
    close_link(gone.id, false);
    last_table_change_ = now.steady;
    out_.push(emit_event{peer_left{view(gone), leave_reason::unreachable}});
    return true;
}

void membership::open_link(peer_entry const& entry) {
    if (state_ == node_state::stopping || links_.contains(entry.id)) return;
    auto target = parse_address(entry.addr);
    if (!target) return;  // decode() validated it; an own entry can't get here
    links_.emplace(entry.id, link_state{});
    out_.push(dial_peer{entry.id, std::move(*target)});
}

void membership::close_link(std::string const& id, bool flush) {
    if (links_.erase(id) > 0) out_.push(hang_up{id, flush});
}

void membership::remember_newcomer(std::string const& id, instant now) {
    if (recent_newcomers_.size() == max_recent_newcomers) recent_newcomers_.pop_front();
    recent_newcomers_.push_back({id, now.steady});
}

void membership::introduce_to_recent_newcomers(peer_entry const& peer, instant now) {
    // Our welcome to a recent newcomer listed the table as it was then; a peer we learn of
    // now (its introduction was still on the way to us) may be unknown to it, and it to the
    // peer. Introduce the two: two small frames instead of waiting for anti-entropy, whose
    // full tables would make a wave of joins cost more than linear bytes.
    auto const window = 2 * config_.gossip_interval;
    while (!recent_newcomers_.empty() && now.steady - recent_newcomers_.front().second > window)
        recent_newcomers_.pop_front();
    bool const peer_linked = links_.contains(peer.id);
    outgoing introduce_peer;  // built once, for every newcomer that gets it
    for (auto const& [id, since] : recent_newcomers_) {
        auto const* newcomer = table_.find(id);
        if (id == peer.id || !links_.contains(id) || !newcomer) continue;
        if (!introduce_peer) introduce_peer = make_outgoing(wire::peers_msg{{peer}, false});
        out_.push(send_to_peer{id, introduce_peer});
        if (peer_linked)
            out_.push(send_to_peer{peer.id, make_outgoing(wire::peers_msg{{*newcomer}, false})});
    }
}

// ---------------------------------------------------------------- views

peer_view membership::view(peer_entry const& e) const {
    peer_status status = peer_status::self;
    if (e.id != self().id)
        status = e.state == peer_state::left ? peer_status::left
                 : detector_.suspected(e.id) ? peer_status::suspect
                 : link_connected(e.id)      ? peer_status::alive
                                             : peer_status::connecting;
    return {e.id, e.name, e.addr, e.inc, status, detector_.last_seen_ms(e.id)};
}

std::vector<peer_view> membership::peers() const {
    std::vector<peer_view> out;
    out.reserve(table_.alive_count() + 1);
    out.push_back(view(self()));
    for (auto const& e : table_.alive_peers()) out.push_back(view(e));
    return out;
}

bool membership::link_connected(std::string const& peer) const {
    auto it = links_.find(peer);
    return it != links_.end() && it->second.connected;
}

std::vector<std::string> membership::connected_peers() const {
    std::vector<std::string> out;
    for (auto const& [id, link] : links_)
        if (link.connected) out.push_back(id);
    return out;
}

}  // namespace p2pchat::engine
